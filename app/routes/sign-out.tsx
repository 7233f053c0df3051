// Sign-out: revokes the local session's row (so a copy of the cookie is dead too), or the Clerk
// session (revoked with Clerk's Backend API).
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { createClerkClient } from "@clerk/remix/api.server";
import { getAuth } from "@clerk/remix/ssr.server";
import { secureCookies, usesClerk } from "../auth.server.ts";
import { clearAccountCookie, clearSessionCookie, endSession } from "../lib/identity.server.ts";

export async function loader() {
  return redirect("/");
}

export async function action(args: ActionFunctionArgs) {
  const { request, context } = args;
  const secure = secureCookies(request);
  const headers = new Headers();
  headers.append("set-cookie", clearSessionCookie(secure));
  headers.append("set-cookie", clearAccountCookie(secure));
  if (usesClerk(context)) {
    const auth = await getAuth(args);
    if (auth.sessionId) {
      await createClerkClient({ secretKey: context.services.config.CLERK_SECRET_KEY! }).sessions.revokeSession(auth.sessionId);
    }
  } else {
    await endSession(context.services, request.headers.get("cookie"));
  }
  return redirect("/", { headers });
}
