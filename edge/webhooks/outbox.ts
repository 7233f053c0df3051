// The outbox (issue 12): an event is written in the same write as what it tells of (a trigger on
// jobs.status; an insert after a single check or a decision-maker search), then fanned out to one
// delivery per subscribed endpoint. A delivery's id is its `webhook-id`, the same on every attempt.
import { and, eq, sql } from "drizzle-orm";
import type { Result } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { DmEnriched } from "../../core/samples.ts";
import { jobs, webhookEvents } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import { jobView, type JobRow, type JobView } from "../jobs/jobs.ts";
import { handOver } from "./delivery.ts";

/** A job event's data: the job as `GET /api/v1/jobs/{id}` answers it. */
export const jobEventData = (job: JobRow): JobView => jobView(job);

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
      if (job) data = JSON.stringify(jobEventData(job));
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
