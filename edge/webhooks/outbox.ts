// The outbox (issue 12): an event is written in the same write as what it tells of (a trigger on
// jobs.status; an insert after a single check or a decision-maker search), then fanned out to one
// delivery per subscribed endpoint. A delivery's id is its `webhook-id`, the same on every attempt.
import { and, eq, sql } from "drizzle-orm";
import type { Result } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { DmEnriched } from "../../core/samples.ts";
import { campaigns, jobs, webhookEvents } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import type { JobView } from "../../core/contracts.ts";
import { campaignView } from "../campaigns/views.ts";
import { jobView, type JobRow } from "../jobs/view.ts";
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

/** The endpoints `w` an event goes to: enabled ones of its account (?1), made before it (?2), subscribed to its type (?3). */
const SUBSCRIBED = "w.account_id = ?1 AND w.enabled = 1 AND w.created_at <= ?2 AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = ?3)";

/**
 * Turns written events into deliveries, one per endpoint subscribed to the event. A job event's
 * data is the job's API view, a campaign event's the campaign's, filled here. Runs after each terminal write and in the sweeper;
 * the unique (event, endpoint) makes a second run insert nothing, so each delivery is handed over
 * once. Returns the deliveries made.
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
    if (data === null && event.subjectId && event.type.startsWith("campaign.")) {
      const [campaign] = await s.db.select().from(campaigns).where(and(eq(campaigns.id, event.subjectId), eq(campaigns.accountId, event.accountId)));
      if (campaign) data = JSON.stringify(campaignView(campaign));
    }
    const subscription = [event.accountId, event.createdAt, event.type];
    // Nothing to send when the subject is gone (a job purged before its fan-out).
    const targets = data === null ? [] : (await s.db.$client.execute({ sql: `SELECT w.id FROM webhook_endpoints w WHERE ${SUBSCRIBED}`, args: subscription })).rows;
    // Delivery ids come from newId like every id; the insert checks the subscription again, so an
    // endpoint turned off or deleted since the read gets none.
    const ids = JSON.stringify(Object.fromEntries(targets.map((t) => [String(t.id), newId("dlv")])));
    const [, inserted] = await s.db.$client.batch(
      [
        { sql: "UPDATE webhook_events SET data = coalesce(data, ?1), fanned_out_at = ?2 WHERE id = ?3", args: [data, now, event.id] },
        ...(targets.length === 0
          ? []
          : [
              {
                sql: `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
                      SELECT d.value, w.account_id, w.id, ?4, 'pending', ?5, ?5, ?5
                      FROM webhook_endpoints w JOIN json_each(?6) d ON d.key = w.id
                      WHERE ${SUBSCRIBED}
                      ON CONFLICT DO NOTHING
                      RETURNING id`,
                args: [...subscription, event.id, now, ids],
              },
            ]),
      ],
      "write",
    );
    for (const row of inserted?.rows ?? []) {
      made++;
      await handOver(s, String(row.id), 0);
    }
  }
  return made;
}
