// Purging deleted jobs: their rows go in small steps, each holding the write lock briefly. Work for
// nobody in particular (the job is already gone for its owner): `(services)` or `(services, jobId)`.
import { isNotNull } from "drizzle-orm";
import { jobs } from "../../db/schema.ts";
import type { Services } from "../context.ts";

/** Rows removed per statement when a deleted job is purged: each step holds the write lock briefly. */
export const PURGE_ROWS = 5_000;

export async function purgeJob(s: Services, jobId: string): Promise<void> {
  const { db } = s;
  // The newest results its live hub keeps for a page's first paint go first (issue 25).
  await s.hub(jobId).forget(null);
  // Its answered rows, then its repeated and rejected rows (issue 26).
  for (const table of ["job_emails", "job_rows"]) {
    for (;;) {
      const step = await db.$client.execute({ sql: `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE job_id = ? LIMIT ?)`, args: [jobId, PURGE_ROWS] });
      if (step.rowsAffected < PURGE_ROWS) break;
    }
  }
  await db.$client.batch(
    [
      { sql: "DELETE FROM batch_items WHERE batch_id IN (SELECT id FROM batches WHERE job_id = ?)", args: [jobId] },
      { sql: "DELETE FROM batches WHERE job_id = ?", args: [jobId] },
      { sql: "DELETE FROM jobs WHERE id = ? AND deleted_at IS NOT NULL", args: [jobId] },
    ],
    "write",
  );
}

/** The sweeper's part: purges of deleted jobs that a request did not finish. Returns how many jobs. */
export async function purgeDeletedJobs(s: Services): Promise<number> {
  const deleted = await s.db.select({ id: jobs.id }).from(jobs).where(isNotNull(jobs.deletedAt)).limit(10);
  for (const { id } of deleted) await purgeJob(s, id);
  return deleted.length;
}
