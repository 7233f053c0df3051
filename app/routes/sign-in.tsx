// Sign-in: Clerk's hosted page when Clerk is configured; otherwise the local, email-only sign-in
// (development accounts, no password), which answers only in local mode, on loopback unless allowed.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, useActionData, useLoaderData, useNavigation, useSearchParams, type MetaFunction } from "@remix-run/react";
import { parseAddress } from "../../core/address.ts";
import { clerkSignInUrl, getViewer, localPerson, secureCookies, usesClerk } from "../auth.server.ts";
import { recordAudit } from "../lib/audit.server.ts";
import { clearAccountCookie, ensurePersonalAccount, localSignInAllowed, personalAccountOf, safeNext, startSession } from "../lib/identity.server.ts";

export const meta: MetaFunction = () => [{ title: "Sign in · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const url = new URL(args.request.url);
  const next = safeNext(url.searchParams.get("next"), url.origin);
  if (await getViewer(args)) throw redirect(next);
  if (usesClerk(args.context)) throw redirect(clerkSignInUrl(args.context, new URL(next, url.origin).href));
  return { allowed: localSignInAllowed(args.request.url, args.context.services.config) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const email = String(form.get("email") ?? "").trim();
  const parsed = parseAddress(email);
  if (usesClerk(context) || !localSignInAllowed(request.url, context.services.config)) {
    // A refused attempt is audited in the account of the person it names, when there is one.
    const who = parsed.ok ? await localPerson(email) : null;
    const named = who ? await personalAccountOf(context.services, who.id) : null;
    if (who && named) await recordAudit(context.services, { accountId: named, actor: who.id }, { action: "sign_in.failed", detail: { method: "local", why: "local sign-in off here" } });
    return { error: "The local sign-in is off here." };
  }
  if (!parsed.ok) return { error: `“${email}” is not an email address.` };
  const person = await localPerson(email);
  const accountId = await ensurePersonalAccount(context.services, person, { signupCredits: context.services.config.MXRAY_SIGNUP_CREDITS });
  await recordAudit(context.services, { accountId, actor: person.id }, { action: "sign_in.succeeded", detail: { method: "local", email: person.email } });
  const secure = secureCookies(request);
  const headers = new Headers();
  headers.append("set-cookie", await startSession(context.services, person, { secure }));
  headers.append("set-cookie", clearAccountCookie(secure)); // start in the personal account
  return redirect(safeNext(String(form.get("next") ?? ""), new URL(request.url).origin), { headers });
}

export default function SignIn() {
  const { allowed } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state !== "idle";
  return (
    <div className="card" style={{ maxWidth: "28rem", margin: "2rem auto" }}>
      <h1>Sign in</h1>
      {allowed ? (
        <>
          <p className="muted">Local sign-in: enter any email address to get a development account. No password, no mail sent.</p>
          {result?.error && <div className="alert error" role="alert">{result.error}</div>}
          <Form method="post">
            <input type="hidden" name="next" value={params.get("next") ?? ""} />
            <div className="field">
              <label htmlFor="email">Email</label>
              <input id="email" name="email" type="email" autoComplete="email" required autoFocus placeholder="you@example.com" />
            </div>
            <button className="btn primary" type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
          </Form>
        </>
      ) : (
        <div className="alert error" role="alert">
          The local sign-in only answers on a stack running on this machine (MXRAY_MODE=local), opened as localhost or 127.0.0.1. Configure Clerk (CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY) to let people sign in here; a private test instance in local mode reached by another name can set MXRAY_LOCAL_SIGNIN=allow.
        </div>
      )}
    </div>
  );
}
