// People, accounts and roles. A person (user id from Clerk, or derived from the email by the
// local sign-in) has a personal account and may belong to teams. Whoever signs in, the app gets
// the same Viewer: the person, the account they are acting in, their role there. A Viewer is a
// Who, so the app hands it to any service as `who`; managing a team takes the Viewer itself, for
// the role and account kind its page showed. Making a person's account and reading who they are
// establish who someone is, and take `(services, person, input)`.
import type { InValue } from "@libsql/client/web";
import { and, asc, eq, sql } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { can, type Permission, type Role } from "../../core/roles.ts";
import { accounts, members } from "../../db/schema.ts";
import { moveStatements } from "../credits/ledger.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit, type AuditServices } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import type { EdgeDb } from "../db.ts";
import { auditKeysRevoked, DEV_ACCOUNT_ID, revokeKeysOfStatement } from "./keys.ts";

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

/** The person acting in an account; as a Who, `accountId` is `account.id` and `actor` is `user.id`. */
export interface Viewer extends Who {
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

/** The local sign-in's person for an email address (any case and spacing). */
export async function localPerson(email: string): Promise<Person> {
  const address = email.trim().toLowerCase();
  return { id: await localUserId(address), email: address };
}

/** A personal account for the person, made on first sign-in with the sign-up grant; answers its id. */
export async function ensurePersonalAccount(s: Pick<Services, "db">, person: Person, { signupCredits, clerkUserId }: { signupCredits: number; clerkUserId?: string }): Promise<string> {
  const { db } = s;
  const [existing] = await db
    .select({ id: accounts.id })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(members.userId, person.id), eq(accounts.kind, "personal")));
  if (existing) return existing.id;
  const accountId = newId("acc");
  // One write: the account, its owner, and the grant (a second grant for the person fails it all).
  await db.$client.batch(
    [
      statementOf(db.insert(accounts).values({ id: accountId, name: person.email, kind: "personal", clerkId: clerkUserId ?? null })),
      statementOf(db.insert(members).values({ accountId, userId: person.id, email: person.email, role: "owner" })),
      ...moveStatements({ accountId, delta: signupCredits, kind: "grant", reason: "signup_grant", actor: person.id, key: `grant:signup:${person.id}` }, Date.now(), { repeat: "fail" }),
    ],
    "write",
  );
  return accountId;
}

/** A drizzle query as a raw statement, to share a `batch` with the ledger's movements. */
const statementOf = (query: { toSQL(): { sql: string; params: unknown[] } }) => {
  const { sql, params } = query.toSQL();
  return { sql, args: params as InValue[] };
};

/** The dev API key's account (DEV_ACCOUNT_ID) starts with ample credits. */
export const DEV_CREDITS = 10_000_000;

/** Databases (by URL) in which this isolate already made the dev account: no write per request. */
const devAccountReady = new Set<string>();

/** Makes the dev key's account, with its one grant ever (by idempotency key), once per isolate; answers its id. */
export async function ensureDevAccount(db: EdgeDb, databaseUrl: string): Promise<string> {
  if (devAccountReady.has(databaseUrl)) return DEV_ACCOUNT_ID;
  await db.$client.batch(
    [
      { sql: "INSERT INTO accounts (id, name, kind) VALUES (?, 'Local development', 'personal') ON CONFLICT DO NOTHING", args: [DEV_ACCOUNT_ID] },
      ...moveStatements({ accountId: DEV_ACCOUNT_ID, delta: DEV_CREDITS, kind: "grant", reason: "admin_adjustment", actor: "system", key: "grant:local-dev" }, Date.now()),
    ],
    "write",
  );
  devAccountReady.add(databaseUrl);
  return DEV_ACCOUNT_ID;
}

/** The person's personal account, if they ever signed in (where their sign-ins are audited). */
export async function personalAccountOf(s: Pick<Services, "db">, userId: string): Promise<string | null> {
  const [row] = await s.db
    .select({ id: accounts.id })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(members.userId, userId), eq(accounts.kind, "personal")));
  return row?.id ?? null;
}

