// Webhooks (issue 12): the account's endpoints (Zapier hooks too), a create form whose signing
// secret is shown once, and per endpoint: turn on or off, send a test event, rotate the secret,
// delete, and the delivery log (webhook-deliveries.$id.tsx). Owners and admins only, as API keys.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { WEBHOOK_EVENT_TYPES } from "../../core/enums.ts";
import { requireViewer } from "../auth.server.ts";
import { CopyButton, TableScroll, utc } from "../components/ui.tsx";
import { authorizeOr403, refused, ServiceError } from "../lib/actions.server.ts";
import { authorize } from "../lib/identity.server.ts";
import { createEndpoint, deleteEndpoint, getEndpoint, isWebhookEventType, listEndpoints, MAX_ENDPOINTS, rotateSecret, sendTestEvent, updateEndpoint } from "../lib/webhooks.server.ts";
import { disabledReason } from "../lib/webhooks.ts";

export const meta: MetaFunction = () => [{ title: "Webhooks · mxray" }];

const MAX_DESCRIPTION = 256;

const EVENT_HINT: Record<(typeof WEBHOOK_EVENT_TYPES)[number], string> = {
  "job.completed": "a list finished",
  "job.failed": "a list could not be processed",
  "job.canceled": "a list was canceled",
  "verification.completed": "a single check through the API answered",
  "dm.enriched": "a domain's decision makers were listed and their addresses looked for",
  "campaign.completed": "a campaign finished sending",
  "recipient.unsubscribed": "a recipient unsubscribed (one click, or the page)",
  "recipient.bounced": "a campaign message bounced (hard, soft or unreadable)",
  "recipient.complained": "a recipient marked a campaign message as spam (a feedback report)",
};

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "keys:manage");
  // An account has at most MAX_ENDPOINTS: one page holds them all.
  const page = await listEndpoints(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { limit: MAX_ENDPOINTS });
  return { account: viewer.account.name, endpoints: page.data, events: WEBHOOK_EVENT_TYPES.map((type) => ({ type, hint: EVENT_HINT[type] })) };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const form = await args.request.formData();
  const id = String(form.get("webhookId") ?? "");
  try {
    authorize(viewer, "keys:manage");
    switch (form.get("intent")) {
      case "create": {
        const events = form.getAll("events").map(String).filter(isWebhookEventType);
        if (events.length === 0) throw new ServiceError("validation_failed", "Choose at least one event.");
        const description = String(form.get("description") ?? "").trim();
        if (description.length > MAX_DESCRIPTION) throw new ServiceError("validation_failed", `The description is longer than ${MAX_DESCRIPTION} characters.`);
        const made = await createEndpoint(services, who, { url: String(form.get("url") ?? "").trim(), events, description: description || null, kind: "endpoint" });
        return { secret: { id: made.id, url: made.url, secret: made.secret, rotated: false } };
      }
      case "enable":
      case "disable": {
        const view = await updateEndpoint(services, who, { id, patch: { enabled: form.get("intent") === "enable" } });
        return { ok: `${view.url} is ${view.enabled ? "enabled" : "disabled"}.` };
      }
      case "test": {
        const { delivery_id } = await sendTestEvent(services, who, id);
        return { ok: `A webhook.test event is on its way (delivery ${delivery_id}); see its deliveries.` };
      }
      case "rotate": {
        const { secret } = await rotateSecret(services, who, id);
        return { secret: { id, url: (await getEndpoint(services, who, id)).url, secret, rotated: true } };
      }
      case "delete":
        await deleteEndpoint(services, who, { id });
        return { ok: "The webhook was deleted, with its delivery log." };
      default:
        return { error: { code: "bad_request", message: "Unknown request." } };
    }
  } catch (e) {
    return refused(e);
  }
}

type Endpoint = ReturnType<typeof useLoaderData<typeof loader>>["endpoints"][number];

