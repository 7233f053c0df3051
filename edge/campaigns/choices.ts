// What the new-campaign flow offers before a campaign exists (the app's /campaigns/new): the
// account's lists a campaign may send to, and what one of them would send. Read only; the jobs,
// job_emails and suppressions tables are read here, never written. `(services, who, input)`.
import { and, desc, eq, isNull } from "drizzle-orm";
import type { JobView } from "../../core/contracts.ts";
import { jobs } from "../../db/schema.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { jobView } from "../jobs/view.ts";

/** The account's completed verification lists, newest first: what a campaign may name as its job. */
export async function sendableJobs(s: Services, who: Who, limit = 50): Promise<JobView[]> {
  const rows = await s.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.accountId, who.accountId), eq(jobs.kind, "verify"), eq(jobs.status, "completed"), isNull(jobs.deletedAt)))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit);
  return rows.map(jobView);
}

export interface AudienceEstimate {
  /** Recipients if the campaign began now: the sendable addresses not suppressed. */
  audience: number;
  /** Sendable addresses on the account's suppression list. */
  suppressed: number;
  /** Addresses not sent to, by verdict (risky only without include_risky). */
  skipped: { undeliverable: number; unknown: number; risky: number };
}

/**
 * What a campaign on the job would send to, counted as its audience will be
 * (edge/campaigns/audience.ts): deliverable (and risky with includeRisky) addresses less the
 * suppressed ones. An estimate: the suppression list may change before sending begins. The
 * suppressed ones are found from the suppression list's side (an account's list is far shorter
 * than a big job).
 */
export async function audienceEstimate(s: Services, who: Who, input: { jobId: string; includeRisky: boolean }): Promise<AudienceEstimate> {
  const [job] = await s.db.select().from(jobs).where(and(eq(jobs.id, input.jobId), eq(jobs.accountId, who.accountId), isNull(jobs.deletedAt)));
  if (!job) throw new ServiceError("not_found", `No job ${input.jobId}`);
  const counts = jobView(job).counts;
  const sendable = input.includeRisky ? "('deliverable', 'risky')" : "('deliverable')";
  const { rows } = await s.db.$client.execute({
    sql: `SELECT count(*) AS n FROM suppressions x JOIN job_emails e ON e.job_id = ?1 AND e.normalized = x.email
          WHERE x.account_id = ?2 AND e.verdict IN ${sendable}`,
    args: [job.id, who.accountId],
  });
  const suppressed = Number(rows[0]!.n);
  return {
    audience: Math.max(0, counts.deliverable + (input.includeRisky ? counts.risky : 0) - suppressed),
    suppressed,
    skipped: { undeliverable: counts.undeliverable, unknown: counts.unknown, risky: input.includeRisky ? 0 : counts.risky },
  };
}
