// People, accounts and roles for the web app. A person (user id from Clerk, or derived from the
// email by the local sign-in) has a personal account and may belong to teams. Whoever signs in,
// the app gets the same Viewer: the person, the account they are acting in, their role there.
import { and, asc, eq, sql } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { can, type Permission, type Role } from "../../core/roles.ts";
import { accounts, creditLedger, members } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import { auditStatement, recordAudit, type RequestMeta } from "../audit/audit.ts";
import { auditKeysRevoked, revokeKeysOfStatement } from "./keys.ts";
import type { EdgeDb } from "../db.ts";
import type { Services, Who } from "../context.ts";

export interface Person {
  id: string;
  email: string;
}

export interface Membership {
  id: string;
  name: string;
  kind: "personal" | "team";
  role: Role;
}

export interface Viewer {
  user: Person;
  /** The account this request acts in; `disabledReason` is set while an operator has it disabled. */
  account: Membership & { creditBalance: number; disabledReason: string | null };
  /** Every account the person belongs to, personal first. */
  accounts: Membership[];
}

/** The local sign-in's user id: stable per address, so a team can add someone before they sign in. */
export async function localUserId(email: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`local-user:${email.trim().toLowerCase()}`)));
  return `usr_${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A personal account for the person, made on first sign-in with the sign-up grant; answers its id. */
export async function ensurePersonalAccount(db: EdgeDb, person: Person, signupCredits: number, clerkUserId?: string): Promise<string> {
  const [existing] = await db
    .select({ id: accounts.id })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(members.userId, person.id), eq(accounts.kind, "personal")));
  if (existing) return existing.id;
  const accountId = newId("acc");
  await db.batch([
    db.insert(accounts).values({ id: accountId, name: person.email, kind: "personal", clerkId: clerkUserId ?? null, creditBalance: signupCredits }),
    db.insert(members).values({ accountId, userId: person.id, email: person.email, role: "owner" }),
    db.insert(creditLedger).values({ accountId, delta: signupCredits, kind: "grant", reason: "signup_grant", actor: person.id, idempotencyKey: `grant:signup:${person.id}` }),
  ]);
  return accountId;
}

/** The person's personal account, if they ever signed in (where their sign-ins are audited). */
export async function personalAccountOf(db: EdgeDb, userId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: accounts.id })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(members.userId, userId), eq(accounts.kind, "personal")));
  return row?.id ?? null;
}

/** The audit log's actor for what Clerk told us (its webhooks, or its session token). */
export const CLERK_ACTOR = "clerk";

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
export async function syncClerkOrganization(db: EdgeDb, person: Person, org: { id: string; name: string; role: Role }, issuedAt = Date.now(), now = Date.now()): Promise<void> {
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
  if (known && known.role !== org.role && synced!.rowsAffected > 0) {
    await recordAudit(db, null, { accountId, actor: CLERK_ACTOR, action: "member.role_changed", target: person.id, detail: { email: person.email, role: org.role, from: known.role, keysRevoked } }, now);
  }
  await auditKeysRevoked(db, null, { accountId, actor: CLERK_ACTOR, keyIds: keysRevoked, reason: "role_changed", maker: person.id }, now);
}

/** Where a Clerk webhook came from: the request in Clerk that made the change, and the event id. */
export interface ClerkEventMeta {
  clientIp: string | null;
  userAgent: string | null;
  /** svix-id: the same for each retry of one event. */
  eventId: string;
}

const clerkRequest = (m: ClerkEventMeta): RequestMeta => ({ ip: m.clientIp, userAgent: m.userAgent, requestId: m.eventId });

/** What a Clerk event changed here: "applied", or "unchanged" (a retry, or someone we never saw). */
export type ClerkOutcome = "applied" | "unchanged";

/**
 * `organizationMembership.deleted`: the person left or was removed from the organization. Their
 * membership of its team account ends and the API keys they made there are revoked, in one write.
 * A retry finds nothing left to change and records nothing.
 */
export async function endClerkMembership(db: EdgeDb, orgId: string, userId: string, meta: ClerkEventMeta, now = Date.now()): Promise<ClerkOutcome> {
  const [account] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, orgId));
  if (!account) return "unchanged";
  return (await removeMemberships(db, [account.id], userId, "member_removed", clerkRequest(meta), now)) ? "applied" : "unchanged";
}

/**
 * `organizationMembership.updated`: the role Clerk gives the person now. Only a membership we
 * know changes (a person appears here when they first act in the organization); a role that may
 * not make API keys revokes those they made there.
 */
export async function changeClerkRole(db: EdgeDb, orgId: string, userId: string, role: Role, meta: ClerkEventMeta, now = Date.now()): Promise<ClerkOutcome> {
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
  const request = clerkRequest(meta);
  if (changed!.rowsAffected > 0) {
    await recordAudit(db, request, { accountId: before.accountId, actor: CLERK_ACTOR, action: "member.role_changed", target: userId, detail: { email: before.email, role, from: before.role, keysRevoked } }, now);
  }
  await auditKeysRevoked(db, request, { accountId: before.accountId, actor: CLERK_ACTOR, keyIds: keysRevoked, reason: "role_changed", maker: userId }, now);
  return "applied";
}

/**
 * `organization.deleted`: the team is gone. Every membership of its account ends and every key of
 * the account is revoked (those with no recorded maker too: nobody is left to hold them).
 */
export async function endClerkOrganization(db: EdgeDb, orgId: string, meta: ClerkEventMeta, now = Date.now()): Promise<ClerkOutcome> {
  const [account] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, orgId));
  if (!account) return "unchanged";
  const request = clerkRequest(meta);
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
export async function endClerkUser(db: EdgeDb, userId: string, meta: ClerkEventMeta, now = Date.now()): Promise<ClerkOutcome> {
  const rows = await db.select({ accountId: members.accountId }).from(members).where(eq(members.userId, userId));
  return (await removeMemberships(db, rows.map((r) => r.accountId), userId, "user_deleted", clerkRequest(meta), now)) ? "applied" : "unchanged";
}

/** Ends the person's membership of each account and revokes the keys they made there; audits what changed. */
async function removeMemberships(db: EdgeDb, accountIds: string[], userId: string, reason: "member_removed" | "user_deleted", request: RequestMeta, now: number): Promise<boolean> {
  let changed = false;
  for (const accountId of accountIds) {
    const [removed, revoked] = await db.$client.batch(
      [{ sql: "DELETE FROM members WHERE account_id = ? AND user_id = ? RETURNING email", args: [accountId, userId] }, revokeKeysOfStatement(accountId, userId, now)],
      "write",
    );
    const keysRevoked = revoked!.rows.map((r) => String(r.id));
    if (removed!.rows.length > 0) {
      await recordAudit(db, request, { accountId, actor: CLERK_ACTOR, action: "member.removed", target: userId, detail: { email: removed!.rows[0]!.email, keysRevoked, ...(reason === "user_deleted" ? { reason } : {}) } }, now);
    }
    await auditKeysRevoked(db, request, { accountId, actor: CLERK_ACTOR, keyIds: keysRevoked, reason, maker: userId }, now);
    changed ||= removed!.rows.length > 0 || keysRevoked.length > 0;
  }
  return changed;
}

/**
 * The person as a Viewer, acting in `preferred` if they belong to it, else in their personal
 * account. `clerkOrg` (Clerk sign-in) limits the teams to the organization Clerk's session says is
 * active, so leaving an organization in Clerk ends access here at once.
 */
export async function viewerFor(db: EdgeDb, person: Person, preferred: string | null, clerkOrg?: string | null): Promise<Viewer | null> {
  const all = await db
    .select({
      id: accounts.id, name: accounts.name, kind: accounts.kind, role: members.role, creditBalance: accounts.creditBalance, clerkId: accounts.clerkId,
      disabledReason: sql<string | null>`CASE WHEN ${accounts.disabledAt} IS NULL THEN NULL ELSE coalesce(${accounts.disabledReason}, '') END`,
    })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(eq(members.userId, person.id))
    .orderBy(sql`${accounts.kind} = 'team'`, asc(accounts.name));
  const rows = (clerkOrg === undefined ? all : all.filter((r) => r.kind === "personal" || (clerkOrg !== null && r.clerkId === clerkOrg))).map(({ clerkId: _, ...r }) => r);
  const current = rows.find((r) => r.id === preferred) ?? rows.find((r) => r.kind === "personal") ?? rows[0];
  if (!current) return null;
  return { user: person, account: current, accounts: rows.map(({ creditBalance: _, disabledReason: __, ...m }) => m) };
}

/** Throws `forbidden` unless the viewer's role allows it. */
export function authorize(viewer: Viewer, permission: Permission): void {
  if (!can(viewer.account.role, permission)) {
    throw new ServiceError("forbidden", `Your role (${viewer.account.role}) cannot do this in ${viewer.account.name}; ask an owner or admin`);
  }
}

/** What GET /api/v1/account shows of `who`'s account; null once it no longer exists. */
export async function accountOf(s: Pick<Services, "db">, who: Who) {
  const [row] = await s.db
    .select({ id: accounts.id, name: accounts.name, kind: accounts.kind, creditBalance: accounts.creditBalance })
    .from(accounts)
    .where(eq(accounts.id, who.accountId));
  return row ?? null;
}

/** A new team (local sign-in; with Clerk, teams are Clerk organizations). Its maker owns it. */
export async function createTeam(db: EdgeDb, person: Person, name: string): Promise<string> {
  const accountId = newId("acc");
  await db.batch([
    db.insert(accounts).values({ id: accountId, name, kind: "team" }),
    db.insert(members).values({ accountId, userId: person.id, email: person.email, role: "owner" }),
  ]);
  return accountId;
}

export async function listMembers(db: EdgeDb, accountId: string) {
  return db
    .select({ userId: members.userId, email: members.email, role: members.role, createdAt: members.createdAt })
    .from(members)
    .where(eq(members.accountId, accountId))
    .orderBy(asc(members.createdAt));
}

/**
 * Who manages whom in a team: owners manage everyone; admins add, re-role and remove members and
 * admins, never an owner, and never make one; members manage no one. Nobody re-roles themselves,
 * and a team always keeps an owner. Each change is one conditional statement that checks the
 * actor's role as stored at that moment, so no read-then-write race lets a demoted admin act or
 * two removals leave a team ownerless. (?1 the team, ?2 the actor, ?3 the target.)
 */
const ACTOR_IS = (roles: string) => `EXISTS (SELECT 1 FROM members actor WHERE actor.account_id = ?1 AND actor.user_id = ?2 AND ${roles})`;

/**
 * Adds (or re-roles) someone by email in the viewer's team. A role that may not make API keys
 * revokes the keys the person made in the team, in the same write.
 */
export async function setMember(db: EdgeDb, viewer: Viewer, email: string, role: Role, request: RequestMeta | null = null, now = Date.now()): Promise<{ keysRevoked: string[] }> {
  teamManager(viewer);
  if (role === "owner" && viewer.account.role !== "owner") throw new ServiceError("forbidden", "Only an owner can make another owner");
  const address = email.trim().toLowerCase();
  const userId = await localUserId(address);
  if (userId === viewer.user.id) throw new ServiceError("conflict", "You cannot change your own role");
  const [before] = await db.select({ role: members.role }).from(members).where(and(eq(members.accountId, viewer.account.id), eq(members.userId, userId)));
  // A new row needs an owner, or an admin making a non-owner; an existing owner's row changes only
  // by an owner's hand (two owners then exist, the actor and the target, so one always stays).
  const [done, revoked] = await db.$client.batch(
    [
      {
        sql: `INSERT INTO members (account_id, user_id, email, role)
              SELECT ?1, ?3, ?4, ?5
              WHERE ${ACTOR_IS("(actor.role = 'owner' OR (actor.role = 'admin' AND ?5 <> 'owner'))")}
              ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role
              WHERE ${ACTOR_IS("(actor.role = 'owner' OR (actor.role = 'admin' AND members.role <> 'owner' AND excluded.role <> 'owner'))")}`,
        args: [viewer.account.id, viewer.user.id, userId, address, role],
      },
      // Only after the change above was made: a refused change revokes nothing.
      revokeKeysOfStatement(viewer.account.id, userId, now, { afterChange: true }),
    ],
    "write",
  );
  if (done!.rowsAffected === 0) await whyRefused(db, viewer, userId);
  const keysRevoked = revoked!.rows.map((r) => String(r.id));
  if (before?.role !== role) {
    await recordAudit(db, request, {
      accountId: viewer.account.id, actor: viewer.user.id, action: before ? "member.role_changed" : "member.added", target: userId,
      detail: { email: address, role, ...(before ? { from: before.role, keysRevoked } : {}) },
    }, now);
  }
  await auditKeysRevoked(db, request, { accountId: viewer.account.id, actor: viewer.user.id, keyIds: keysRevoked, reason: "role_changed", maker: userId }, now);
  return { keysRevoked };
}

/**
 * Removes someone from the viewer's team (themselves too: leaving). The API keys they made in
 * the team are revoked in the same write: a key is how a person keeps acting once removed.
 * Answers the ids of the keys revoked.
 */
export async function removeMember(db: EdgeDb, viewer: Viewer, userId: string, now = Date.now(), request: RequestMeta | null = null): Promise<{ keysRevoked: string[] }> {
  teamManager(viewer);
  const [removed, revoked] = await db.$client.batch(
    [
      {
        sql: `DELETE FROM members WHERE account_id = ?1 AND user_id = ?3
              AND ${ACTOR_IS("(actor.role = 'owner' OR (actor.role = 'admin' AND members.role <> 'owner'))")}
              AND (members.role <> 'owner' OR (SELECT count(*) FROM members o WHERE o.account_id = ?1 AND o.role = 'owner') > 1)
              RETURNING email`,
        args: [viewer.account.id, viewer.user.id, userId],
      },
      revokeKeysOfStatement(viewer.account.id, userId, now, { afterChange: true }),
    ],
    "write",
  );
  if (removed!.rows.length === 0) await whyRefused(db, viewer, userId);
  const keysRevoked = revoked!.rows.map((r) => String(r.id));
  await recordAudit(db, request, { accountId: viewer.account.id, actor: viewer.user.id, action: "member.removed", target: userId, detail: { email: removed!.rows[0]!.email, keysRevoked } }, now);
  await auditKeysRevoked(db, request, { accountId: viewer.account.id, actor: viewer.user.id, keyIds: keysRevoked, reason: "member_removed", maker: userId }, now);
  return { keysRevoked };
}

function teamManager(viewer: Viewer): void {
  authorize(viewer, "team:manage");
  if (viewer.account.kind !== "team") throw new ServiceError("conflict", "A personal account has one member; make a team to share work");
}

/** After a refused change (the decision was the statement's): the error that says why. */
async function whyRefused(db: EdgeDb, viewer: Viewer, targetId: string): Promise<never> {
  const rows = await db.select({ userId: members.userId, role: members.role }).from(members).where(eq(members.accountId, viewer.account.id));
  const actor = rows.find((r) => r.userId === viewer.user.id);
  const target = rows.find((r) => r.userId === targetId);
  if (!actor || actor.role === "member") throw new ServiceError("forbidden", `Your role in ${viewer.account.name} no longer allows this`);
  if (!target) throw new ServiceError("not_found", "No such member in this team");
  if (target.role === "owner" && actor.role !== "owner") throw new ServiceError("forbidden", "Only an owner can change or remove an owner");
  if (target.role === "owner") throw new ServiceError("last_owner", `${viewer.account.name} needs an owner; make someone else owner first`);
  throw new ServiceError("conflict", "The team changed meanwhile; try again");
}
