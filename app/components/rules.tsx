// The account's rules in words (issue 25, core/rules.ts), shared by the rules page and the job
// page's results table.
import type { Refusal, Rules } from "../../core/rules.ts";

/** Why a result is not safe to send, as a person reads it. */
export const REFUSAL_LABEL: Record<Refusal, string> = {
  verdict: "undeliverable or unknown",
  risky: "risky",
  catch_all: "accept-all domain",
  disposable: "disposable address",
  role: "role address",
  free: "free provider",
  min_score: "score below the minimum",
};

/** Each rule's name and its choices. */
export const RULE_LABEL: { [K in keyof Rules]: { name: string; choices: Record<Exclude<Rules[K], number>, string> | null } } = {
  risky: { name: "Risky addresses", choices: { refuse: "Never send", allow: "Send (the rules below still apply)" } },
  catch_all: { name: "Accept-all (catch-all) domains", choices: { risky: "Treat as risky", refuse: "Never send" } },
  disposable: { name: "Disposable addresses", choices: { risky: "Treat as risky", refuse: "Never send" } },
  role: { name: "Role addresses (info@, sales@…)", choices: { allow: "Send", refuse: "Never send" } },
  free: { name: "Free providers (gmail.com…)", choices: { allow: "Send", refuse: "Never send (B2B lists)" } },
  min_score: { name: "Minimum score", choices: null },
};

/** One rule change in words: "Free providers (gmail.com…): Never send (B2B lists)", "Minimum score: 70". */
export function changeLabel(rule: keyof Rules, to: string | number): string {
  const label = RULE_LABEL[rule];
  return `${label.name}: ${label.choices ? (label.choices as Record<string, string>)[String(to)] : to}`;
}

/** A result's safe_to_send, with what refused it (plain text: the table's badges are its verdicts). */
export function SafeToSend({ refusal }: { refusal: Refusal | null }) {
  return refusal === null ? <span data-safe="true">yes</span> : <span className="muted" data-safe="false">no: {REFUSAL_LABEL[refusal]}</span>;
}