function EndpointRow({ e }: { e: Endpoint }) {
  const label = e.description ?? e.url;
  return (
    <tr data-webhook={e.id}>
      <td>
        <div className="mono wrap-anywhere">{e.url}</div>
        {e.description && <div className="muted">{e.description}</div>}
        {e.kind === "zapier" && <span className="badge">Zapier</span>}
      </td>
      <td>{e.events.map((t) => <div key={t} className="mono">{t}</div>)}</td>
      <td>
        {e.enabled ? <span className="badge enabled">Enabled</span> : <span className="badge disabled">Disabled</span>}
        {!e.enabled && <div className="muted">{disabledReason(e)}</div>}
      </td>
      <td className="hide-sm muted">{utc(e.created_at)}</td>
      <td className="webhook-actions">
        <div>
          <Link className="btn small" to={`/webhook-deliveries/${e.id}`} aria-label={`Deliveries of ${label}`}>Deliveries</Link>
          <Form method="post">
            <input type="hidden" name="webhookId" value={e.id} />
            {e.enabled ? (
              <button className="btn small" type="submit" name="intent" value="disable" aria-label={`Disable ${label}`}>Disable</button>
            ) : (
              <button className="btn small" type="submit" name="intent" value="enable" aria-label={`Enable ${label}`}>Enable</button>
            )}
            {e.enabled && <button className="btn small" type="submit" name="intent" value="test" aria-label={`Send test event to ${label}`}>Send test event</button>}
            <button className="btn small" type="submit" name="intent" value="rotate" aria-label={`Rotate secret of ${label}`}>Rotate secret</button>
          </Form>
          {/* A second click confirms: nothing is lost by a slip of the mouse. */}
          <details>
            <summary className="btn small danger" aria-label={`Delete ${label}`}>Delete</summary>
            <Form method="post">
              <input type="hidden" name="webhookId" value={e.id} />
              <button className="btn small danger" type="submit" name="intent" value="delete" aria-label={`Delete ${label} and its deliveries`}>Delete it and its deliveries</button>
            </Form>
          </details>
        </div>
      </td>
    </tr>
  );
}

export default function Webhooks() {
  const { account, endpoints, events } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const shown = answer && "secret" in answer ? answer.secret : null;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Webhooks</h1>
          <p>Endpoints of {account}: mxray POSTs each event to them, signed with Standard Webhooks. See the <a href="/docs/webhooks">webhooks guide</a> and the <a href="/docs/reference#tag-webhooks">API reference</a>.</p>
        </div>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      {shown && (
        <div className="alert ok" role="status" aria-label="Signing secret">
          <p style={{ margin: "0 0 .5rem" }}>
            {shown.rotated ? "The new signing secret" : "The signing secret"} of <strong>{shown.url}</strong>. Copy it now: it is shown only once.
            {shown.rotated && " Deliveries from now on are signed with it only."}
          </p>
          <div className="secret">
            <code data-testid="webhook-secret">{shown.secret}</code>
            <CopyButton text={shown.secret} />
          </div>
          <p className="muted" style={{ margin: ".5rem 0 0" }}>
            Verify each delivery with it: the <code>webhook-signature</code> header is <code>v1,</code> and the base64 HMAC-SHA256 of
            {" "}<code>webhook-id.webhook-timestamp.body</code>; a Standard Webhooks library (<code>npm i standardwebhooks</code>) does it for you.
          </p>
        </div>
      )}
      <Form method="post" className="card" key={shown?.secret ?? "new"}>
        <h2>New endpoint</h2>
        <label htmlFor="webhook-url">URL</label>
        <input id="webhook-url" name="url" type="text" inputMode="url" required placeholder="https://hooks.example.com/mxray" />
        <fieldset style={{ border: 0, padding: 0, margin: ".75rem 0" }}>
          <legend>Events</legend>
          {events.map((ev) => (
            <label key={ev.type} style={{ display: "flex", gap: ".4rem", alignItems: "center" }}>
              <input type="checkbox" name="events" value={ev.type} defaultChecked={ev.type === "job.completed"} /> <span className="mono">{ev.type}</span> <span className="muted" style={{ fontWeight: 400 }}>{ev.hint}</span>
            </label>
          ))}
        </fieldset>
        <label htmlFor="webhook-description">Description</label>
        <input id="webhook-description" name="description" type="text" maxLength={MAX_DESCRIPTION} placeholder="CRM sync" />
        <div className="row" style={{ marginTop: ".75rem" }}>
          <button className="btn primary" type="submit" name="intent" value="create" disabled={busy}>Create endpoint</button>
        </div>
      </Form>
      <section className="card" aria-labelledby="webhooks-title">
        <h2 id="webhooks-title">Endpoints</h2>
        {endpoints.length === 0 ? (
          <p className="empty">No endpoints yet.</p>
        ) : (
          <TableScroll label="Endpoints">
            <table aria-label="Endpoints">
              <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">State</th><th scope="col" className="hide-sm">Created</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>{endpoints.map((e) => <EndpointRow key={e.id} e={e} />)}</tbody>
            </table>
          </TableScroll>
        )}
        <p className="muted">
          Any 2xx answer is delivered; anything else is retried after 30 s, 2 min, 10 min, 1 h, 6 h and 24 h. An endpoint is disabled when it answers 410 Gone,
          or when its deliveries kept failing for 3 days; enable it again here.
        </p>
      </section>
    </>
  );
}
