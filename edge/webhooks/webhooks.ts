// Outbound webhooks (issue 12): endpoints, the outbox fan-out, and delivery attempts signed with
// Standard Webhooks 1.0. An event is written in the same write as what it tells of (a job's end
// by edge/jobs/lifecycle.ts; an insert after a single check), fanned out to one delivery per subscribed endpoint
// (its id is the `webhook-id`, the same on every attempt), and each attempt claims its delivery
// with one conditional write, makes the HTTP call with no lock held, then records what happened.
// At least once: a receiver may see a delivery twice, always with the same `webhook-id`.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import type { Result } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { SAMPLE_DM_ENRICHED, SAMPLE_JOB, SAMPLE_RESULT, type DmEnriched } from "../../core/samples.ts";
import { checkWebhookUrl } from "../../core/webhookurl.ts";
import { jobs, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../db/schema.ts";
import { localMode } from "../config.ts";
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit, type AuditWho } from "../audit/audit.ts";
import type { Services } from "../context.ts";
import { jobView } from "../jobs/view.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { SecretError, vaultOf } from "../secrets/secrets.ts";
import { newWebhookSecret, sealClearWebhookSecrets, sealWebhookSecret, webhookSigningSecret } from "./secrets.ts";

/** Waits before attempts 2…7; after the 7th failed attempt the delivery is `failed`. Both transports. */
export const RETRY_SCHEDULE_MS = [30_000, 2 * 60_000, 10 * 60_000, 60 * 60_000, 6 * 60 * 60_000, 24 * 60 * 60_000] as const;
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** An attempt not recorded by then was lost (the isolate died) and may be claimed again. */
const CLAIM_MS = 60_000;
/** An endpoint whose deliveries failed without a success for this long is disabled (`failing`). */
export const FAILING_DISABLE_MS = 3 * 24 * 60 * 60_000;
export const SNIPPET_CHARS = 256;
/** Endpoints (hooks included) per account: each event fans out to every one of them. */
export const MAX_ENDPOINTS = 100;
/** Deliveries the sweeper attempts per run; the rest wait for the next minute. */
const SWEEP_BATCH = 50;
/** Events (with their deliveries and attempts) are kept this long, past the last retry. */
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60_000;

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type EndpointKind = EndpointRow["kind"];

export interface EndpointView {
  id: string;
  kind: EndpointKind;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  disabled_reason: "gone" | "failing" | null;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    kind: row.kind,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventType[],
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    failing_since: iso(row.failingSince),
    created_at: iso(row.createdAt)!,
    updated_at: iso(row.updatedAt)!,
  };
}

/** Throws `url_not_allowed` naming the rule the URL breaks (core/webhookurl.ts). */
function allowedUrl(s: Services, url: string): string {
  const check = checkWebhookUrl(url, { local: localMode(s.config) });
  if (!check.ok) throw new ServiceError("url_not_allowed", `url (${check.rule}): ${check.message}`);
  return check.url.href;
}

export interface NewEndpoint {
  url: string;
  events: WebhookEventType[];
  description?: string | null | undefined;
  kind: EndpointKind;
}

export async function createEndpoint(s: Services, accountId: string, who: AuditWho, input: NewEndpoint, now = Date.now()): Promise<EndpointView & { secret: string }> {
  const url = allowedUrl(s, input.url);
  const id = newId("whk");
  const secret = newWebhookSecret();
  // Only the sealed secret is written: the clear one leaves in this answer, once.
  const sealed = await sealWebhookSecret(await vaultOf(s), accountId, id, secret);
  // The cap is part of the insert, so two concurrent creations cannot both pass it.
  const inserted = await s.db.$client.execute({
    sql: `INSERT INTO webhook_endpoints (id, account_id, kind, url, events, description, secret, enabled, created_at, updated_at)
          SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8 WHERE (SELECT count(*) FROM webhook_endpoints WHERE account_id = ?2) < ?9`,
    args: [id, accountId, input.kind, url, JSON.stringify([...new Set(input.events)]), input.description ?? null, sealed, now, MAX_ENDPOINTS],
  });
  if (inserted.rowsAffected === 0) throw new ServiceError("conflict", `An account has at most ${MAX_ENDPOINTS} webhook endpoints and hooks; delete one first`);
  await recordAudit(s.db, who.request, { accountId, actor: who.actor, action: "webhook.created", target: id, detail: { url, events: input.events, kind: input.kind } }, now);
  return { ...endpointView(await endpointRow(s.db, accountId, id)), secret };
}

