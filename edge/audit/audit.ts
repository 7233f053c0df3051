// The audit log (issue 13): who did what in an account, append-only. Services record an entry
// after the action they audit succeeded, with the request's IP, user agent and id from the
// Services of that request; owners and admins read it on /audit and through GET /api/v1/audit.
import { and, desc, eq, like, type SQL } from "drizzle-orm";
import { auditLog } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";

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

/** Records one entry; `request` is null where no request is behind the action (Stripe, the sweeper). */
export async function recordAudit(db: EdgeDb, request: RequestMeta | null, e: AuditEntry, now = Date.now()): Promise<void> {
  await db.$client.execute(auditStatement(e, request, now));
}

/** Clerk's longest session (its default maximum lifetime): a session id older than this is not looked for. */
export const CLERK_SESSION_MAX_MS = 7 * 24 * 60 * 60_000;
/** Clerk session ids this isolate already audited; forgotten in bulk past this many. */
const auditedSessions = new Set<string>();
const AUDITED_SESSIONS_MAX = 10_000;

/**
 * `sign_in.succeeded` for a Clerk session, once: Clerk signs people in on its own pages and sends
 * no webhook here, so the first request of a session id we have not seen is the sign-in. The
 * database is asked once per session per isolate (one conditional insert); later requests of the
 * session cost nothing.
 */
export async function auditClerkSignIn(db: EdgeDb, request: RequestMeta | null, accountId: string, person: { id: string; email: string }, sessionId: string, now = Date.now()): Promise<void> {
  if (auditedSessions.has(sessionId)) return;
  const e = auditStatement({ accountId, actor: person.id, action: "sign_in.succeeded", target: sessionId, detail: { method: "clerk", email: person.email } }, request, now);
  await db.$client.execute({
    sql: `INSERT INTO audit_log (account_id, actor, action, target, detail, ip, user_agent, request_id, created_at)
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (
            SELECT 1 FROM audit_log WHERE account_id = ? AND created_at > ? AND action = 'sign_in.succeeded' AND target = ?)`,
    args: [...e.args, accountId, now - CLERK_SESSION_MAX_MS, sessionId],
  });
  if (auditedSessions.size >= AUDITED_SESSIONS_MAX) auditedSessions.clear();
  auditedSessions.add(sessionId);
}

type AuditRow = typeof auditLog.$inferSelect;

export function auditView(r: AuditRow) {
  return {
    id: r.id,
    action: r.action as AuditAction, // written only by recordAudit
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

/** Newest first, in the API's cursor pages. */
export async function listAudit(db: EdgeDb, accountId: string, page: { limit: number; cursor?: string | undefined }, filter: AuditFilter = {}) {
  const after = decodeCursor(page.cursor, /\d+/);
  const conditions: (SQL | undefined)[] = [eq(auditLog.accountId, accountId), afterCursor(auditLog.createdAt, auditLog.id, after && { at: after.at, id: Number(after.id) })];
  if (filter.action) conditions.push(filter.action.endsWith(".") ? like(auditLog.action, `${filter.action.replace(/[%_]/g, "")}%`) : eq(auditLog.action, filter.action));
  if (filter.actor) conditions.push(eq(auditLog.actor, filter.actor));
  const rows = await db.select().from(auditLog).where(and(...conditions)).orderBy(desc(auditLog.createdAt), desc(auditLog.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, auditView);
}
