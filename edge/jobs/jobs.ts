// A job for its owner: read one, list them, cancel one, delete one. Acts for someone:
// `(services, who, input)`; every read and write is scoped by who.accountId.
import { and, desc, eq, isNull } from "drizzle-orm";
import type { JobView } from "../../core/contracts.ts";
import { isTerminal } from "../../core/live.ts";
import { jobs } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import type { Services, Who } from "../context.ts";
import { afterCommit } from "../aftercommit.ts";
import { recordAudit } from "../audit/audit.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { cancel, writeParts } from "./lifecycle.ts";
import { purgeJob } from "./purge.ts";
import { jobProgress, jobView, readJobStatement, viewRow, type JobRow } from "./view.ts";

export async function getJob(s: Services, who: Who, jobId: string): Promise<JobRow> {
  const [job] = await s.db.select().from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.accountId, who.accountId), isNull(jobs.deletedAt)));
  // Another account's job is "not found" too: ids are never confirmed across tenants.
  if (!job) throw new ServiceError("not_found", `No job ${jobId}`);
  return job;
}

/** Newest first; the cursor is the last job's `created_at` and id. */
export async function listJobs(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /job_\w+/);
  const rows = await s.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.accountId, who.accountId), isNull(jobs.deletedAt), afterCursor(jobs.createdAt, jobs.id, after)))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, jobView);
}

/** Stops dispatch; results already in keep counting; unused credits come back. One write. */
export async function cancelJob(s: Services, who: Who, jobId: string): Promise<JobView> {
  const job = await getJob(s, who, jobId);
  if (job.status === "canceled") return jobView(job);
  if (job.status === "completed" || job.status === "failed") throw new ServiceError("conflict", `Job ${jobId} already ${job.status}`);
  const canceling = cancel(jobId, who.accountId, Date.now());
  const [canceled, [read]] = await writeParts(s.db, [canceling.statements, [readJobStatement(jobId)]]);
  const after = viewRow(read!.rows[0]!); // finished meanwhile, or canceled now
  const { moved, effects } = canceling.read(canceled);
  if (moved) {
    await recordAudit(s, who, { action: "job.canceled", target: jobId });
    afterCommit(s, { ...effects, hub: { job: jobProgress(after), latest: [] } });
  }
  return jobView(after);
}

/**
 * Removes a finished job: it disappears at once (one statement), and its results are purged in
 * small steps after the answer (edge/jobs/purge.ts), so a million-row list never holds the write
 * lock for seconds. The credit ledger keeps its entries. The sweeper finishes any purge cut short.
 */
export async function deleteJob(s: Services, who: Who, jobId: string): Promise<void> {
  const job = await getJob(s, who, jobId);
  if (!isTerminal(job.status)) throw new ServiceError("conflict", `Job ${jobId} is ${job.status}; cancel it first`);
  await s.db.update(jobs).set({ deletedAt: Date.now() }).where(and(eq(jobs.id, jobId), eq(jobs.accountId, who.accountId), isNull(jobs.deletedAt)));
  await recordAudit(s, who, { action: "job.deleted", target: jobId, detail: { name: job.name } });
  s.waitUntil(purgeJob(s, jobId));
}
