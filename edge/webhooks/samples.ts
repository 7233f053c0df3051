// What Zapier shows while a zap is set up (GET /api/v1/hooks/samples, its `performList`).
import { and, desc, eq, sql } from "drizzle-orm";
import { SAMPLE_CAMPAIGN, SAMPLE_DM_ENRICHED, SAMPLE_JOB, SAMPLE_RECIPIENT_BOUNCED, SAMPLE_RECIPIENT_COMPLAINED, SAMPLE_RECIPIENT_UNSUBSCRIBED, SAMPLE_RESULT } from "../../core/samples.ts";
import type { WebhookEventType } from "../../core/enums.ts";
import { campaigns, jobs, webhookEvents } from "../../db/schema.ts";
import { campaignView } from "../campaigns/views.ts";
import type { Services, Who } from "../context.ts";
import { jobEventData } from "./outbox.ts";

type JobEventType = "job.completed" | "job.failed" | "job.canceled";

/** The sample of each event whose recent real objects are its events' data (not rows of a table). */
const EVENT_SAMPLES: Record<Exclude<WebhookEventType, JobEventType>, unknown> = {
  "verification.completed": SAMPLE_RESULT,
  "dm.enriched": SAMPLE_DM_ENRICHED,
  "campaign.completed": SAMPLE_CAMPAIGN,
  "recipient.unsubscribed": SAMPLE_RECIPIENT_UNSUBSCRIBED,
  "recipient.bounced": SAMPLE_RECIPIENT_BOUNCED,
  "recipient.complained": SAMPLE_RECIPIENT_COMPLAINED,
};

const isJobEvent = (type: WebhookEventType): type is JobEventType => type.startsWith("job.");

/**
 * What Zapier shows while a zap is set up: the account's 3 most recent real objects for the event
 * (finished jobs of that status, completed campaigns; the data of its other events already written),
 * else one sample.
 */
export async function hookSamples(s: Services, who: Who, type: WebhookEventType): Promise<unknown[]> {
  const { accountId } = who;
  if (type === "campaign.completed") {
    const rows = await s.db
      .select()
      .from(campaigns)
      .where(and(eq(campaigns.accountId, accountId), eq(campaigns.status, "completed")))
      .orderBy(desc(campaigns.finishedAt))
      .limit(3);
    return rows.length > 0 ? rows.map(campaignView) : [SAMPLE_CAMPAIGN];
  }
  if (!isJobEvent(type)) {
    const rows = await s.db
      .select({ data: webhookEvents.data })
      .from(webhookEvents)
      .where(and(eq(webhookEvents.accountId, accountId), eq(webhookEvents.type, type), sql`${webhookEvents.data} IS NOT NULL`))
      .orderBy(desc(webhookEvents.createdAt))
      .limit(3);
    if (rows.length > 0) return rows.map((r) => JSON.parse(r.data!) as unknown);
    return [EVENT_SAMPLES[type]];
  }
  const status = type.slice("job.".length) as "completed" | "failed" | "canceled";
  const rows = await s.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.accountId, accountId), eq(jobs.status, status), sql`${jobs.deletedAt} IS NULL`))
    .orderBy(desc(jobs.createdAt))
    .limit(3);
  return rows.length > 0 ? rows.map(jobEventData) : [{ ...SAMPLE_JOB, status }];
}
