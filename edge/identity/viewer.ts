// Who is signed in to the web app, as one Viewer whichever way they signed in: the local
// sign-in's session cookie, or Clerk's session token once @clerk/remix verified it (the app's
// adapter, app/auth.server.ts, reads the request; this decides who it is). Either way the person,
// the account they act in (the account cookie, if signed for them and they belong to it), what
// signed them in (live tokens are bound to it) and whether they are a platform operator. These
// establish who someone is, so they take `(services, credentials)`.
import { roleFromClerk } from "../../core/roles.ts";
import type { Services } from "../context.ts";
import { ensurePersonalAccount, viewerFor, type Person, type Viewer } from "./accounts.ts";
import { auditClerkSignIn, syncClerkOrganization } from "./clerk.ts";
import type { LiveTokenHolder } from "./livetoken.ts";
import { clerkOperator, isOperator } from "./operators.ts";
import { preferredAccount, readSession } from "./session.ts";

/** The Viewer, and what signed them in. */
export interface SignedInViewer extends Viewer {
  holder: LiveTokenHolder;
  /** A platform operator (/admin): MXRAY_ADMIN_EMAILS, or Clerk's public metadata. */
  operator: boolean;
}

/** What Clerk's verified session token says (the fields of @clerk/remix's `getAuth` we use). */
export interface ClerkSession {
  userId: string;
  sessionId: string | null;
  orgId: string | null;
  orgSlug: string | null;
  orgRole: string | null;
  claims: Record<string, unknown>;
}

type ViewerServices = Pick<Services, "db" | "config" | "request">;

/** The person the local sign-in's session cookie names, if it is genuine and live. */
export async function viewerOfSession(s: ViewerServices, cookieHeader: string | null): Promise<SignedInViewer | null> {
  const session = await readSession(s, cookieHeader);
  if (!session) return null;
  return signedIn(s, session.person, cookieHeader, { holder: { session: session.sessionId }, byClerk: false });
}

/**
 * The person of a Clerk session, their accounts made or synced on the way: a personal account
 * with the sign-up grant, the sign-in audited once, and the organization the session has active
 * (the only team they may act in) with the role Clerk gives them there.
 */
export async function viewerOfClerkSession(s: ViewerServices, clerk: ClerkSession, cookieHeader: string | null): Promise<SignedInViewer | null> {
  const { claims } = clerk;
  // Clerk's default session token has no email; a custom claim `email` adds it.
  const person = { id: clerk.userId, email: typeof claims.email === "string" ? claims.email : clerk.userId };
  const personal = await ensurePersonalAccount(s, person, { signupCredits: s.config.MXRAY_SIGNUP_CREDITS, clerkUserId: clerk.userId });
  if (clerk.sessionId) await auditClerkSignIn(s, { accountId: personal, actor: person.id }, { email: person.email, sessionId: clerk.sessionId });
  if (clerk.orgId) {
    // When Clerk issued the token: older than a change Clerk's webhook told us of, it cannot undo it.
    const issuedAt = typeof claims.iat === "number" ? claims.iat * 1000 : undefined;
    const org = { id: clerk.orgId, name: clerk.orgSlug ?? clerk.orgId, role: roleFromClerk(clerk.orgRole) };
    await syncClerkOrganization(s, person, { org, issuedAt });
  }
  return signedIn(s, person, cookieHeader, { clerkOrg: clerk.orgId, holder: { user: clerk.userId }, byClerk: clerkOperator(claims) });
}

async function signedIn(
  s: ViewerServices,
  person: Person,
  cookieHeader: string | null,
  how: { holder: LiveTokenHolder; byClerk: boolean; clerkOrg?: string | null },
): Promise<SignedInViewer | null> {
  const preferred = await preferredAccount(s, person.id, cookieHeader);
  const viewer = await viewerFor(s, person, { preferred, clerkOrg: how.clerkOrg });
  return viewer && { ...viewer, holder: how.holder, operator: isOperator(s.config, person.email, how.byClerk) };
}