async function endpointRow(db: EdgeDb, accountId: string, id: string, kind?: EndpointKind): Promise<EndpointRow> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId), kind ? eq(webhookEndpoints.kind, kind) : undefined));
  // Another account's endpoint is "not found" too: ids are never confirmed across tenants.
  if (!row) throw new ServiceError("not_found", `No webhook ${id}`);
  return row;
}

export async function getEndpoint(db: EdgeDb, accountId: string, id: string): Promise<EndpointView> {
  return endpointView(await endpointRow(db, accountId, id));
}

/** Newest first; Zapier hooks are listed too (kind `zapier`), so stale ones can be seen and deleted. */
export async function listEndpoints(db: EdgeDb, accountId: string, limit: number, cursor?: string) {
  const after = decodeCursor(cursor, /whk_\w+/);
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.accountId, accountId), afterCursor(webhookEndpoints.createdAt, webhookEndpoints.id, after)))
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(limit + 1);
  return toPage(rows, limit, endpointView);
}

export interface EndpointPatch {
  events?: WebhookEventType[] | undefined;
  enabled?: boolean | undefined;
  description?: string | null | undefined;
}

/** Turning an endpoint back on forgets why it was off and its failures. */
export async function updateEndpoint(db: EdgeDb, accountId: string, who: AuditWho, id: string, patch: EndpointPatch, now = Date.now()): Promise<EndpointView> {
  await endpointRow(db, accountId, id);
  await db
    .update(webhookEndpoints)
    .set({
      ...(patch.events ? { events: JSON.stringify([...new Set(patch.events)]) } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.enabled === true ? { disabledReason: null, failingSince: null } : {}),
      updatedAt: now,
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)));
  await recordAudit(db, who.request, { accountId, actor: who.actor, action: "webhook.updated", target: id, detail: { ...patch } }, now);
  return getEndpoint(db, accountId, id);
}

/** Removes the endpoint with its deliveries and their attempts, in one write. */
export async function deleteEndpoint(db: EdgeDb, accountId: string, who: AuditWho, id: string, kind?: EndpointKind): Promise<void> {
  const endpoint = await endpointRow(db, accountId, id, kind);
  await db.$client.batch(
    [
      { sql: "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)", args: [id] },
      { sql: "DELETE FROM webhook_deliveries WHERE endpoint_id = ?", args: [id] },
      { sql: "DELETE FROM webhook_endpoints WHERE id = ? AND account_id = ?", args: [id, accountId] },
    ],
    "write",
  );
  await recordAudit(db, who.request, { accountId, actor: who.actor, action: "webhook.deleted", target: id, detail: { url: endpoint.url, kind: endpoint.kind } });
}

/** A new secret at once: deliveries from now on are signed with it only. */
export async function rotateSecret(s: Services, accountId: string, who: AuditWho, id: string, now = Date.now()): Promise<{ secret: string }> {
  await endpointRow(s.db, accountId, id);
  const secret = newWebhookSecret();
  const sealed = await sealWebhookSecret(await vaultOf(s), accountId, id, secret);
  await s.db.update(webhookEndpoints).set({ secret: sealed, updatedAt: now }).where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)));
  await recordAudit(s.db, who.request, { accountId, actor: who.actor, action: "webhook.secret_rotated", target: id }, now);
  return { secret };
}

const insertDelivery = (deliveryId: string, accountId: string, endpointId: string, eventId: string, now: number) => ({
  sql: `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
        VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?5)`,
  args: [deliveryId, accountId, endpointId, eventId, now],
});

/**
 * Test sends are free and each can become up to MAX_ATTEMPTS POSTs, so they are capped per
 * endpoint and per account (an endpoint deleted and made again starts a new count), each in a
 * window of one clock hour (issue 21).
 */
export const TEST_SENDS_PER_ENDPOINT_HOUR = 10;
export const TEST_SENDS_PER_ACCOUNT_HOUR = 50;
const HOUR_MS = 60 * 60_000;

