// An endpoint's delivery log (each delivery with every attempt), and replaying one delivery.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { webhookAttempts, webhookDeliveries, webhookEvents } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import type { Services, Who } from "../context.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { handOver } from "./delivery.ts";
import { endpointRow } from "./endpoints.ts";
import { iso, type DeliveryAccepted, type DeliveryView } from "./views.ts";

/** The endpoint's delivery log, newest first, each delivery with its attempts. */
export async function listDeliveries(s: Services, who: Who, input: { endpointId: string; limit: number; cursor?: string | undefined }) {
  const { endpointId, limit } = input;
  await endpointRow(s, who, endpointId);
  const after = decodeCursor(input.cursor, /dlv_\w+/);
  const rows = await s.db
    .select({ delivery: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.accountId, who.accountId), afterCursor(webhookDeliveries.createdAt, webhookDeliveries.id, after)))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit + 1);
  const ids = rows.slice(0, limit).map((r) => r.delivery.id);
  const attempts = ids.length > 0 ? await s.db.select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, ids)).orderBy(webhookAttempts.attempt) : [];
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
export async function replayDelivery(s: Services, who: Who, input: { endpointId: string; deliveryId: string }, now = Date.now()): Promise<DeliveryAccepted> {
  const { endpointId, deliveryId } = input;
  const { accountId } = who;
  const endpoint = await endpointRow(s, who, endpointId);
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
