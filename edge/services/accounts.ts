// People, accounts and roles for the web app. A person (user id from Clerk, or derived from the
// email by the local sign-in) has a personal account and may belong to teams. Whoever signs in,
// the app gets the same Viewer: the person, the account they are acting in, their role there.
import { and, asc, eq, sql } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { can, type Permission, type Role } from "../../core/roles.ts";
import { accounts, creditLedger, members } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
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
  /** The account this request acts in. */
  account: Membership & { creditBalance: number };
  /** Every account the person belongs to, personal first. */
  accounts: Membership[];
}

/** The local sign-in's user id: stable per address, so a team can add someone before they sign in. */
export async function localUserId(email: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`local-user:${email.trim().toLowerCase()}`)));
  return `usr_${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A personal account for the person, made on first sign-in with the sign-up grant. */
export async function ensurePersonalAccount(db: EdgeDb, person: Person, signupCredits: number, clerkUserId?: string): Promise<void> {
  const [existing] = await db
    .select({ id: accounts.id })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(and(eq(members.userId, person.id), eq(accounts.kind, "personal")));
  if (existing) return;
  const accountId = newId("acc");
  await db.batch([
    db.insert(accounts).values({ id: accountId, name: person.email, kind: "personal", clerkId: clerkUserId ?? null, creditBalance: signupCredits }),
    db.insert(members).values({ accountId, userId: person.id, email: person.email, role: "owner" }),
    db.insert(creditLedger).values({ accountId, delta: signupCredits, kind: "grant", idempotencyKey: `grant:signup:${person.id}` }),
  ]);
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
    .select({ id: accounts.id, name: accounts.name, kind: accounts.kind, role: members.role, creditBalance: accounts.creditBalance, clerkId: accounts.clerkId })
    .from(members)
    .innerJoin(accounts, eq(accounts.id, members.accountId))
    .where(eq(members.userId, person.id))
    .orderBy(sql`${accounts.kind} = 'team'`, asc(accounts.name));
  const rows = (clerkOrg === undefined ? all : all.filter((r) => r.kind === "personal" || (clerkOrg !== null && r.clerkId === clerkOrg))).map(({ clerkId: _, ...r }) => r);
  const current = rows.find((r) => r.id === preferred) ?? rows.find((r) => r.kind === "personal") ?? rows[0];
  if (!current) return null;
  return { user: person, account: current, accounts: rows.map(({ creditBalance: _, ...m }) => m) };
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

/** Adds (or re-roles) someone by email in the viewer's team. Only an owner makes owners. */
export async function setMember(db: EdgeDb, viewer: Viewer, email: string, role: Role): Promise<void> {
  authorize(viewer, "team:manage");
  if (viewer.account.kind !== "team") throw new ServiceError("conflict", "A personal account has one member; make a team to share work");
  if (role === "owner" && viewer.account.role !== "owner") throw new ServiceError("forbidden", "Only an owner can make another owner");
  const address = email.trim().toLowerCase();
  const userId = await localUserId(address);
  if (userId === viewer.user.id) throw new ServiceError("conflict", "You cannot change your own role");
  await db
    .insert(members)
    .values({ accountId: viewer.account.id, userId, email: address, role })
    .onConflictDoUpdate({ target: [members.accountId, members.userId], set: { role } });
}
