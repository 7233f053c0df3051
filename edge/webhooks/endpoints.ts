// Webhook endpoints (issue 12): create, read, change, delete, rotate the signing secret, and send
// a test event. Zapier's REST hooks are endpoints too (kind `zapier`), under the same URL rules,
// cap and signing. Each change is written to the audit log.
import { and, desc, eq } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { checkWebhookUrl } from "../../core/webhookurl.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../core/enums.ts";
import { webhookEndpoints } from "../../db/schema.ts";
import { localMode } from "../config.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { vaultOf } from "../secrets/secrets.ts";
import { handOver } from "./delivery.ts";
import { newWebhookSecret, sealWebhookSecret } from "./secrets.ts";
import { endpointView, type DeliveryAccepted, type EndpointKind, type EndpointRow, type EndpointView } from "./views.ts";

/** Endpoints (hooks included) per account: each event fans out to every one of them. */
export const MAX_ENDPOINTS = 100;

export const isWebhookEventType = (t: string): t is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t);

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

export async function createEndpoint(s: Services, who: Who, input: NewEndpoint, now = Date.now()): Promise<EndpointView & { secret: string }> {
  const { accountId } = who;
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
  await recordAudit(s, who, { action: "webhook.created", target: id, detail: { url, events: input.events, kind: input.kind } }, now);
  return { ...endpointView(await endpointRow(s, who, id)), secret };
}

/** The account's endpoint (of `kind`, when given), or not_found. */
export async function endpointRow(s: Services, who: Who, id: string, kind?: EndpointKind): Promise<EndpointRow> {
  const [row] = await s.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, who.accountId), kind ? eq(webhookEndpoints.kind, kind) : undefined));
  // Another account's endpoint is "not found" too: ids are never confirmed across tenants.
  if (!row) throw new ServiceError("not_found", `No webhook ${id}`);
  return row;
}

export async function getEndpoint(s: Services, who: Who, id: string): Promise<EndpointView> {
  return endpointView(await endpointRow(s, who, id));
}

/** Newest first; Zapier hooks are listed too (kind `zapier`), so stale ones can be seen and deleted. */
export async function listEndpoints(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /whk_\w+/);
  const rows = await s.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.accountId, who.accountId), afterCursor(webhookEndpoints.createdAt, webhookEndpoints.id, after)))
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, endpointView);
}

export interface EndpointPatch {
  events?: WebhookEventType[] | undefined;
  enabled?: boolean | undefined;
  description?: string | null | undefined;
}

/** Turning an endpoint back on forgets why it was off and its failures. */
export async function updateEndpoint(s: Services, who: Who, input: { id: string; patch: EndpointPatch }, now = Date.now()): Promise<EndpointView> {
  const { id, patch } = input;
  await endpointRow(s, who, id);
  await s.db
    .update(webhookEndpoints)
    .set({
      ...(patch.events ? { events: JSON.stringify([...new Set(patch.events)]) } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.enabled === true ? { disabledReason: null, failingSince: null } : {}),
      updatedAt: now,
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, who.accountId)));
  await recordAudit(s, who, { action: "webhook.updated", target: id, detail: { ...patch } }, now);
  return getEndpoint(s, who, id);
}

/** Removes the endpoint (only of `kind`, when given) with its deliveries and their attempts, in one write. */
export async function deleteEndpoint(s: Services, who: Who, input: { id: string; kind?: EndpointKind }): Promise<void> {
  const { id } = input;
  const endpoint = await endpointRow(s, who, id, input.kind);
  await s.db.$client.batch(
    [
      { sql: "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)", args: [id] },
      { sql: "DELETE FROM webhook_deliveries WHERE endpoint_id = ?", args: [id] },
      { sql: "DELETE FROM webhook_endpoints WHERE id = ? AND account_id = ?", args: [id, who.accountId] },
    ],
    "write",
  );
  await recordAudit(s, who, { action: "webhook.deleted", target: id, detail: { url: endpoint.url, kind: endpoint.kind } });
}

/** A new secret at once: deliveries from now on are signed with it only. */
export async function rotateSecret(s: Services, who: Who, id: string, now = Date.now()): Promise<{ secret: string }> {
  await endpointRow(s, who, id);
  const secret = newWebhookSecret();
  const sealed = await sealWebhookSecret(await vaultOf(s), who.accountId, id, secret);
  await s.db.update(webhookEndpoints).set({ secret: sealed, updatedAt: now }).where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, who.accountId)));
  await recordAudit(s, who, { action: "webhook.secret_rotated", target: id }, now);
  return { secret };
}

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
export async function sendTestEvent(s: Services, who: Who, id: string, now = Date.now()): Promise<DeliveryAccepted> {
  const { accountId } = who;
  const endpoint = await endpointRow(s, who, id);
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
      {
        sql: `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
              VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?5)`,
        args: [deliveryId, accountId, id, eventId, now],
      },
    ],
    "write",
  );
  await handOver(s, deliveryId, 0);
  return { delivery_id: deliveryId };
}
