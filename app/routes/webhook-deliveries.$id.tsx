// One webhook endpoint's delivery log (issue 12): each delivery (its `webhook-id`, event, status)
// with every attempt (status code, latency, the start of the answer), in cursor pages, and a
// replay per delivery: one more attempt now, with the same `webhook-id`. Owners and admins only.
// Not under /webhooks/: the Worker keeps that prefix for inbound callbacks (/webhooks/stripe).
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { requireViewer } from "../auth.server.ts";
import { TableScroll, utc } from "../components/ui.tsx";
import { authorizeOr403, refused, ServiceError } from "../lib/actions.server.ts";
import { authorize } from "../lib/identity.server.ts";
import { getEndpoint, listDeliveries, replayDelivery, sendTestEvent } from "../lib/webhooks.server.ts";
import { deliveryWords, disabledReason } from "../lib/webhooks.ts";
import { RelativeTime } from "../components/time.tsx";

export const meta: MetaFunction = () => [{ title: "Webhook deliveries · mxray" }];

const DELIVERIES_PAGE = 20;

/** A missing (or another account's) endpoint is a 404 and a hand-edited ?cursor= a 400, not a failure of ours. */
async function orClientError<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "not_found") throw new Response("No such webhook in this account.", { status: 404 });
    if (e instanceof ServiceError && e.code === "validation_failed") throw new Response(e.message, { status: 400 });
    throw e;
  }
}

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "keys:manage");
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const id = args.params.id!;
  const cursor = new URL(args.request.url).searchParams.get("cursor") ?? undefined;
  const endpoint = await orClientError(() => getEndpoint(services, who, id));
  const page = await orClientError(() => listDeliveries(services, who, { endpointId: id, limit: DELIVERIES_PAGE, cursor }));
  return { endpoint, deliveries: page.data, nextCursor: page.next_cursor, paged: cursor !== undefined, now: services.clock.now() };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const form = await args.request.formData();
  const id = args.params.id!;
  try {
    authorize(viewer, "keys:manage");
    if (form.get("intent") === "replay") {
      const { delivery_id } = await replayDelivery(services, who, { endpointId: id, deliveryId: String(form.get("deliveryId") ?? "") });
      return { ok: `Delivery ${delivery_id} is being sent once more; reload to see the attempt.` };
    }
    if (form.get("intent") === "test") {
      const { delivery_id } = await sendTestEvent(services, who, id);
      return { ok: `A webhook.test event is on its way (delivery ${delivery_id}).` };
    }
    return { error: { code: "bad_request", message: "Unknown request." } };
  } catch (e) {
    return refused(e);
  }
}

type Delivery = ReturnType<typeof useLoaderData<typeof loader>>["deliveries"][number];

function DeliveryCard({ d, canReplay, now }: { d: Delivery; canReplay: boolean; now: number }) {
  const busy = useNavigation().state === "submitting";
  const state = deliveryWords(d);
  return (
    <article className="card" data-delivery={d.id} aria-label={`Delivery ${d.id}`}>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <div>
          <strong className="mono">{d.event_type}</strong> <span className={`badge ${state.tone}`} title={`status: ${d.status}`}>{state.word}</span>
          <div className="muted mono">{d.id}</div>
          <div className="muted">
            {utc(d.created_at)} · {d.attempts.length} {d.attempts.length === 1 ? "attempt" : "attempts"}
            {d.next_attempt_at && <> · <RelativeTime at={d.next_attempt_at} now={now} prefix="next try " due="next try due now" /></>}
          </div>
        </div>
        {canReplay && (
          <Form method="post">
            <input type="hidden" name="deliveryId" value={d.id} />
            <button className="btn small" type="submit" name="intent" value="replay" disabled={busy || d.status === "delivering"} aria-label={`Replay ${d.id}`}>Replay</button>
          </Form>
        )}
      </div>
      {d.attempts.length > 0 && (
        <TableScroll label={`Attempts of ${d.id}`}>
          <table aria-label={`Attempts of ${d.id}`}>
            <thead><tr><th scope="col">#</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col" className="hide-sm">Time</th><th scope="col">Answer</th></tr></thead>
            <tbody>
              {d.attempts.map((a) => (
                <tr key={a.attempt} data-attempt={a.attempt}>
                  <td>{a.attempt}</td>
                  <td className="mono nowrap">{a.status_code === null ? "no answer" : `HTTP ${a.status_code}`}</td>
                  <td className="mono">{a.latency_ms} ms</td>
                  <td className="hide-sm muted">{utc(a.at)}</td>
                  <td className="wrap-anywhere"><code style={{ whiteSpace: "pre-wrap" }}>{a.response_snippet}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </article>
  );
}

export default function WebhookDeliveries() {
  const { endpoint, deliveries, nextCursor, paged, now } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const off = disabledReason(endpoint);
  const here = `/webhook-deliveries/${endpoint.id}`;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Deliveries</h1>
          <p>
            <span className="mono wrap-anywhere">{endpoint.url}</span>
            {endpoint.kind === "zapier" && <> <span className="badge">Zapier</span></>}
            {" "}{off ? <><span className="badge disabled">Disabled</span> {off}</> : <span className="badge enabled">Enabled</span>}
          </p>
          <p className="muted">Each delivery's id is its <code>webhook-id</code> header, the same on every attempt and replay. See the <Link to="/docs/webhooks">webhooks guide</Link> for retries. <Link to="/webhooks">← All webhooks</Link></p>
        </div>
        {!off && (
          <Form method="post">
            <button className="btn" type="submit" name="intent" value="test">Send test event</button>
          </Form>
        )}
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      {deliveries.length === 0 ? (
        <div className="card"><p className="empty">No deliveries{paged ? " on this page" : " yet"}.</p></div>
      ) : (
        deliveries.map((d) => <DeliveryCard key={d.id} d={d} canReplay={!off} now={now} />)
      )}
      <div className="row">
        {paged && <Link to={here}>← Newest</Link>}
        {nextCursor && <Link to={`${here}?cursor=${encodeURIComponent(nextCursor)}`}>Older →</Link>}
      </div>
    </>
  );
}