/** The Redis counters of test sends in one clock hour (Unix ms / 3,600,000). */
export const testSendCounters = (accountId: string, id: string, hour: number) => ({
  account: `webhook-tests:${accountId}:${hour}`,
  endpoint: `webhook-tests:${accountId}:${id}:${hour}`,
});

async function countTestSend(s: Services, accountId: string, id: string, now: number): Promise<void> {
  const hour = Math.floor(now / HOUR_MS);
  const counters = testSendCounters(accountId, id, hour);
  const retryAfterS = Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - now) / 1000));
  const ttlS = (2 * HOUR_MS) / 1000;
  if ((await s.cache.increment(counters.account, ttlS)) > TEST_SENDS_PER_ACCOUNT_HOUR) {
    throw new ServiceError("rate_limited", `An account may send ${TEST_SENDS_PER_ACCOUNT_HOUR} test events an hour; retry in ${retryAfterS} s`, retryAfterS);
  }
  if ((await s.cache.increment(counters.endpoint, ttlS)) > TEST_SENDS_PER_ENDPOINT_HOUR) {
    throw new ServiceError("rate_limited", `A webhook may be sent ${TEST_SENDS_PER_ENDPOINT_HOUR} test events an hour; retry in ${retryAfterS} s`, retryAfterS);
  }
}

/** A `webhook.test` event for this endpoint only; answers the delivery's id. */
export async function sendTestEvent(s: Services, accountId: string, id: string, now = Date.now()): Promise<{ delivery_id: string }> {
  const endpoint = await endpointRow(s.db, accountId, id);
  if (!endpoint.enabled) throw new ServiceError("conflict", `Webhook ${id} is disabled; enable it first`);
  await countTestSend(s, accountId, id, now);
  const eventId = newId("msg");
  const deliveryId = newId("dlv");
  await s.db.$client.batch(
    [
      {
        sql: "INSERT INTO webhook_events (id, account_id, type, data, created_at, fanned_out_at) VALUES (?1, ?2, 'webhook.test', ?3, ?4, ?4)",
        args: [eventId, accountId, JSON.stringify({ webhook_id: id }), now],
      },
      insertDelivery(deliveryId, accountId, id, eventId, now),
    ],
    "write",
  );
  await handOver(s, deliveryId, 0);
  return { delivery_id: deliveryId };
}

/**
 * Records what a request told of (a single check, a domain's decision makers) as an event of
 * `type`, only when the account has an endpoint for it (most have none: no outbox row per
 * request). The event's id is the delivery key: each endpoint gets it once, retries included.
 */
async function recordRequestEvent(s: Services, accountId: string, type: "verification.completed" | "dm.enriched", data: unknown, now: number): Promise<void> {
  const written = await s.db.$client.execute({
    sql: `INSERT INTO webhook_events (id, account_id, type, data, created_at)
          SELECT ?1, ?2, ?5, ?3, ?4
          WHERE EXISTS (SELECT 1 FROM webhook_endpoints w, json_each(w.events) e WHERE w.account_id = ?2 AND w.enabled = 1 AND e.value = ?5)`,
    args: [newId("msg"), accountId, JSON.stringify(data), now, type],
  });
  if (written.rowsAffected > 0) s.waitUntil(fanOut(s));
}

/** A single check made through the API, as `verification.completed`. */
export const recordVerification = (s: Services, accountId: string, result: Result, now = Date.now()) => recordRequestEvent(s, accountId, "verification.completed", result, now);

/** A domain's decision makers and the addresses found for them, as `dm.enriched`. */
export const recordDecisionMakers = (s: Services, accountId: string, data: DmEnriched, now = Date.now()) => recordRequestEvent(s, accountId, "dm.enriched", data, now);

/** Events fanned out per call; the sweeper takes the rest. */
const FANOUT_BATCH = 50;

/**
 * Turns written events into deliveries, one per enabled endpoint of the account subscribed to
 * the type (and made before the event). A job event's data is the job's API view, filled here.
 * Runs after each terminal write and in the sweeper; the unique (event, endpoint) makes a second
 * run insert nothing, so each delivery is handed over once. Returns the deliveries made.
 */
