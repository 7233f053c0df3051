// The customer's own rules (issue 25): one pure function from a result and the account's rules to
// `safe_to_send`, the one yes/no every export, webhook and campaign uses. The verdict stays ours
// (core/verdict.ts); the rules only say which verdicts and flags this account sends to.
// `unknown` and `undeliverable` are never safe: we could not tell, or it will bounce.
// edge/rules/sql.ts writes the same rules as a SQL predicate over job_emails; a test holds the
// two to the same answer. docs/verdicts.md describes them.
import { z } from "zod";
import type { Result } from "./contracts.ts";

/** Each rule's choices, the default first. */
export const RULE_CHOICES = {
  risky: ["refuse", "allow"],
  catch_all: ["risky", "refuse"],
  disposable: ["risky", "refuse"],
  role: ["allow", "refuse"],
  free: ["allow", "refuse"],
} as const;

export const RulesSchema = z.strictObject({
  risky: z.enum(RULE_CHOICES.risky).default("refuse").meta({
    description: "`risky` verdicts (accept-all domains, disposable domains, full mailboxes): `refuse`, or `allow` subject to the rules below",
  }),
  catch_all: z.enum(RULE_CHOICES.catch_all).default("risky").meta({
    description: "Addresses on accept-all (catch-all) domains: `risky` (sent to when `risky` is allowed), or `refuse`",
  }),
  disposable: z.enum(RULE_CHOICES.disposable).default("risky").meta({
    description: "Addresses of disposable-mail services: `risky` (sent to when `risky` is allowed), or `refuse`",
  }),
  role: z.enum(RULE_CHOICES.role).default("allow").meta({ description: "Role addresses (info@, sales@…): `allow`, or `refuse`" }),
  free: z.enum(RULE_CHOICES.free).default("allow").meta({ description: "Addresses at free webmail providers (gmail.com…): `allow`, or `refuse` (B2B lists)" }),
  min_score: z.number().int().min(0).max(100).default(0).meta({ description: "The lowest `score` (0–100) that is safe to send to; 0 lets every score through" }),
});
export type Rules = z.infer<typeof RulesSchema>;

/** No rules set: today's rule, deliverable only (risky too where a campaign asks for it with include_risky). */
export const DEFAULT_RULES: Rules = Object.freeze(RulesSchema.parse({}));

export const RULE_NAMES = Object.keys(RulesSchema.shape) as (keyof Rules)[];

/**
 * The parts of a result the rules read. A flag missing from a stored record counts as not set,
 * a missing score as 0 (edge/rules/sql.ts reads absent JSON fields the same way).
 */
export type Ruled = Pick<Result, "verdict"> & Partial<Pick<Result, "catch_all" | "disposable" | "role" | "free" | "score">>;

/** Why a result is not safe to send: its verdict, or the first rule that refuses it. */
export type Refusal = "verdict" | keyof Rules;

/** null when safe to send; otherwise what refused it, checked in a fixed order. */
export function refusalOf(r: Ruled, rules: Rules): Refusal | null {
  if (r.verdict === "undeliverable" || r.verdict === "unknown") return "verdict";
  if (r.verdict === "risky" && rules.risky === "refuse") return "risky";
  if (rules.catch_all === "refuse" && r.catch_all === true) return "catch_all";
  if (rules.disposable === "refuse" && r.disposable === true) return "disposable";
  if (rules.role === "refuse" && r.role === true) return "role";
  if (rules.free === "refuse" && r.free === true) return "free";
  if ((r.score ?? 0) < rules.min_score) return "min_score";
  return null;
}

export const safeToSend = (r: Ruled, rules: Rules): boolean => refusalOf(r, rules) === null;

/**
 * The rules a campaign's audience is chosen by: the account's, where `include_risky` (the
 * campaign's own field) also lets through risky rows that the rules refuse for being risky. Every
 * other rule still holds (a B2B account's campaign with include_risky still skips free addresses).
 */
export const campaignRules = (rules: Rules, includeRisky: boolean): Rules => (includeRisky ? { ...rules, risky: "allow" } : rules);

/** Rules as stored (accounts.rules, a campaign's snapshot): null or absent means the defaults. */
export function parseRules(json: string | null | undefined): Rules {
  return json ? RulesSchema.parse(JSON.parse(json)) : DEFAULT_RULES;
}

/** A result as the API answers it: the record, with the account's rules applied at read time. */
export type RatedResult = Result & { safe_to_send: boolean };

export const rated = <T extends Ruled>(r: T, rules: Rules): T & { safe_to_send: boolean } => ({ ...r, safe_to_send: safeToSend(r, rules) });