/**
 * The person as a Viewer, acting in `preferred` if they belong to it, else in their personal
 * account. `clerkOrg` (Clerk sign-in) limits the teams to the organization Clerk's session says is
 * active, so leaving an organization in Clerk ends access here at once.
 */
export async function viewerFor(s: Pick<Services, "db">, person: Person, { preferred, clerkOrg }: { preferred: string | null; clerkOrg?: string | null }): Promise<Viewer | null> {
  const all = await s.db
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
  return { accountId: current.id, actor: person.id, user: person, account: current, accounts: rows.map(({ creditBalance: _, disabledReason: __, ...m }) => m) };
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
    .select({ id: accounts.id, name: accounts.name, kind: accounts.kind, creditBalance: accounts.creditBalance, retentionDays: accounts.retentionDays, rules: accounts.rules })
    .from(accounts)
    .where(eq(accounts.id, who.accountId));
  return row ?? null;
}

/** A new team (local sign-in; with Clerk, teams are Clerk organizations). The viewer owns it. */
export async function createTeam(s: Pick<Services, "db">, viewer: Viewer, { name }: { name: string }): Promise<string> {
  const { db } = s;
  const accountId = newId("acc");
  await db.batch([
    db.insert(accounts).values({ id: accountId, name, kind: "team" }),
    db.insert(members).values({ accountId, userId: viewer.user.id, email: viewer.user.email, role: "owner" }),
  ]);
  return accountId;
}

/** The members of `who`'s account, oldest first. */
export async function listMembers(s: Pick<Services, "db">, who: Who) {
  return s.db
    .select({ userId: members.userId, email: members.email, role: members.role, createdAt: members.createdAt })
    .from(members)
    .where(eq(members.accountId, who.accountId))
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
export async function setMember(s: AuditServices, viewer: Viewer, { email, role }: { email: string; role: Role }, now = Date.now()): Promise<{ keysRevoked: string[] }> {
  const { db } = s;
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
    await recordAudit(s, viewer, {
      action: before ? "member.role_changed" : "member.added", target: userId,
      detail: { email: address, role, ...(before ? { from: before.role, keysRevoked } : {}) },
    }, now);
  }
  await auditKeysRevoked(s, viewer, { keyIds: keysRevoked, reason: "role_changed", maker: userId }, now);
  return { keysRevoked };
}

/**
 * Removes someone from the viewer's team (themselves too: leaving). The API keys they made in
 * the team are revoked in the same write: a key is how a person keeps acting once removed.
 * Answers the ids of the keys revoked.
 */
export async function removeMember(s: AuditServices, viewer: Viewer, userId: string, now = Date.now()): Promise<{ keysRevoked: string[] }> {
  const { db } = s;
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
  await recordAudit(s, viewer, { action: "member.removed", target: userId, detail: { email: removed!.rows[0]!.email, keysRevoked } }, now);
  await auditKeysRevoked(s, viewer, { keyIds: keysRevoked, reason: "member_removed", maker: userId }, now);
  return { keysRevoked };
}

function teamManager(viewer: Viewer): void {
  authorize(viewer, "team:manage");
  if (viewer.account.kind !== "team") throw new ServiceError("conflict", "A personal account has one member; make a team to share work");
}

/** After a refused change (the decision was the statement's): the error that says why. */
async function whyRefused(db: Services["db"], viewer: Viewer, targetId: string): Promise<never> {
  const rows = await db.select({ userId: members.userId, role: members.role }).from(members).where(eq(members.accountId, viewer.account.id));
  const actor = rows.find((r) => r.userId === viewer.user.id);
  const target = rows.find((r) => r.userId === targetId);
  if (!actor || actor.role === "member") throw new ServiceError("forbidden", `Your role in ${viewer.account.name} no longer allows this`);
  if (!target) throw new ServiceError("not_found", "No such member in this team");
  if (target.role === "owner" && actor.role !== "owner") throw new ServiceError("forbidden", "Only an owner can change or remove an owner");
  if (target.role === "owner") throw new ServiceError("last_owner", `${viewer.account.name} needs an owner; make someone else owner first`);
  throw new ServiceError("conflict", "The team changed meanwhile; try again");
}