export async function fanOut(s: Services, now = Date.now()): Promise<number> {
  const events = await s.db
    .select()
    .from(webhookEvents)
    .where(sql`${webhookEvents.fannedOutAt} IS NULL`)
    .orderBy(webhookEvents.createdAt)
    .limit(FANOUT_BATCH);
  let made = 0;
  for (const event of events) {
    let data = event.data;
    if (data === null && event.subjectId && event.type.startsWith("job.")) {
      const [job] = await s.db.select().from(jobs).where(and(eq(jobs.id, event.subjectId), eq(jobs.accountId, event.accountId)));
      if (job) data = JSON.stringify(jobView(job));
    }
    const [, inserted] = await s.db.$client.batch(
      [
        { sql: "UPDATE webhook_events SET data = coalesce(data, ?1), fanned_out_at = ?2 WHERE id = ?3", args: [data, now, event.id] },
        {
          // Nothing to send when the subject is gone (a job purged before its fan-out).
          sql: `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
                SELECT 'dlv_' || lower(hex(randomblob(10))), w.account_id, w.id, ?1, 'pending', ?2, ?2, ?2
                FROM webhook_endpoints w
                WHERE ?5 IS NOT NULL AND w.account_id = ?3 AND w.enabled = 1 AND w.created_at <= ?4
                  AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = ?6)
                ON CONFLICT DO NOTHING
                RETURNING id`,
          args: [event.id, now, event.accountId, event.createdAt, data, event.type],
        },
      ],
      "write",
    );
    for (const row of inserted!.rows) {
      made++;
      await handOver(s, String(row.id), 0);
    }
  }
  return made;
}

/**
 * Gives the delivery's next attempt to the transport. Under QStash the message then owns the
 * timing (next_attempt_at cleared); if it could not be published the sweeper tries again.
 */
async function handOver(s: Services, deliveryId: string, attemptsSoFar: number): Promise<void> {
  const ok = await s.webhookQueue.enqueue(deliveryId, attemptsSoFar);
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
      const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
      text = timedOut ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` : `request failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const latency = Date.now() - started;

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
export async function giveUpDelivery(db: EdgeDb, deliveryId: string, now = Date.now()): Promise<void> {
  await db.$client.execute({
    sql: "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, claimed_until = NULL, updated_at = ?2 WHERE id = ?1 AND status IN ('pending', 'delivering')",
    args: [deliveryId, now],
  });
}

export interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "delivering" | "delivered" | "failed";
  next_attempt_at: string | null;
  created_at: string;
  attempts: { attempt: number; status_code: number | null; latency_ms: number; response_snippet: string; at: string }[];
}

/** The endpoint's delivery log, newest first, each delivery with its attempts. */
export async function listDeliveries(db: EdgeDb, accountId: string, endpointId: string, limit: number, cursor?: string) {
  await endpointRow(db, accountId, endpointId);
  const after = decodeCursor(cursor, /dlv_\w+/);
  const rows = await db
    .select({ delivery: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.accountId, accountId), afterCursor(webhookDeliveries.createdAt, webhookDeliveries.id, after)))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit + 1);
  const ids = rows.slice(0, limit).map((r) => r.delivery.id);
  const attempts = ids.length > 0 ? await db.select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, ids)).orderBy(webhookAttempts.attempt) : [];
  const flat = rows.map((r) => ({ ...r.delivery, type: r.type }));
  return toPage(flat, limit, (d): DeliveryView => ({
    id: d.id,
    event_id: d.eventId,
    event_type: d.type,
    status: d.status,
    next_attempt_at: iso(d.nextAttemptAt),
    created_at: iso(d.createdAt)!,
    attempts: attempts
      .filter((a) => a.deliveryId === d.id)
      .map((a) => ({ attempt: a.attempt, status_code: a.statusCode, latency_ms: a.latencyMs, response_snippet: a.responseSnippet, at: iso(a.at)! })),
  }));
}

/**
 * One more attempt of a delivery, now: the same message and `webhook-id`, signed afresh. A
 * replay of a delivery that already gave up is one attempt, not a new series of retries.
 */
