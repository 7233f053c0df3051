// Retention of results (issue 25, docs/data-protection.md): an account that keeps results N days
// (accounts.retention_days) has each job's results given up N days after the job ended. The job
// stays, as its summary (name, kind, counts, rejects, dates, the file's column names): what users
// of such services expect ("results removed after 30 days"), and what the job page says. Its
// results go as a deleted job's do, in short steps: first the batches' items (so a probe's late
// answer finds nothing to write against), then the answered rows, then the repeated and rejected
// rows (job_rows, issue 26: they hold the user's cells), then the batches. The sweeper
// drives it (edge/privacy/retention.ts). Work for nobody in particular: `(db, …)`.
//
// Never expired: a job not ended (ingesting, queued, running: its end date is not known yet), a
// deleted one (its purge is under way already), and one a campaign is using (verifying,
// scheduled, sending or paused: its recipients come from the job's rows); that job's turn comes
// once its campaign ends. A draft campaign does not hold its job; it cannot start on expired results.
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";
import type { JobRow } from "./view.ts";

const DAY_MS = 86_400_000;

/** Jobs found expired per sweep; the next sweep finds the rest. */
export const EXPIRE_JOBS_PER_SWEEP = 100;
/** Batches whose items go per statement: each holds a batch's addresses and rows (up to MXRAY_BATCH_SIZE). */
export const PURGE_BATCH_ITEMS = 20;
/** Answered rows (and then job_rows) that go per statement, as a deleted job's (edge/jobs/purge.ts PURGE_ROWS). */
export const PURGE_RESULT_ROWS = 5_000;
/** Batch rows (ids and counters only) that go per statement. */
export const PURGE_BATCH_ROWS = 1_000;

/** A job whose results expired: its results are gone, or going (ServiceError `results_expired`). */
export function requireResults(job: Pick<JobRow, "id" | "resultsExpiredAt">): void {
  if (job.resultsExpiredAt !== null) {
    throw new ServiceError("results_expired", `Job ${job.id}'s results were removed on ${new Date(job.resultsExpiredAt).toISOString().slice(0, 10)}: the account keeps results for a set number of days (its retention setting)`);
  }
}

/** Marks up to `limit` jobs whose account's retention ran out: hidden from results at once, purged by the steps below. */
export async function expireJobs(db: EdgeDb, now: number, limit = EXPIRE_JOBS_PER_SWEEP): Promise<string[]> {
  const { rows } = await db.$client.execute({
    sql: `UPDATE jobs SET results_expired_at = ?1 WHERE id IN (
            SELECT j.id FROM accounts a JOIN jobs j ON j.account_id = a.id AND j.created_at < ?1 - a.retention_days * ${DAY_MS}
            WHERE a.retention_days IS NOT NULL AND j.results_expired_at IS NULL AND j.deleted_at IS NULL
              AND j.status IN ('completed', 'failed', 'canceled') AND coalesce(j.finished_at, j.created_at) < ?1 - a.retention_days * ${DAY_MS}
              AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.job_id = j.id AND c.status IN ('verifying', 'scheduled', 'sending', 'paused'))
            LIMIT ?2)
          RETURNING id`,
    args: [now, limit],
  });
  return rows.map((r) => String(r.id));
}

/** Expired jobs whose results are still going, oldest first (the jobs_results_purging index holds only those). */
export async function purgingJobs(db: EdgeDb, limit: number): Promise<string[]> {
  const { rows } = await db.$client.execute({
    sql: "SELECT id FROM jobs WHERE results_expired_at IS NOT NULL AND results_purged_at IS NULL ORDER BY results_expired_at LIMIT ?",
    args: [limit],
  });
  return rows.map((r) => String(r.id));
}

/** One short write of a purge: what it removed, and whether the job's results are all gone. */
export interface PurgeStep {
  items: number;
  /** Rows of the list: answered ones (job_emails), then repeats and rejects (job_rows). */
  results: number;
  batches: number;
  done: boolean;
}

/** The next step of an expired job's purge: one DELETE of its first part that still holds anything. */
export async function purgeResultsStep(db: EdgeDb, jobId: string): Promise<PurgeStep> {
  const items = await db.$client.execute({
    sql: "DELETE FROM batch_items WHERE batch_id IN (SELECT bi.batch_id FROM batches b JOIN batch_items bi ON bi.batch_id = b.id WHERE b.job_id = ? LIMIT ?)",
    args: [jobId, PURGE_BATCH_ITEMS],
  });
  if (items.rowsAffected > 0) return { items: items.rowsAffected, results: 0, batches: 0, done: false };
  const results = await db.$client.execute({
    sql: "DELETE FROM job_emails WHERE rowid IN (SELECT rowid FROM job_emails WHERE job_id = ? LIMIT ?)",
    args: [jobId, PURGE_RESULT_ROWS],
  });
  if (results.rowsAffected > 0) return { items: 0, results: results.rowsAffected, batches: 0, done: false };
  const rows = await db.$client.execute({
    sql: "DELETE FROM job_rows WHERE rowid IN (SELECT rowid FROM job_rows WHERE job_id = ? LIMIT ?)",
    args: [jobId, PURGE_RESULT_ROWS],
  });
  if (rows.rowsAffected > 0) return { items: 0, results: rows.rowsAffected, batches: 0, done: false };
  const batches = await db.$client.execute({
    sql: "DELETE FROM batches WHERE id IN (SELECT id FROM batches WHERE job_id = ? LIMIT ?)",
    args: [jobId, PURGE_BATCH_ROWS],
  });
  return { items: 0, results: 0, batches: batches.rowsAffected, done: batches.rowsAffected < PURGE_BATCH_ROWS };
}

/** The purge is over: nothing of the job names an address any more (its campaigns' recipients included, edge/campaigns/privacy.ts). */
export async function finishPurge(db: EdgeDb, jobId: string, now: number): Promise<void> {
  await db.$client.execute({ sql: "UPDATE jobs SET results_purged_at = ? WHERE id = ? AND results_purged_at IS NULL", args: [now, jobId] });
}
