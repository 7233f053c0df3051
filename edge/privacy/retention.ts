// Retention (issue 25, docs/data-protection.md): how long an account keeps the results of its
// lists, and the sweeper's part that gives up what is older. The setting is the account's
// (accounts.retention_days: 7, 30 or 90 days, or null, until the job is deleted), changed by its
// owners and admins (and API keys, which only they make) and audited. What goes, per account with
// a setting, each sweep, in bounded steps:
//   - jobs that ended more than N days ago: marked expired (their results are refused at once,
//     `results_expired`, and the job's live hub forgets them), then purged a step at a time, the
//     summary kept (edge/jobs/expiry.ts); their finished campaigns' recipients keep their rows but
//     their addresses become tombstones (edge/campaigns/privacy.ts);
//   - bounces older than N days, soft-bounce scores past both N and the reset days (edge/bounces/privacy.ts);
//   - webhook events older than N days, when N is under the outbox's own 30 (edge/webhooks/privacy.ts).
// The setting acts for someone: `(services, who, input)`; the sweep is for nobody: `(services, now)`.
import { eq } from "drizzle-orm";
import { accounts } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import { purgeExpiredBounces } from "../bounces/privacy.ts";
import { maskRecipientsStep, RECIPIENT_MASK_STEP } from "../campaigns/privacy.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { expireJobs, finishPurge, purgeResultsStep, purgingJobs } from "../jobs/expiry.ts";
import { purgeExpiredEvents } from "../webhooks/privacy.ts";

/** The days an account may keep results; null (not listed) keeps them until the job is deleted. */
export const RETENTION_DAYS = [7, 30, 90] as const;
export type RetentionDays = (typeof RETENTION_DAYS)[number] | null;

/** Purge writes per sweep (each a short DELETE or UPDATE): a million-row job goes over a few dozen sweeps, never in one long write. */
export const RETENTION_STEPS_PER_SWEEP = 20;
/** Expired jobs a sweep works on at most. */
const PURGING_JOBS_PER_SWEEP = 5;

export interface RetentionSetting {
  retention_days: RetentionDays;
}

export async function getRetention(s: Pick<Services, "db">, who: Who): Promise<RetentionSetting> {
  const [row] = await s.db.select({ days: accounts.retentionDays }).from(accounts).where(eq(accounts.id, who.accountId));
  if (!row) throw new ServiceError("not_found", "No such account");
  return { retention_days: row.days as RetentionDays };
}

/** Sets how long results are kept; audited with what it was. Shorter than before takes effect at the next sweep, for every job already ended. */
export async function updateRetention(s: Pick<Services, "db" | "request">, who: Who, input: { retention_days: number | null }, now = Date.now()): Promise<RetentionSetting> {
  const days = input.retention_days;
  if (days !== null && !(RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new ServiceError("validation_failed", `retention_days: one of ${RETENTION_DAYS.join(", ")}, or null to keep results until a job is deleted`);
  }
  const before = await getRetention(s, who);
  const [after] = await s.db.update(accounts).set({ retentionDays: days }).where(eq(accounts.id, who.accountId)).returning({ days: accounts.retentionDays });
  if (!after) throw new ServiceError("not_found", "No such account");
  await recordAudit(s, who, { action: "retention.updated", target: who.accountId, detail: { before: before.retention_days, after: after.days } }, now);
  return { retention_days: after.days as RetentionDays };
}

/** What one sweep gave up (the sweeper logs it when anything moved). */
export interface RetentionSweep {
  /** Jobs whose retention ran out in this sweep. */
  expiredJobs: number;
  /** Batches' item lists, answered rows and batch rows removed. */
  purgedItems: number;
  purgedResults: number;
  purgedBatches: number;
  /** Finished campaigns' recipients whose address became its tombstone. */
  maskedRecipients: number;
  /** Expired jobs whose purge ended in this sweep. */
  purgedJobs: number;
  purgedBounces: number;
  purgedScores: number;
  purgedEvents: number;
}

export const movedAnything = (r: RetentionSweep) => Object.values(r).some((n) => n > 0);

/** The sweeper's part: at most `steps` purge writes, plus one mark and three account-wide statements. */
export async function sweepRetention(s: Pick<Services, "db" | "hub">, now = Date.now(), steps = RETENTION_STEPS_PER_SWEEP): Promise<RetentionSweep> {
  const { db } = s;
  const out: RetentionSweep = { expiredJobs: 0, purgedItems: 0, purgedResults: 0, purgedBatches: 0, maskedRecipients: 0, purgedJobs: 0, purgedBounces: 0, purgedScores: 0, purgedEvents: 0 };
  const expired = await expireJobs(db, now);
  out.expiredJobs = expired.length;
  // The newest results a job's hub keeps for its page's first paint go with the rest.
  await Promise.all(expired.map((id) => s.hub(id).forget(null).catch((e: unknown) => console.log(JSON.stringify({ msg: "job hub did not forget", job: id, error: String(e) })))));

  let left = steps;
  for (const jobId of await purgingJobs(db, PURGING_JOBS_PER_SWEEP)) {
    let resultsGone = false;
    while (left > 0 && !resultsGone) {
      left--;
      const step = await purgeResultsStep(db, jobId);
      out.purgedItems += step.items;
      out.purgedResults += step.results;
      out.purgedBatches += step.batches;
      resultsGone = step.done;
    }
    let recipientsGone = false;
    while (left > 0 && resultsGone && !recipientsGone) {
      left--;
      const found = await maskRecipientsStep(db, jobId, now);
      out.maskedRecipients += found;
      recipientsGone = found < RECIPIENT_MASK_STEP;
    }
    if (!recipientsGone) break; // out of steps: the next sweep goes on where this one stopped
    await finishPurge(db, jobId, now);
    out.purgedJobs++;
  }

  const bounces = await purgeExpiredBounces(db, now);
  out.purgedBounces = bounces.bounces;
  out.purgedScores = bounces.soft_bounce_scores;
  out.purgedEvents = await purgeExpiredEvents(db, now);
  return out;
}
