// Who is asking. With Clerk keys configured, @clerk/remix verifies Clerk's session (networkless
// with CLERK_JWT_KEY) and its organizations become team accounts; otherwise the local sign-in's
// signed cookie names the person. Either way a loader gets the same Viewer.
import { getAuth } from "@clerk/remix/ssr.server";
import { redirect, type AppLoadContext } from "@remix-run/server-runtime";
import { roleFromClerk } from "../core/roles.ts";
import { clerkConfigured } from "../edge/config.ts";
import { clerkOperator, isOperator } from "../edge/identity/operators.ts";
import { auditClerkSignIn } from "../edge/audit/audit.ts";
import { ensurePersonalAccount, localUserId, syncClerkOrganization, viewerFor, type Person, type Viewer } from "../edge/identity/accounts.ts";
import type { LiveTokenHolder } from "../edge/identity/livetoken.ts";
import { preferredAccount, readSession } from "../edge/identity/session.ts";

export interface AuthArgs {
  request: Request;
  context: AppLoadContext;
  params?: Record<string, string | undefined>;
}

export const usesClerk = (context: AppLoadContext) => clerkConfigured(context.services.config);

/** The Viewer, and what signed them in (live tokens are bound to it). */
export interface AppViewer extends Viewer {
  holder: LiveTokenHolder;
  /** A platform operator (/admin): MXRAY_ADMIN_EMAILS, or Clerk's public metadata. */
  operator: boolean;
}

interface SignedIn {
  person: Person;
  clerkOrg?: string | null;
  holder: LiveTokenHolder;
  clerkOperator?: boolean;
}

/**
 * The signed-in person (their accounts made or synced on the way), or null; with Clerk, also the
 * organization its session has active (null for none), the only team they may act in.
 */
async function signedInPerson({ request, context, params = {} }: AuthArgs): Promise<SignedIn | null> {
  const { db, config } = context.services;
  if (usesClerk(context)) {
    // Throws a redirect when Clerk needs a handshake (an expired token being refreshed).
    const auth = await getAuth({ request, context, params } as Parameters<typeof getAuth>[0]);
    if (!auth.userId) return null;
    const claims = (auth.sessionClaims ?? {}) as Record<string, unknown>;
    // Clerk's default session token has no email; a custom claim `email` adds it.
    const person = { id: auth.userId, email: typeof claims.email === "string" ? claims.email : auth.userId };
    const personal = await ensurePersonalAccount(db, person, config.MXRAY_SIGNUP_CREDITS, auth.userId);
    if (auth.sessionId) await auditClerkSignIn(db, context.services.request, personal, person, auth.sessionId);
    if (auth.orgId) {
      // When Clerk issued the token: older than a change Clerk's webhook told us of, it cannot undo it.
      const issuedAt = typeof claims.iat === "number" ? claims.iat * 1000 : undefined;
      await syncClerkOrganization(db, person, { id: auth.orgId, name: auth.orgSlug ?? auth.orgId, role: roleFromClerk(auth.orgRole) }, issuedAt);
    }
    return { person, clerkOrg: auth.orgId ?? null, holder: { user: auth.userId }, clerkOperator: clerkOperator(claims) };
  }
  const session = await readSession(db, config, request.headers.get("cookie"));
  return session ? { person: session.person, holder: { session: session.sessionId } } : null;
}

/** One per request: the root's loader and the page's run side by side on the same load context. */
const viewers = new WeakMap<AppLoadContext, Promise<AppViewer | null>>();

export function getViewer(args: AuthArgs): Promise<AppViewer | null> {
  let viewer = viewers.get(args.context);
  if (!viewer) {
    viewer = resolveViewer(args);
    viewers.set(args.context, viewer);
  }
  return viewer;
}

async function resolveViewer(args: AuthArgs): Promise<AppViewer | null> {
  const who = await signedInPerson(args);
  if (!who) return null;
  const { db, config } = args.context.services;
  const preferred = await preferredAccount(config, who.person.id, args.request.headers.get("cookie"));
  const viewer = await viewerFor(db, who.person, preferred, who.clerkOrg);
  return viewer && { ...viewer, holder: who.holder, operator: isOperator(config, who.person.email, who.clerkOperator) };
}

/**
 * The Viewer, or a redirect to the sign-in page that comes back here afterwards; also while an
 * operator has their account disabled (for switching away from it, and for /admin).
 */
export async function requireSignedIn(args: AuthArgs): Promise<AppViewer> {
  const viewer = await getViewer(args);
  if (viewer) return viewer;
  const url = new URL(args.request.url);
  throw redirect(`/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`);
}

/** Where a member of a disabled account is sent instead of the app: it says why. */
export const ACCOUNT_DISABLED_PATH = "/account-disabled";

/** The Viewer acting in an enabled account: a disabled one's members can read and start nothing. */
export async function requireViewer(args: AuthArgs): Promise<AppViewer> {
  const viewer = await requireSignedIn(args);
  if (viewer.account.disabledReason !== null) throw redirect(ACCOUNT_DISABLED_PATH);
  return viewer;
}

export async function localPerson(email: string): Promise<Person> {
  const address = email.trim().toLowerCase();
  return { id: await localUserId(address), email: address };
}

/** Clerk's hosted sign-in (Account Portal) of the instance the publishable key names. */
export function clerkSignInUrl(context: AppLoadContext, returnTo: string): string {
  const { config } = context.services;
  let base = config.CLERK_SIGN_IN_URL;
  if (!base) {
    // pk_(test|live)_ + base64("<frontend api>$"): clerk.example.com → accounts.example.com,
    // x.clerk.accounts.dev → x.accounts.dev.
    const frontendApi = atob(config.CLERK_PUBLISHABLE_KEY!.split("_")[2] ?? "").replace(/\$$/, "");
    base = `https://${frontendApi.startsWith("clerk.") ? `accounts.${frontendApi.slice(6)}` : frontendApi.replace(".clerk.accounts.", ".accounts.")}/sign-in`;
  }
  return `${base}?redirect_url=${encodeURIComponent(returnTo)}`;
}

/** Cookies are Secure when the site is served over HTTPS. */
export const secureCookies = (request: Request) => new URL(request.url).protocol === "https:";
