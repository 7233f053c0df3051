// Accounts and teams: switch the account you act in, see its members and roles, make a team, add
// people to it, change their roles and remove them (a removal, or a role that may not make keys,
// revokes the API keys the person made in the team). With Clerk, teams are Clerk organizations
// and are managed there; Clerk's webhook (POST /webhooks/clerk) does the same revoking.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { parseAddress } from "../../core/address.ts";
import { can, ROLES, type Role } from "../../core/roles.ts";
import { ACCOUNT_DISABLED_PATH, requireSignedIn, requireViewer, secureCookies, usesClerk } from "../auth.server.ts";
import { Badge, TableScroll } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";
import { accountCookie, createTeam, listMembers, removeMember, safeNext, setMember } from "../lib/identity.server.ts";

export const meta: MetaFunction = () => [{ title: "Team · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  return {
    account: viewer.account,
    me: viewer.user.email,
    members: await listMembers(args.context.services, viewer),
    myRole: viewer.account.role,
    canManage: can(viewer.account.role, "team:manage") && viewer.account.kind === "team" && !usesClerk(args.context),
    clerk: usesClerk(args.context),
  };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireSignedIn(args);
  const { request, context } = args;
  const form = await request.formData();
  const intent = form.get("intent");
  // A member of a disabled account may still switch to another of their accounts.
  if (intent !== "switch" && viewer.account.disabledReason !== null) return redirect(ACCOUNT_DISABLED_PATH);
  const secure = secureCookies(request);
  if (intent === "switch") {
    const target = String(form.get("accountId") ?? "");
    // Only an account the person belongs to; anything else keeps the current one.
    const chosen = viewer.accounts.some((a) => a.id === target) ? target : viewer.account.id;
    // Back to the page the switch was made on (its path only: a Referer of "//host" is no path).
    const back = request.headers.get("referer");
    const origin = new URL(request.url).origin;
    const path = back && URL.canParse(back) && new URL(back).origin === origin ? safeNext(new URL(back).pathname, origin) : "/dashboard";
    // A job page belongs to the account it was opened in; after a switch, go to the dashboard.
    const cookie = await accountCookie(context.services, { accountId: chosen, actor: viewer.user.id }, { secure });
    return redirect(path.startsWith("/jobs/") ? "/dashboard" : path, { headers: { "set-cookie": cookie } });
  }
  try {
    if (intent === "create-team") {
      if (usesClerk(context)) return { error: { code: "conflict", message: "Teams are Clerk organizations here; create one in Clerk." } };
      const name = String(form.get("name") ?? "").trim().slice(0, 100);
      if (!name) return { error: { code: "validation_failed", message: "Give the team a name." } };
      const id = await createTeam(context.services, viewer, { name });
      return redirect("/team", { headers: { "set-cookie": await accountCookie(context.services, { accountId: id, actor: viewer.user.id }, { secure }) } });
    }
    if ((intent === "add-member" || intent === "set-role" || intent === "remove-member") && usesClerk(context)) {
      return { error: { code: "conflict", message: "Teams are Clerk organizations here; manage their members in Clerk." } };
    }
    if (intent === "remove-member") {
      const email = String(form.get("email") ?? "");
      const { keysRevoked } = await removeMember(context.services, viewer, String(form.get("userId") ?? ""));
      return { ok: `${email} was removed from ${viewer.account.name}.${revokedNote(keysRevoked.length)}` };
    }
    if (intent === "add-member" || intent === "set-role") {
      const email = String(form.get("email") ?? "").trim();
      if (!parseAddress(email).ok) return { error: { code: "validation_failed", message: `“${email}” is not an email address.` } };
      const role = (ROLES as readonly string[]).includes(String(form.get("role"))) ? (String(form.get("role")) as Role) : "member";
      const { keysRevoked } = await setMember(context.services, viewer, { email, role });
      return { ok: `${email} is now ${role === "admin" ? "an admin" : `a ${role}`} of ${viewer.account.name}.${revokedNote(keysRevoked.length)}` };
    }
    return { error: { code: "bad_request", message: "Unknown request." } };
  } catch (e) {
    return refused(e);
  }
}

