// The audit log (issue 13): who did what in an account, append-only. Services record an entry
// after the action they audit succeeded, as `(services, who, entry)`: the account and actor from
// `who`, the request's IP, user agent and id from `services.request`; owners and admins read it
// on /audit and through GET /api/v1/audit. The Services type is not imported here (context.ts
// imports this module), so the functions name the part of it they use. Entries are only ever
// inserted, but for one change: an erasure (issue 25) replaces the erased address, where an
// entry names it, with its tombstone (redactAddressStatements).
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { auditLog } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import type { Who } from "../who.ts";

export const AUDIT_ACTIONS = [
  "sign_in.succeeded",
  "sign_in.failed",
  "api_key.created",
  "api_key.revoked",
  "member.added",
  "member.role_changed",
  "member.removed",
  "job.created",
  "job.canceled",
  "job.deleted",
  "billing.checkout_started",
  "billing.auto_topup_changed",
  "billing.credits_granted",
  "billing.credits_taken_back",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.secret_rotated",
  "admin.credits_adjusted",
  "admin.account_disabled",
  "admin.account_enabled",
  "suppression.added",
  "suppression.removed",
  "suppression.imported",
  "relay.created",
  "relay.updated",
  "relay.deleted",
  "relay.tested",
  "sender.created",
  "sender.confirmed",
  "sender.deleted",
  "template.created",
  "template.updated",
  "template.deleted",
  "campaign.created",
  "campaign.started",
  "campaign.paused",
  "campaign.resumed",
  "campaign.canceled",
  "bounce_mailbox.created",
  "bounce_mailbox.updated",
  "bounce_mailbox.deleted",
  "bounce_mailbox.tested",
  "bounce.refunded",
  "bounce_settings.updated",
  "rules.updated",
  "retention.updated",
  "address.erased",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  accountId: string;
  /** A user id, an API key id, "stripe" or "system". */
  actor: string;
  action: AuditAction;
  target?: string | null;
  detail?: Record<string, unknown>;
}

/** Where a request came from, as Services carry it (null for the sweeper and webhooks). */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** The entry as one statement, for a caller that appends it to its own batch. */
export function auditStatement(e: AuditEntry, request: RequestMeta | null, now: number) {
  return {
    sql: "INSERT INTO audit_log (account_id, actor, action, target, detail, ip, user_agent, request_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    args: [e.accountId, e.actor, e.action, e.target ?? null, e.detail ? JSON.stringify(e.detail) : null, request?.ip ?? null, request?.userAgent?.slice(0, 512) ?? null, request?.requestId ?? null, now],
  };
}

/**
 * The entry as one statement written only if `when` (SQL of the caller's batch, no args, e.g.
 * "changes() = 1") holds as it runs: an entry for something the statement before did, if it did.
 */
export function auditStatementWhen(e: AuditEntry, request: RequestMeta | null, now: number, when: string) {
  const entry = auditStatement(e, request, now);
  return {
    sql: `INSERT INTO audit_log (account_id, actor, action, target, detail, ip, user_agent, request_id, created_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${when}`,
    args: entry.args,
  };
}

/**
 * What the audit log needs of the Services: `request` is null where no request is behind the
 * action (Stripe, the sweeper, a change Clerk made).
 */
export interface AuditServices {
  db: EdgeDb;
  request: RequestMeta | null;
}

/** What was done, to what: the entry but its account and actor, which are `who`'s. */
export type AuditEvent = Omit<AuditEntry, "accountId" | "actor">;

/** Records one entry of what `who` did. */
export async function recordAudit(s: AuditServices, who: Who, e: AuditEvent, now = Date.now()): Promise<void> {
  await s.db.$client.execute(auditStatement({ accountId: who.accountId, actor: who.actor, ...e }, s.request, now));
}

/**
 * Records the entry unless the account already holds one of the same action and target made
 * after `since`: one conditional insert, for an event noticed on many requests (a Clerk sign-in).
 */
export async function recordAuditOnce(s: AuditServices, who: Who, e: AuditEvent & { target: string }, since: number, now = Date.now()): Promise<void> {
  const entry = auditStatement({ accountId: who.accountId, actor: who.actor, ...e }, s.request, now);
  await s.db.$client.execute({
    sql: `INSERT INTO audit_log (account_id, actor, action, target, detail, ip, user_agent, request_id, created_at)
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (
            SELECT 1 FROM audit_log WHERE account_id = ? AND created_at > ? AND action = ? AND target = ?)`,
    args: [...entry.args, who.accountId, since, e.action, e.target],
  });
}

/**
 * Erasure (issue 25): the entries that name an address of the account's lists (a suppression's
 * target, a refund's bounced address) name its tombstone instead. Members' own addresses (sign-ins,
 * team changes) are not a list's and stay.
 */
export function redactAddressStatements(accountId: string, address: string, tombstone: string) {
  return [
    {
      sql: "UPDATE audit_log SET target = ?3 WHERE account_id = ?1 AND target = ?2 AND action IN ('suppression.added', 'suppression.removed')",
      args: [accountId, address, tombstone],
    },
    {
      sql: "UPDATE audit_log SET detail = json_set(detail, '$.email', ?3) WHERE account_id = ?1 AND action = 'bounce.refunded' AND detail ->> '$.email' = ?2",
      args: [accountId, address, tombstone],
    },
  ];
}

type AuditRow = typeof auditLog.$inferSelect;

export function auditView(r: AuditRow) {
  return {
    id: r.id,
    action: r.action as AuditAction, // written only from AUDIT_ACTIONS
    actor: r.actor,
    target: r.target,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    ip: r.ip,
    user_agent: r.userAgent,
    request_id: r.requestId,
    created_at: new Date(r.createdAt).toISOString(),
  };
}
export type AuditView = ReturnType<typeof auditView>;

export interface AuditFilter {
  /** An action, or a prefix ending in "." ("job." for every job action). */
  action?: string | undefined;
  actor?: string | undefined;
}

/** A page of the log: its size, where the last one ended, and the filter. */
export interface AuditQuery extends AuditFilter {
  limit: number;
  cursor?: string | undefined;
}

/** The log of `who`'s account, newest first, in the API's cursor pages. */
export async function listAudit(s: Pick<AuditServices, "db">, who: Who, q: AuditQuery) {
  const after = decodeCursor(q.cursor, /\d+/);
  const conditions: (SQL | undefined)[] = [eq(auditLog.accountId, who.accountId), afterCursor(auditLog.createdAt, auditLog.id, after && { at: after.at, id: Number(after.id) })];
  // A prefix is compared as text, not with LIKE, where `_` (sign_in., bounce_mailbox.) is a wildcard.
  if (q.action) conditions.push(q.action.endsWith(".") ? sql`substr(${auditLog.action}, 1, ${q.action.length}) = ${q.action}` : eq(auditLog.action, q.action));
  if (q.actor) conditions.push(eq(auditLog.actor, q.actor));
  const rows = await s.db.select().from(auditLog).where(and(...conditions)).orderBy(desc(auditLog.createdAt), desc(auditLog.id)).limit(q.limit + 1);
  return toPage(rows, q.limit, auditView);
}
