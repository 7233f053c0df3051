// API keys: create (named, shown once, with a copy button), list with last use, revoke.
// Owners and admins only; an account holds at most MAX_ACTIVE_KEYS unrevoked keys. A secret key
// reaches the whole API; a publishable key (issue 25) is made with the origins whose pages may use
// it for the sign-up form widget, and is shown with the widget's snippet (docs/widget.md).
import { useState } from "react";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { requireViewer } from "../auth.server.ts";
import { CopyButton, TableScroll, utc } from "../components/ui.tsx";
import { authorizeOr403, refused } from "../lib/actions.server.ts";
import { authorize, createApiKey, listApiKeys, MAX_ACTIVE_KEYS, revokeApiKey } from "../lib/identity.server.ts";

export const meta: MetaFunction = () => [{ title: "API keys · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "keys:manage");
  return { account: viewer.account.name, keys: await listApiKeys(args.context.services, viewer), maxActive: MAX_ACTIVE_KEYS };
}

/** The widget's snippet for a publishable key, loaded from this edge. */
const widgetSnippet = (edge: string, key: string) => `<script src="${edge}/widget.js" data-key="${key}" async></script>`;

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const form = await args.request.formData();
  try {
    authorize(viewer, "keys:manage");
    if (form.get("intent") === "revoke") {
      await revokeApiKey(args.context.services, viewer, String(form.get("keyId")));
      return { revoked: String(form.get("keyId")) };
    }
    const { services } = args.context;
    const name = String(form.get("name") ?? "");
    if (form.get("kind") === "publishable") {
      const made = await createApiKey(services, viewer, { name, kind: "publishable", origins: String(form.get("origins") ?? "") });
      return { created: { key: made.key, name: made.view.name, snippet: widgetSnippet(services.origin, made.key) } };
    }
    const mode = form.get("mode") === "test" ? "test" : "live";
    const made = await createApiKey(services, viewer, { name, mode });
    return { created: { key: made.key, name: made.view.name, snippet: null } };
  } catch (e) {
    return refused(e);
  }
}

export default function Keys() {
  const { account, keys, maxActive } = useLoaderData<typeof loader>();
  const active = keys.filter((k) => k.revokedAt === null).length;
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const [kind, setKind] = useState<"secret" | "publishable">("secret");
  return (
    <>
      <div className="page-head">
        <div>
          <h1>API keys</h1>
          <p>
            Keys of {account}. Send a secret key as <code>Authorization: Bearer mx_live_…</code>; see the <a href="/docs/api">API docs</a>.
            A publishable key (<code>mx_pk_…</code>) goes in a web page for the <a href="/docs/widget">sign-up form widget</a>: it can only check addresses, from the origins you list.
          </p>
        </div>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "created" in answer && answer.created && (
        <div className="alert ok" role="status">
          <p style={{ margin: "0 0 .5rem" }}><strong>{answer.created.name}</strong> was created. Copy it now: it is shown only once.</p>
          <div className="secret">
            <code data-testid="new-key">{answer.created.key}</code>
            <CopyButton text={answer.created.key} />
          </div>
          {answer.created.snippet && (
            <>
              <p style={{ margin: ".75rem 0 .5rem" }}>Put the widget on your sign-up page (this key is safe to publish there):</p>
              <div className="secret">
                <code data-testid="widget-snippet">{answer.created.snippet}</code>
                <CopyButton text={answer.created.snippet} />
              </div>
            </>
          )}
        </div>
      )}
      <Form method="post" className="card" key={answer && "created" in answer ? answer.created.key : "new"}>
        <h2>New key</h2>
        <div className="row">
          <div className="grow">
            <label htmlFor="key-name">Name</label>
            <input id="key-name" name="name" type="text" required maxLength={100} placeholder="Signup form, CRM sync…" />
          </div>
          <div>
            <label htmlFor="key-kind">Kind</label>
            <select id="key-kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value === "publishable" ? "publishable" : "secret")} style={{ width: "auto" }}>
              <option value="secret">secret (servers: the whole API)</option>
              <option value="publishable">publishable (web pages: the widget)</option>
            </select>
          </div>
          {kind === "secret" && (
            <div>
              <label htmlFor="key-mode">Mode</label>
              <select id="key-mode" name="mode" defaultValue="live" style={{ width: "auto" }}>
                <option value="live">live</option>
                <option value="test">test</option>
              </select>
            </div>
          )}
          <button className="btn primary" type="submit" name="intent" value="create" disabled={busy}>Create key</button>
        </div>
        {kind === "publishable" && (
          <div>
            <label htmlFor="key-origins">Allowed origins</label>
            <textarea id="key-origins" name="origins" className="mono" rows={3} required aria-describedby="key-origins-hint" placeholder={"https://www.example.com\nhttps://*.example.com\nhttp://localhost:3000"} />
            <p className="hint muted" id="key-origins-hint">
              One per line: the sites whose pages may use this key, as <code>https://host</code> or <code>https://host:port</code>, no path. <code>https://*.example.com</code> allows every subdomain; <code>http://</code> only for localhost.
            </p>
          </div>
        )}
        <p className="muted" style={{ marginBottom: 0 }}>
          {active} of {maxActive} active keys; revoke a key you no longer use to make room. A key stops working when the person who made it leaves the team or becomes a member.
        </p>
      </Form>
      <section className="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        {keys.length === 0 ? (
          <p className="empty">No keys yet.</p>
        ) : (
          <TableScroll label="Keys">
            <table aria-label="Keys">
              <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Kind</th><th scope="col" className="hide-sm">Created</th><th scope="col">Last used</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.id} data-key={k.id}>
                    <td>{k.name}</td>
                    <td className="mono">{k.prefix}…</td>
                    <td>
                      {k.kind === "publishable" ? (
                        <>
                          <span className="badge">publishable</span>
                          <div className="muted mono" data-testid="key-origins">{(k.origins ?? []).join(", ")}</div>
                        </>
                      ) : (
                        <span className="muted">secret · {k.mode}</span>
                      )}
                    </td>
                    <td className="hide-sm muted">{utc(k.createdAt)}</td>
                    <td className="muted">{utc(k.lastUsedAt)}</td>
                    <td>
                      {k.revokedAt !== null ? (
                        <span className="badge failed">revoked</span>
                      ) : (
                        <Form method="post">
                          <input type="hidden" name="keyId" value={k.id} />
                          <button className="btn small danger" type="submit" name="intent" value="revoke" aria-label={`Revoke ${k.name}`}>Revoke</button>
                        </Form>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </>
  );
}
