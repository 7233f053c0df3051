// The credit ledger in words, for the billing page and its CSV export.
import type { LedgerReason } from "../../core/enums.ts";

export const LEDGER_REASON_LABEL: Record<LedgerReason, string> = {
  signup_grant: "Sign-up credits",
  purchase: "Purchase",
  plan_grant: "Plan credits",
  job_reserve: "List reserved",
  refund_unknowns: "Unknowns refunded",
  single_check: "Single check",
  single_find: "Single find",
  refund: "Payment refunded",
  dispute: "Payment disputed",
  auto_topup: "Auto top-up",
  admin_adjustment: "Adjustment",
  bounce_refund: "Refund: a deliverable address bounced",
};

export const reasonLabel = (reason: string) => LEDGER_REASON_LABEL[reason as LedgerReason] ?? reason;

/** Who moved credits: a member's email for their user id, else what the id is. */
export function actorLabel(actor: string, emails: ReadonlyMap<string, string>): string {
  if (actor === "stripe") return "Stripe";
  if (actor === "system") return "mxray";
  if (actor.startsWith("key_")) return `API key ${actor}`;
  return emails.get(actor) ?? actor;
}

/** A signed credit amount ("+10,000", "-42"). */
export const signed = (delta: number) => `${delta > 0 ? "+" : ""}${delta.toLocaleString("en")}`;