/** What a change did to the person's API keys, in words. */
const revokedNote = (n: number) => (n ? ` The ${n === 1 ? "API key they made here was" : `${n} API keys they made here were`} revoked.` : "");

export default function Team() {
  const { account, me, myRole, members, canManage, clerk } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <>
      <div className="page-head">
        <div>
          <h1>{account.name}</h1>
          <p>{account.kind === "team" ? "Team" : "Personal account"} · your role: <strong>{account.role}</strong></p>
        </div>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && <div className="alert ok" role="status">{answer.ok}</div>}
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        <TableScroll label="Members">
          <table aria-label="Members">
            <thead><tr><th scope="col">Email</th><th scope="col">Role</th>{canManage && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.userId}>
                  <td>{m.email}{m.email === me && <span className="muted"> (you)</span>}</td>
                  <td><Badge value={m.role} /></td>
                  {canManage && (
                    <td>
                      {/* Admins manage members and admins; only an owner touches an owner; nobody re-roles themselves.
                          Labels avoid "Role" and "Add": the add form's controls are found by those words. */}
                      {(myRole === "owner" || m.role !== "owner") && (
                        <div className="row" style={{ gap: ".5rem", flexWrap: "nowrap" }}>
                          {m.email !== me && (
                            <Form method="post" className="row" style={{ gap: ".25rem", flexWrap: "nowrap" }}>
                              <input type="hidden" name="email" value={m.email} />
                              <select name="role" defaultValue={m.role} aria-label={`Make ${m.email}`} style={{ width: "auto" }}>
                                {ROLES.filter((r) => myRole === "owner" || r !== "owner").map((r) => <option key={r} value={r}>{r}</option>)}
                              </select>
                              <button className="btn small" type="submit" name="intent" value="set-role" disabled={busy} aria-label={`Change ${m.email}`}>Change</button>
                            </Form>
                          )}
                          <Form method="post">
                            <input type="hidden" name="userId" value={m.userId} />
                            <input type="hidden" name="email" value={m.email} />
                            <button className="btn small danger" type="submit" name="intent" value="remove-member" disabled={busy} aria-label={`Remove ${m.email}`}>Remove</button>
                          </Form>
                        </div>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
        <p className="muted" style={{ marginBottom: 0 }}>Owners and admins create API keys, see credits, cancel jobs and manage members (only owners manage owners); members upload, check and download. Removing someone, or making them a member, revokes the API keys they made here.</p>
      </section>
      {canManage && (
        <Form method="post" className="card">
          <h2>Add a member</h2>
          <div className="row">
            <div className="grow">
              <label htmlFor="member-email">Email</label>
              <input id="member-email" name="email" type="email" required />
            </div>
            <div>
              <label htmlFor="member-role">Role</label>
              <select id="member-role" name="role" defaultValue="member" style={{ width: "auto" }}>
                {ROLES.filter((r) => account.role === "owner" || r !== "owner").map((r) => <option key={r} value={r}>{r}</option>)}
              </select>
            </div>
            <button className="btn primary" type="submit" name="intent" value="add-member" disabled={busy}>Add</button>
          </div>
        </Form>
      )}
      {clerk ? (
        <p className="muted">Teams are Clerk organizations: create one, invite people and make it active in Clerk; its team account then appears in the account switcher.</p>
      ) : (
        <Form method="post" className="card">
          <h2>New team</h2>
          <div className="row">
            <div className="grow">
              <label htmlFor="team-name">Team name</label>
              <input id="team-name" name="name" type="text" required maxLength={100} />
            </div>
            <button className="btn" type="submit" name="intent" value="create-team" disabled={busy}>Create team</button>
          </div>
        </Form>
      )}
    </>
  );
}
