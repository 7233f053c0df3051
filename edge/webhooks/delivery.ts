// One delivery attempt, signed with Standard Webhooks 1.0: each attempt claims its delivery with
// one conditional write, makes the HTTP call with no lock held, then records what happened and
// what follows (the next attempt's time, giving up, turning the endpoint off) in one write.
// At least once: a receiver may see a delivery twice, always with the same `webhook-id`.
import { and, eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { checkWebhookUrl } from "../../core/webhookurl.ts";
import { webhookDeliveries, webhookEndpoints, webhookEvents } from "../../db/schema.ts";
import { localMode } from "../config.ts";
import { describeFetchFailure } from "./failure.ts";
import type { Services } from "../context.ts";
import { SecretError, vaultOf } from "../secrets/secrets.ts";
import { MAX_ATTEMPTS, RETRY_SCHEDULE_MS } from "./retry.ts";
import { webhookSigningSecret } from "./secrets.ts";
import type { EndpointRow } from "./views.ts";

export const ATTEMPT_TIMEOUT_MS = 10_000;
/** An attempt not recorded by then was lost (the isolate died) and may be claimed again. */
const CLAIM_MS = 60_000;
/** An endpoint whose deliveries failed without a success for this long is disabled (`failing`). */
export const FAILING_DISABLE_MS = 3 * 24 * 60 * 60_000;
export const SNIPPET_CHARS = 256;

/**
 * Gives the delivery's next attempt to the transport. Under QStash the message then owns the
 * timing (next_attempt_at cleared); if it could not be published the sweeper tries again.
 */
export async function handOver(s: Services, deliveryId: string, attemptsSoFar: number): Promise<void> {
  const ok = await s.webhookQueue.enqueue(deliveryId, attemptsSoFar, () => attemptDelivery(s, deliveryId));
  if (ok && s.webhookQueue.kind === "qstash") {
    await s.db.update(webhookDeliveries).set({ nextAttemptAt: null }).where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")));
  }
}

export type AttemptOutcome = "delivered" | "retry" | "failed" | "gone" | "skipped" | "busy" | "final";

/** The first characters of an answer, reading no more of it than needed. */
async function snippet(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < SNIPPET_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, SNIPPET_CHARS);
}

/** The payload as sent: `{ type, timestamp, data }`. */
export function eventPayload(event: { type: string; createdAt: number; data: string | null }): string {
  return `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(new Date(event.createdAt).toISOString())},"data":${event.data ?? "null"}}`;
}

/**
 * One attempt of one delivery, under both transports: claim (one conditional write, so two
 * callers never attempt at once), re-check the URL, POST signed afresh with a 10 s timeout and no
 * redirects followed, then record the attempt and its outcome in one write. 2xx is delivered;
 * 410 disables the endpoint; anything else is retried on RETRY_SCHEDULE_MS (direct) or by QStash.
 */
