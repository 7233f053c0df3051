// The audit log in words, for /audit and its CSV export.
import type { AuditAction, AuditFilter, AuditView } from "./audit.server.ts";

/**
 * Every action in words, what a person reads first (issue 26); the code stays for developers (a
 * tooltip and a column on /audit, the `action` column of the CSV). A Record: an action added to
 * edge/audit/audit.ts without words here does not compile.
 */
export const AUDIT_ACTION_WORDS: Record<AuditAction, string> = {
  "sign_in.succeeded": "Signed in",
  "sign_in.failed": "Sign-in failed",
  "api_key.created": "API key created",
  "api_key.revoked": "API key revoked",
  "member.added": "Member added",
  "member.role_changed": "Member's role changed",
  "member.removed": "Member removed",
  "job.created": "List uploaded",
  "job.canceled": "List canceled",
  "job.deleted": "List deleted",
  "billing.checkout_started": "Checkout started",
  "billing.auto_topup_changed": "Auto top-up changed",
  "billing.credits_granted": "Credits added",
  "billing.credits_taken_back": "Credits taken back",
  "webhook.created": "Webhook created",
  "webhook.updated": "Webhook changed",
  "webhook.deleted": "Webhook deleted",
  "webhook.secret_rotated": "Webhook secret rotated",
  "admin.credits_adjusted": "Credits adjusted by an operator",
  "admin.account_disabled": "Account disabled by an operator",
  "admin.account_enabled": "Account enabled by an operator",
  "suppression.added": "Address suppressed",
  "suppression.removed": "Suppression removed",
  "suppression.imported": "Suppressions imported",
  "relay.created": "Relay added",
  "relay.updated": "Relay changed",
  "relay.deleted": "Relay deleted",
  "relay.tested": "Relay tested",
  "sender.created": "Sender added",
  "sender.confirmed": "Sender confirmed",
  "sender.deleted": "Sender deleted",
  "template.created": "Template created",
  "template.updated": "Template changed",
  "template.deleted": "Template deleted",
  "campaign.created": "Campaign created",
  "campaign.started": "Campaign started",
  "campaign.paused": "Campaign paused",
  "campaign.resumed": "Campaign resumed",
  "campaign.canceled": "Campaign canceled",
  "bounce_mailbox.created": "Bounce mailbox added",
  "bounce_mailbox.updated": "Bounce mailbox changed",
  "bounce_mailbox.deleted": "Bounce mailbox deleted",
  "bounce_mailbox.tested": "Bounce mailbox tested",
  "bounce.refunded": "Credit refunded for a bounce",
  "bounce_settings.updated": "Bounce settings changed",
  "rules.updated": "Sending rules changed",
  "retention.updated": "Retention changed",
  "address.erased": "Address erased",
};

/** An action in words; an action recorded by a newer version than this page's stays its code. */
export const actionWords = (action: string): string => AUDIT_ACTION_WORDS[action as AuditAction] ?? action;

/** The filter's choices: every action of one object. */
export const AUDIT_GROUPS = [
  { prefix: "sign_in.", label: "Sign-ins" },
  { prefix: "api_key.", label: "API keys" },
  { prefix: "member.", label: "Members" },
  { prefix: "job.", label: "Lists" },
  { prefix: "billing.", label: "Billing" },
  { prefix: "webhook.", label: "Webhooks" },
  { prefix: "relay.", label: "Relays" },
  { prefix: "sender.", label: "Senders" },
  { prefix: "template.", label: "Templates" },
  { prefix: "bounce_mailbox.", label: "Bounce mailboxes" },
  { prefix: "bounce.", label: "Bounce refunds" },
  { prefix: "bounce_settings.", label: "Bounce settings" },
  { prefix: "rules.", label: "Sending rules" },
  { prefix: "retention.", label: "Retention" },
  { prefix: "address.", label: "Erasures" },
  { prefix: "admin.", label: "Operators" },
] as const;

/** The filter from a page's query: only the choices offered (anything else shows everything). */
export function auditFilter(params: URLSearchParams): AuditFilter {
  const action = params.get("action") ?? "";
  const actor = params.get("actor") ?? "";
  return {
    ...(AUDIT_GROUPS.some((g) => g.prefix === action) ? { action } : {}),
    ...(/^[\w.-]{1,100}$/.test(actor) ? { actor } : {}),
  };
}

