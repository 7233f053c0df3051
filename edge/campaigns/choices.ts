// What the new-campaign flow offers before a campaign exists (the app's /campaigns/new): the
// account's lists a campaign may send to, and what one of them would send. Read only; the jobs,
// job_emails and suppressions tables (and the account's rules) are read here, never written.
// `(services, who, input)`.
import { and, desc, eq, isNull } from "drizzle-orm";
import type { JobView } from "../../core/contracts.ts";
import { campaignRules } from "../../core/rules.ts";
import { jobs } from "../../db/schema.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { jobView } from "../jobs/view.ts";
import { getRules } from "../rules/rules.ts";
import { safeToSendSql } from "../rules/sql.ts";

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
  /** Recipients if the campaign began now: the addresses safe to send, less the suppressed ones. */
  audience: number;
  /** Addresses safe to send that are on the account's suppression list. */
  suppressed: number;
  /**
   * Addresses not sent to: by verdict (risky only where neither include_risky nor the rules allow
   * it), and `rules`, those of a sendable verdict that another of the account's rules refuses.
   */
  skipped: { undeliverable: number; unknown: number; risky: number; rules: number };
}

/**
 * What a campaign on the job would send to, counted as its audience will be
 * (edge/campaigns/audience.ts): the addresses safe to send under the account's rules now (with
 * include_risky), less the suppressed ones. An estimate: the rules and the suppression list may
 * change before sending begins. The suppressed ones are found from the suppression list's side
 * (an account's list is far shorter than a big job).
 */
export async function audienceEstimate(s: Services, who: Who, input: { jobId: string; includeRisky: boolean }): Promise<AudienceEstimate> {
  const [[job], accountRules] = await Promise.all([
    s.db.select().from(jobs).where(and(eq(jobs.id, input.jobId), eq(jobs.accountId, who.accountId), isNull(jobs.deletedAt))),
    getRules(s, who),
  ]);
  if (!job) throw new ServiceError("not_found", `No job ${input.jobId}`);
  const counts = jobView(job).counts;
  const rules = campaignRules(accountRules, input.includeRisky);
  const safe = safeToSendSql(rules, "e");
  const [suppressedRows, safeRows] = await Promise.all([
    s.db.$client.execute({
      sql: `SELECT count(*) AS n FROM suppressions x JOIN job_emails e ON e.job_id = ?1 AND e.normalized = x.email WHERE x.account_id = ?2 AND ${safe}`,
      args: [job.id, who.accountId],
    }),
    // With the default rules, a count of the (job, verdict) index alone; other rules read each row of a sendable verdict.
    s.db.$client.execute({ sql: `SELECT count(*) AS n FROM job_emails e WHERE e.job_id = ?1 AND ${safe}`, args: [job.id] }),
  ]);
  const suppressed = Number(suppressedRows.rows[0]!.n);
  const safeCount = Number(safeRows.rows[0]!.n);
  const riskyAllowed = rules.risky === "allow";
  return {
    audience: Math.max(0, safeCount - suppressed),
    suppressed,
    skipped: {
      undeliverable: counts.undeliverable,
      unknown: counts.unknown,
      risky: riskyAllowed ? 0 : counts.risky,
      rules: Math.max(0, counts.deliverable + (riskyAllowed ? counts.risky : 0) - safeCount),
    },
  };
}
