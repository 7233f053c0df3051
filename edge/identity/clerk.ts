// What Clerk tells us of people and teams, when Clerk is the sign-in: its session token (the
// person, the organization active in it and their role there; a sign-in to audit once) and its
// webhooks (edge/api/clerk_webhook.ts) for what ends someone's access: a membership removed or
// re-roled, an organization or a user deleted. Each revokes the API keys the person can no longer
// hold and says so in the audit log as Clerk (CLERK_ACTOR). An event names its own accounts (the
// organization's, or every one of a user's), so the webhooks' functions take `(services, event)`
// with `services.request` the request in Clerk that made the change; the session's functions
// establish who someone is, and take the person; the sign-in's audit acts for them.
import { and, eq } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import type { Role } from "../../core/roles.ts";
import { accounts, members } from "../../db/schema.ts";
import { auditStatement, recordAudit, recordAuditOnce, type AuditServices } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import type { Person } from "./accounts.ts";
import { auditKeysRevoked, revokeKeysOfStatement } from "./keys.ts";

/** The audit log's actor for what Clerk told us (its webhooks, or its session token). */
export const CLERK_ACTOR = "clerk";
/** Clerk as the one acting in an account. */
const clerkWho = (accountId: string): Who => ({ accountId, actor: CLERK_ACTOR });

/**
 * A change to the membership Clerk told us of at or after `sinceMs` (?1 the account, ?2 the
 * person, ?5 the time): a session token issued before it is older news, and cannot undo it.
 */
const CLERK_CHANGED_SINCE = `EXISTS (SELECT 1 FROM audit_log WHERE account_id = ?1 AND created_at >= ?5 AND actor = '${CLERK_ACTOR}' AND target = ?2 AND action IN ('member.removed', 'member.role_changed'))`;

/**
 * A Clerk organization's account, and the person's role in it as Clerk's session says now. A role
 * that may not make API keys revokes the keys the person made there. `issuedAt` (ms) is when
 * Clerk issued the session token: a token older than a removal or role change Clerk's webhook
 * told us of (up to its lifetime, a minute) neither brings the person back nor restores the role.
 */
export async function syncClerkOrganization(s: Pick<Services, "db">, person: Person, { org, issuedAt = Date.now() }: { org: { id: string; name: string; role: Role }; issuedAt?: number }, now = Date.now()): Promise<void> {
  const { db } = s;
  // Most requests find the membership as the token says it is, and write nothing.
  const [known] = await db
    .select({ role: members.role, email: members.email })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(accounts.clerkId, org.id), eq(members.userId, person.id)));
  if (known && known.role === org.role && known.email === person.email) return;
  await db.insert(accounts).values({ id: newId("acc"), name: org.name, kind: "team", clerkId: org.id }).onConflictDoNothing();
  const [account] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, org.id));
  const accountId = account!.id;
  const [synced, revoked] = await db.$client.batch(
    [
      {
        sql: `INSERT INTO members (account_id, user_id, email, role) SELECT ?1, ?2, ?3, ?4 WHERE NOT ${CLERK_CHANGED_SINCE}
              ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role, email = excluded.email WHERE NOT ${CLERK_CHANGED_SINCE}`,
        args: [accountId, person.id, person.email, org.role, issuedAt],
      },
      revokeKeysOfStatement(accountId, person.id, now),
    ],
    "write",
  );
  const keysRevoked = revoked!.rows.map((r) => String(r.id));
  // Clerk made the change, not the request that brought its token: no request in the entries.
  const audit = { db, request: null };
  const clerk = clerkWho(accountId);
  if (known && known.role !== org.role && synced!.rowsAffected > 0) {
    await recordAudit(audit, clerk, { action: "member.role_changed", target: person.id, detail: { email: person.email, role: org.role, from: known.role, keysRevoked } }, now);
  }
  await auditKeysRevoked(audit, clerk, { keyIds: keysRevoked, reason: "role_changed", maker: person.id }, now);
}

/** What a Clerk event changed here: "applied", or "unchanged" (a retry, or someone we never saw). */
export type ClerkOutcome = "applied" | "unchanged";

/**
 * `organizationMembership.deleted`: the person left or was removed from the organization. Their
 * membership of its team account ends and the API keys they made there are revoked, in one write.
 * A retry finds nothing left to change and records nothing.
 */
export async function endClerkMembership(s: AuditServices, { orgId, userId }: { orgId: string; userId: string }, now = Date.now()): Promise<ClerkOutcome> {
  const [account] = await s.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, orgId));
  if (!account) return "unchanged";
  return (await removeMemberships(s, [account.id], userId, "member_removed", now)) ? "applied" : "unchanged";
}

/**
 * `organizationMembership.updated`: the role Clerk gives the person now. Only a membership we
 * know changes (a person appears here when they first act in the organization); a role that may
 * not make API keys revokes those they made there.
 */
