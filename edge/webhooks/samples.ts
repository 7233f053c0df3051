// What Zapier shows while a zap is set up (GET /api/v1/hooks/samples, its `performList`).
import { and, desc, eq, sql } from "drizzle-orm";
import { SAMPLE_CAMPAIGN, SAMPLE_DM_ENRICHED, SAMPLE_JOB, SAMPLE_RESULT } from "../../core/samples.ts";
import type { WebhookEventType } from "../../core/enums.ts";
import { campaigns, jobs, webhookEvents } from "../../db/schema.ts";
import { campaignView } from "../campaigns/views.ts";
import type { Services, Who } from "../context.ts";
import { jobEventData } from "./outbox.ts";

/**
 * What Zapier shows while a zap is set up: the account's 3 most recent real objects for the event
 * (finished jobs of that status, completed campaigns; the data of recent verification or dm.enriched
 * events), else one sample.
 */
export async function hookSamples(s: Services, who: Who, type: WebhookEventType): Promise<unknown[]> {
  const { accountId } = who;
  if (type === "verification.completed" || type === "dm.enriched") {
    const rows = await s.db
      .select({ data: webhookEvents.data })
      .from(webhookEvents)
      .where(and(eq(webhookEvents.accountId, accountId), eq(webhookEvents.type, type), sql`${webhookEvents.data} IS NOT NULL`))
      .orderBy(desc(webhookEvents.createdAt))
      .limit(3);
    if (rows.length > 0) return rows.map((r) => JSON.parse(r.data!) as unknown);
    return [type === "dm.enriched" ? SAMPLE_DM_ENRICHED : SAMPLE_RESULT];
  }
  if (type === "campaign.completed") {
    const rows = await s.db
      .select()
      .from(campaigns)
      .where(and(eq(campaigns.accountId, accountId), eq(campaigns.status, "completed")))
      .orderBy(desc(campaigns.finishedAt))
      .limit(3);
    return rows.length > 0 ? rows.map(campaignView) : [SAMPLE_CAMPAIGN];
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