export async function attemptDelivery(s: Services, deliveryId: string, now = Date.now()): Promise<AttemptOutcome> {
  const claimed = await s.db.$client.execute({
    sql: `UPDATE webhook_deliveries SET status = 'delivering', attempts = attempts + 1, claimed_until = ?2, updated_at = ?3
          WHERE id = ?1 AND ((status = 'pending' AND coalesce(next_attempt_at, 0) <= ?3) OR (status = 'delivering' AND claimed_until < ?3))
          RETURNING attempts, endpoint_id, event_id`,
    args: [deliveryId, now + CLAIM_MS, now],
  });
  const claim = claimed.rows[0];
  if (!claim) {
    const [row] = await s.db.select({ status: webhookDeliveries.status }).from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
    return !row || row.status === "delivered" || row.status === "failed" ? "final" : row.status === "delivering" ? "busy" : "skipped";
  }
  const attempt = Number(claim.attempts);
  const [endpoint] = await s.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, String(claim.endpoint_id)));
  const [event] = await s.db.select().from(webhookEvents).where(eq(webhookEvents.id, String(claim.event_id)));
  if (!endpoint || !event || !endpoint.enabled) {
    // Turned off (or deleted) since: nothing is sent, and the claim does not count as an attempt.
    await s.db.$client.execute({
      sql: "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts - 1, claimed_until = NULL, next_attempt_at = NULL, updated_at = ?2 WHERE id = ?1 AND status = 'delivering' AND attempts = ?3",
      args: [deliveryId, now, attempt],
    });
    return "skipped";
  }

  let statusCode: number | null = null;
  let text: string;
  let urlRefused = false;
  let ended: number | null = null;
  const started = Date.now();
  const check = checkWebhookUrl(endpoint.url, { local: localMode(s.config) });
  const secret = check.ok ? await signingSecret(s, endpoint) : null;
  if (!check.ok) {
    urlRefused = true;
    text = `url_not_allowed (${check.rule}): ${check.message}`;
  } else if (!secret?.ok) {
    // Nothing is sent unsigned. Retried: restoring a master key that was dropped too early heals it.
    text = secret?.error ?? "no signing secret";
  } else {
    const payload = eventPayload(event);
    const signature = new Webhook(secret.value).sign(deliveryId, new Date(now), payload);
    try {
      const res = await fetch(check.url.href, {
        method: "POST",
        body: payload,
        redirect: "manual", // a redirect could point anywhere, loopback included: it is a failure
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        headers: {
          "content-type": "application/json",
          "user-agent": "mxray-webhooks/1",
          "webhook-id": deliveryId,
          "webhook-timestamp": String(Math.floor(now / 1000)),
          "webhook-signature": signature,
        },
      });
      statusCode = res.status;
      text = await snippet(res).catch(() => "");
    } catch (e) {
      ended = Date.now(); // the diagnosis below is not the endpoint's latency
      text = await describeFetchFailure(e, check.url, ATTEMPT_TIMEOUT_MS);
    }
  }
  const latency = (ended ?? Date.now()) - started;

  const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
  const gone = statusCode === 410;
  const outcome: AttemptOutcome = ok ? "delivered" : gone ? "gone" : urlRefused || attempt >= MAX_ATTEMPTS ? "failed" : "retry";
  const status = ok ? "delivered" : outcome === "retry" ? "pending" : "failed";
  // Direct: the sweeper picks the row up when due. QStash: its redelivery is the next attempt.
  const nextAt = outcome === "retry" && s.webhookQueue.kind === "direct" ? now + RETRY_SCHEDULE_MS[attempt - 1]! : null;
  await s.db.$client.batch(
    [
      {
        sql: "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, response_snippet, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args: [deliveryId, attempt, statusCode, latency, text.slice(0, SNIPPET_CHARS), now],
      },
      {
        sql: `UPDATE webhook_deliveries SET status = ?2, next_attempt_at = ?3, claimed_until = NULL, last_status_code = ?4, updated_at = ?5
              WHERE id = ?1 AND status = 'delivering' AND attempts = ?6`,
        args: [deliveryId, status, nextAt, statusCode, now, attempt],
      },
      ok
        ? { sql: "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?1 AND failing_since IS NOT NULL", args: [endpoint.id] }
        : { sql: "UPDATE webhook_endpoints SET failing_since = ?2 WHERE id = ?1 AND failing_since IS NULL", args: [endpoint.id, now] },
      gone
        ? { sql: "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'gone', updated_at = ?2 WHERE id = ?1 AND enabled = 1", args: [endpoint.id, now] }
        : {
            sql: "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'failing', updated_at = ?2 WHERE id = ?1 AND enabled = 1 AND failing_since <= ?3",
            args: [endpoint.id, now, now - FAILING_DISABLE_MS],
          },
    ],
    "write",
  );
  return outcome;
}

/** The endpoint's signing secret, or why it cannot be read (its data key or master key is gone). */
async function signingSecret(s: Services, endpoint: EndpointRow): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await webhookSigningSecret(await vaultOf(s), endpoint) };
  } catch (e) {
    if (!(e instanceof SecretError)) throw e;
    console.error(JSON.stringify({ msg: "webhook secret unreadable", endpoint: endpoint.id, code: e.code, message: e.message }));
    return { ok: false, error: `signing secret unreadable (${e.code}); nothing was sent. Rotate the endpoint's secret` };
  }
}

/** QStash gave up on a delivery (its failure callback): it is failed unless an attempt got through. */
export async function giveUpDelivery(s: Services, deliveryId: string, now = Date.now()): Promise<void> {
  await s.db.$client.execute({
    sql: "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, claimed_until = NULL, updated_at = ?2 WHERE id = ?1 AND status IN ('pending', 'delivering')",
    args: [deliveryId, now],
  });
}