export async function changeClerkRole(s: AuditServices, { orgId, userId, role }: { orgId: string; userId: string; role: Role }, now = Date.now()): Promise<ClerkOutcome> {
  const { db } = s;
  const [before] = await db
    .select({ accountId: members.accountId, role: members.role, email: members.email })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(accounts.clerkId, orgId), eq(members.userId, userId)));
  if (!before) return "unchanged";
  const [changed, revoked] = await db.$client.batch(
    [
      { sql: "UPDATE members SET role = ? WHERE account_id = ? AND user_id = ? AND role <> ?", args: [role, before.accountId, userId, role] },
      revokeKeysOfStatement(before.accountId, userId, now),
    ],
    "write",
  );
  const keysRevoked = revoked!.rows.map((r) => String(r.id));
  if (changed!.rowsAffected === 0 && keysRevoked.length === 0) return "unchanged";
  const clerk = clerkWho(before.accountId);
  if (changed!.rowsAffected > 0) {
    await recordAudit(s, clerk, { action: "member.role_changed", target: userId, detail: { email: before.email, role, from: before.role, keysRevoked } }, now);
  }
  await auditKeysRevoked(s, clerk, { keyIds: keysRevoked, reason: "role_changed", maker: userId }, now);
  return "applied";
}

/**
 * `organization.deleted`: the team is gone. Every membership of its account ends and every key of
 * the account is revoked (those with no recorded maker too: nobody is left to hold them).
 */
export async function endClerkOrganization(s: AuditServices, orgId: string, now = Date.now()): Promise<ClerkOutcome> {
  const { db, request } = s;
  const [account] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, orgId));
  if (!account) return "unchanged";
  const [removed, revoked] = await db.$client.batch(
    [
      { sql: "DELETE FROM members WHERE account_id = ? RETURNING user_id, email", args: [account.id] },
      { sql: "UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL RETURNING id, created_by", args: [now, account.id] },
    ],
    "write",
  );
  if (removed!.rows.length === 0 && revoked!.rows.length === 0) return "unchanged";
  await db.$client.batch(
    [
      ...removed!.rows.map((r) => auditStatement({ accountId: account.id, actor: CLERK_ACTOR, action: "member.removed", target: String(r.user_id), detail: { email: r.email, reason: "organization_deleted" } }, request, now)),
      ...revoked!.rows.map((r) => auditStatement({ accountId: account.id, actor: CLERK_ACTOR, action: "api_key.revoked", target: String(r.id), detail: { reason: "organization_deleted", maker: r.created_by } }, request, now)),
    ],
    "write",
  );
  return "applied";
}

/**
 * `user.deleted`: the person is gone from Clerk. Every membership they had here ends, their
 * personal account's included, and with it every key they made.
 */
export async function endClerkUser(s: AuditServices, userId: string, now = Date.now()): Promise<ClerkOutcome> {
  const rows = await s.db.select({ accountId: members.accountId }).from(members).where(eq(members.userId, userId));
  return (await removeMemberships(s, rows.map((r) => r.accountId), userId, "user_deleted", now)) ? "applied" : "unchanged";
}

/** Ends the person's membership of each account and revokes the keys they made there; audits what changed. */
async function removeMemberships(s: AuditServices, accountIds: string[], userId: string, reason: "member_removed" | "user_deleted", now: number): Promise<boolean> {
  const { db } = s;
  let changed = false;
  for (const accountId of accountIds) {
    const [removed, revoked] = await db.$client.batch(
      [{ sql: "DELETE FROM members WHERE account_id = ? AND user_id = ? RETURNING email", args: [accountId, userId] }, revokeKeysOfStatement(accountId, userId, now)],
      "write",
    );
    const keysRevoked = revoked!.rows.map((r) => String(r.id));
    if (removed!.rows.length > 0) {
      await recordAudit(s, clerkWho(accountId), { action: "member.removed", target: userId, detail: { email: removed!.rows[0]!.email, keysRevoked, ...(reason === "user_deleted" ? { reason } : {}) } }, now);
    }
    await auditKeysRevoked(s, clerkWho(accountId), { keyIds: keysRevoked, reason, maker: userId }, now);
    changed ||= removed!.rows.length > 0 || keysRevoked.length > 0;
  }
  return changed;
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
export async function auditClerkSignIn(s: AuditServices, who: Who, { email, sessionId }: { email: string; sessionId: string }, now = Date.now()): Promise<void> {
  if (auditedSessions.has(sessionId)) return;
  await recordAuditOnce(s, who, { action: "sign_in.succeeded", target: sessionId, detail: { method: "clerk", email } }, now - CLERK_SESSION_MAX_MS, now);
  if (auditedSessions.size >= AUDITED_SESSIONS_MAX) auditedSessions.clear();
  auditedSessions.add(sessionId);
}