export async function replayDelivery(s: Services, accountId: string, endpointId: string, deliveryId: string, now = Date.now()): Promise<{ delivery_id: string }> {
  const endpoint = await endpointRow(s.db, accountId, endpointId);
  if (!endpoint.enabled) throw new ServiceError("conflict", `Webhook ${endpointId} is disabled; enable it first`);
  const [row] = await s.db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, updatedAt: now })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.accountId, accountId), sql`${webhookDeliveries.status} <> 'delivering'`))
    .returning({ attempts: webhookDeliveries.attempts });
  if (!row) {
    const [exists] = await s.db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.accountId, accountId)));
    if (!exists) throw new ServiceError("not_found", `No delivery ${deliveryId}`);
    throw new ServiceError("conflict", `Delivery ${deliveryId} is being attempted right now`);
  }
  await handOver(s, deliveryId, row.attempts);
  return { delivery_id: deliveryId };
}

export interface WebhookSweep {
  fannedOut: number;
  attempted: number;
  purgedEvents: number;
  /** Secrets from before migration 0012 sealed in this run. */
  sealedSecrets: number;
}

/**
 * The sweeper's part: fan out what a request did not, hand due deliveries (and lost claims) to
 * the transport (attempted here under the direct stand-in), and drop events past retention.
 */
export async function sweepWebhooks(s: Services, now = Date.now()): Promise<WebhookSweep> {
  const fannedOut = await fanOut(s, now);
  const due = await s.db.$client.execute({
    sql: `SELECT id, attempts FROM webhook_deliveries
          WHERE (status = 'pending' AND next_attempt_at <= ?1) OR (status = 'delivering' AND claimed_until < ?1)
          ORDER BY next_attempt_at LIMIT ?2`,
    args: [now, SWEEP_BATCH],
  });
  const ids = due.rows.map((r) => ({ id: String(r.id), attempts: Number(r.attempts) }));
  if (s.webhookQueue.kind === "direct") await Promise.all(ids.map((d) => attemptDelivery(s, d.id, now)));
  else for (const d of ids) await handOver(s, d.id, d.attempts);
  // The same 500 in each statement (ordered), so deliveries and attempts go with their event.
  const old = "SELECT id FROM webhook_events WHERE created_at < ?1 ORDER BY created_at, id LIMIT 500";
  const [, , purged] = await s.db.$client.batch(
    [
      { sql: `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id IN (${old}))`, args: [now - EVENT_RETENTION_MS] },
      { sql: `DELETE FROM webhook_deliveries WHERE event_id IN (${old})`, args: [now - EVENT_RETENTION_MS] },
      { sql: `DELETE FROM webhook_events WHERE id IN (${old})`, args: [now - EVENT_RETENTION_MS] },
    ],
    "write",
  );
  const sealedSecrets = await sealClearWebhookSecrets(await vaultOf(s));
  return { fannedOut, attempted: ids.length, purgedEvents: purged!.rowsAffected, sealedSecrets };
}

export const isWebhookEventType = (t: string): t is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t);


/**
 * What Zapier shows while a zap is set up: the account's 3 most recent real objects for the event
 * (finished jobs of that status; the data of recent verification or dm.enriched events), else one sample.
 */
export async function hookSamples(db: EdgeDb, accountId: string, type: WebhookEventType): Promise<unknown[]> {
  if (type === "verification.completed" || type === "dm.enriched") {
    const rows = await db
      .select({ data: webhookEvents.data })
      .from(webhookEvents)
      .where(and(eq(webhookEvents.accountId, accountId), eq(webhookEvents.type, type), sql`${webhookEvents.data} IS NOT NULL`))
      .orderBy(desc(webhookEvents.createdAt))
      .limit(3);
    if (rows.length > 0) return rows.map((r) => JSON.parse(r.data!) as unknown);
    return [type === "dm.enriched" ? SAMPLE_DM_ENRICHED : SAMPLE_RESULT];
  }
  const status = type.slice("job.".length) as "completed" | "failed" | "canceled";
  const rows = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.accountId, accountId), eq(jobs.status, status), sql`${jobs.deletedAt} IS NULL`))
    .orderBy(desc(jobs.createdAt))
    .limit(3);
  return rows.length > 0 ? rows.map(jobView) : [{ ...SAMPLE_JOB, status }];
}