/** A short line of the entry's detail that a person reads ("name: leads.csv, 1,200 addresses"). */
export function describe(e: Pick<AuditView, "action" | "detail">): string {
  const d = e.detail ?? {};
  const s = (k: string) => (typeof d[k] === "string" || typeof d[k] === "number" || typeof d[k] === "boolean" ? String(d[k]) : null);
  switch (e.action) {
    case "job.created":
      return [s("name"), d.unique !== undefined ? `${Number(d.unique).toLocaleString("en")} addresses` : null].filter(Boolean).join(", ");
    case "member.added":
    case "member.role_changed":
    case "member.removed":
      return [s("email"), d.from ? `${s("from")} → ${s("role")}` : s("role"), s("reason"), keysRevoked(d.keysRevoked)].filter(Boolean).join(", ");
    case "api_key.revoked":
      return d.reason ? `${REVOKED_BECAUSE[String(d.reason)] ?? s("reason")}${d.maker ? ` (${s("maker")})` : ""}` : "";
    case "api_key.created":
      if (d.kind === "publishable") return [s("name"), `publishable for ${Array.isArray(d.origins) ? d.origins.join(" ") : ""}`].filter(Boolean).join(", ");
      return [s("name"), s("mode")].filter(Boolean).join(", ");
    case "billing.credits_granted":
    case "billing.credits_taken_back":
      return `${Number(d.credits ?? 0).toLocaleString("en")} credits (${s("reason") ?? ""})`;
    case "admin.credits_adjusted":
      return `${Number(d.delta ?? 0) > 0 ? "+" : ""}${Number(d.delta ?? 0).toLocaleString("en")} credits by ${s("operator") ?? "an operator"}: ${s("reason") ?? ""}`;
    case "admin.account_disabled":
      return `by ${s("operator") ?? "an operator"}: ${s("reason") ?? ""}`;
    case "admin.account_enabled":
      return `by ${s("operator") ?? "an operator"}`;
    case "billing.checkout_started":
      return s("product") ?? "";
    case "webhook.created":
    case "webhook.deleted":
      return s("url") ?? "";
    case "sign_in.failed":
      return s("why") ?? "";
    case "relay.created":
    case "relay.deleted":
      return [s("name"), s("host")].filter(Boolean).join(", ");
    case "relay.tested":
      return d.ok ? "authenticated" : `failed at ${s("stage") ?? "?"}`;
    case "sender.created":
    case "sender.confirmed":
    case "sender.deleted":
      return s("from_email") ?? "";
    case "template.created":
    case "template.deleted":
      return s("name") ?? "";
    case "bounce_mailbox.created":
    case "bounce_mailbox.deleted":
      return [s("name"), d.username !== undefined && d.host !== undefined ? `${s("username")} on ${s("host")}` : null].filter(Boolean).join(", ");
    case "bounce_mailbox.updated":
      return mailboxChanges(d);
    case "bounce_mailbox.tested":
      return d.ok ? "signed in and opened the folder" : `failed at ${s("stage") ?? "?"}`;
    case "bounce.refunded":
      return `1 credit back: ${s("email") ?? "an address"} bounced${d.status ? ` (${s("status")})` : ""} after a deliverable verdict`;
    case "bounce_settings.updated":
      return softSettingsChange(d.before, d.after);
    case "rules.updated":
      return rulesChange(d.before, d.after);
    case "retention.updated":
      return `results kept ${days(d.after)} (was ${days(d.before)})`;
    case "address.erased":
      return erasedCounts(d.removed, d.suppressed);
    default:
      return "";
  }
}

/** Why a key was revoked without anyone pressing "Revoke" (edge/identity/keys.ts KeyRevocationReason). */
const REVOKED_BECAUSE: Record<string, string> = {
  member_removed: "its maker left the team",
  role_changed: "its maker's role may not make keys",
  maker_not_member: "its maker is no longer an owner or admin",
  organization_deleted: "the organization was deleted",
  user_deleted: "its maker's user was deleted",
};

function keysRevoked(v: unknown): string | null {
  const n = Array.isArray(v) ? v.length : typeof v === "number" ? v : 0;
  return n > 0 ? `${n} API key${n === 1 ? "" : "s"} revoked` : null;
}

/** What a change to a bounce mailbox touched ("host, password; read again from the start"); never a password's value (the edge records only "set"). */
function mailboxChanges(d: Record<string, unknown>): string {
  const fields = Object.keys(d).filter((k) => k !== "cursor_reset");
  return `${fields.length ? fields.join(", ") : "nothing"}${d.cursor_reset ? "; read again from the start" : ""}`;
}

/** "suppress at 2.5 (was 3), start over after 14 days (was 30)": only what changed. */
function softSettingsChange(before: unknown, after: unknown): string {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const parts = [
    a.soft_threshold !== b.soft_threshold ? `suppress at ${String(a.soft_threshold)} (was ${String(b.soft_threshold)})` : null,
    a.soft_reset_days !== b.soft_reset_days ? `start over after ${String(a.soft_reset_days)} days (was ${String(b.soft_reset_days)})` : null,
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "unchanged";
}

/** "free: refuse (was allow), min_score: 50 (was 0)": only the rules that changed. */
function rulesChange(before: unknown, after: unknown): string {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const parts = Object.keys(a)
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${String(a[k])} (was ${String(b[k])})`);
  return parts.length ? parts.join(", ") : "unchanged";
}

/** A retention setting in words: "30 days", or "until deleted" (null). */
const days = (v: unknown) => (typeof v === "number" ? `${v} days` : "until deleted");

/** What an erasure removed ("3 results, 1 bounce; still suppressed, as its hash"): only the places it found the address. */
function erasedCounts(removed: unknown, suppressed: unknown): string {
  const found = Object.entries((removed ?? {}) as Record<string, unknown>)
    .filter(([, n]) => typeof n === "number" && n > 0)
    .map(([place, n]) => `${String(n)} ${place.replace(/_/g, " ")}`);
  return `${found.length ? found.join(", ") : "nothing left to remove"}${suppressed ? "; still suppressed, as its hash" : ""}`;
}
