// People, accounts and roles for the web app. A person (user id from Clerk, or derived from the
// email by the local sign-in) has a personal account and may belong to teams. Whoever signs in,
// the app gets the same Viewer: the person, the account they are acting in, their role there.
import { and, asc, eq, sql } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { can, type Permission, type Role } from "../../core/roles.ts";
import { accounts, creditLedger, members } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit, type RequestMeta } from "./audit.ts";
import type { EdgeDb } from "../db.ts";

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

/** A Clerk organization's account, and the person's role in it as Clerk's session says now. */
export async function syncClerkOrganization(db: EdgeDb, person: Person, org: { id: string; name: string; role: Role }): Promise<void> {
  // Most requests find the membership as the token says it is, and write nothing.
  const [known] = await db
    .select({ role: members.role, email: members.email })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(accounts.clerkId, org.id), eq(members.userId, person.id)));
  if (known && known.role === org.role && known.email === person.email) return;
  await db.insert(accounts).values({ id: newId("acc"), name: org.name, kind: "team", clerkId: org.id }).onConflictDoNothing();
  const [account] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, org.id));
  await db
    .insert(members)
    .values({ accountId: account!.id, userId: person.id, email: person.email, role: org.role })
    .onConflictDoUpdate({ target: [members.accountId, members.userId], set: { role: org.role, email: person.email } });
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

/** Adds (or re-roles) someone by email in the viewer's team. */
export async function setMember(db: EdgeDb, viewer: Viewer, email: string, role: Role, request: RequestMeta | null = null): Promise<void> {
  teamManager(viewer);
  if (role === "owner" && viewer.account.role !== "owner") throw new ServiceError("forbidden", "Only an owner can make another owner");
  const address = email.trim().toLowerCase();
  const userId = await localUserId(address);
  if (userId === viewer.user.id) throw new ServiceError("conflict", "You cannot change your own role");
  const [before] = await db.select({ role: members.role }).from(members).where(and(eq(members.accountId, viewer.account.id), eq(members.userId, userId)));
  // A new row needs an owner, or an admin making a non-owner; an existing owner's row changes only
  // by an owner's hand (two owners then exist, the actor and the target, so one always stays).
  const done = await db.$client.execute({
    sql: `INSERT INTO members (account_id, user_id, email, role)
          SELECT ?1, ?3, ?4, ?5
          WHERE ${ACTOR_IS("(actor.role = 'owner' OR (actor.role = 'admin' AND ?5 <> 'owner'))")}
          ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role
          WHERE ${ACTOR_IS("(actor.role = 'owner' OR (actor.role = 'admin' AND members.role <> 'owner' AND excluded.role <> 'owner'))")}`,
    args: [viewer.account.id, viewer.user.id, userId, address, role],
  });
  if (done.rowsAffected === 0) await whyRefused(db, viewer, userId);
  if (before?.role === role) return;
  await recordAudit(db, request, {
    accountId: viewer.account.id, actor: viewer.user.id, action: before ? "member.role_changed" : "member.added", target: userId,
    detail: { email: address, role, ...(before ? { from: before.role } : {}) },
  });
}

/**
 * Removes someone from the viewer's team (themselves too: leaving). The API keys they made in
 * the team are revoked in the same write: a key is how a person keeps acting once removed.
 * Returns how many keys were revoked.
 */
export async function removeMember(db: EdgeDb, viewer: Viewer, userId: string, now = Date.now(), request: RequestMeta | null = null): Promise<{ keysRevoked: number }> {
  teamManager(viewer);
  const [removed, keys] = await db.$client.batch(
    [
      {
        sql: `DELETE FROM members WHERE account_id = ?1 AND user_id = ?3
              AND ${ACTOR_IS("(actor.role = 'owner' OR (actor.role = 'admin' AND members.role <> 'owner'))")}
              AND (members.role <> 'owner' OR (SELECT count(*) FROM members o WHERE o.account_id = ?1 AND o.role = 'owner') > 1)`,
        args: [viewer.account.id, viewer.user.id, userId],
      },
      {
        sql: "UPDATE api_keys SET revoked_at = ? WHERE changes() = 1 AND account_id = ? AND created_by = ? AND revoked_at IS NULL",
        args: [now, viewer.account.id, userId],
      },
    ],
    "write",
  );
  if (removed!.rowsAffected === 0) await whyRefused(db, viewer, userId);
  await recordAudit(db, request, { accountId: viewer.account.id, actor: viewer.user.id, action: "member.removed", target: userId, detail: { keysRevoked: keys!.rowsAffected } }, now);
  return { keysRevoked: keys!.rowsAffected };
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
