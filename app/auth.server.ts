// Who is asking: the HTTP side of identity (edge/identity/viewer.ts decides who it is). With
// Clerk keys configured, @clerk/remix verifies Clerk's session (networkless with CLERK_JWT_KEY)
// and its organizations become team accounts; otherwise the local sign-in's signed cookie names
// the person. Either way a loader gets the same Viewer, which is also the `who` services take.
import { getAuth } from "@clerk/remix/ssr.server";
import { redirect, type AppLoadContext } from "@remix-run/server-runtime";
import { clerkConfigured } from "../edge/config.ts";
import { viewerOfClerkSession, viewerOfSession, type SignedInViewer } from "../edge/identity/viewer.ts";

export { localPerson } from "../edge/identity/accounts.ts";

export interface AuthArgs {
  request: Request;
  context: AppLoadContext;
  params?: Record<string, string | undefined>;
}

export const usesClerk = (context: AppLoadContext) => clerkConfigured(context.services.config);

/** The Viewer, what signed them in (live tokens are bound to it), and whether they are an operator. */
export type AppViewer = SignedInViewer;

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

async function resolveViewer({ request, context, params = {} }: AuthArgs): Promise<AppViewer | null> {
  const cookies = request.headers.get("cookie");
  if (!usesClerk(context)) return viewerOfSession(context.services, cookies);
  // Throws a redirect when Clerk needs a handshake (an expired token being refreshed).
  const auth = await getAuth({ request, context, params } as Parameters<typeof getAuth>[0]);
  if (!auth.userId) return null;
  const clerk = {
    userId: auth.userId,
    sessionId: auth.sessionId ?? null,
    orgId: auth.orgId ?? null,
    orgSlug: auth.orgSlug ?? null,
    orgRole: auth.orgRole ?? null,
    claims: (auth.sessionClaims ?? {}) as Record<string, unknown>,
  };
  return viewerOfClerkSession(context.services, clerk, cookies);
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
