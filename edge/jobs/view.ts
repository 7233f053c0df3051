// A job's row as the API, the webhooks and the live messages show it: the one mapping from the
// jobs table to the job contract (core/contracts.ts JobSchema). Imports nothing of the edge, so
// every folder that shows a job can use it.
import type { InStatement, Row } from "@libsql/client/web";
import { getTableColumns } from "drizzle-orm";
import { noRejects, type FileAccount, type JobView, type RejectCounts } from "../../core/contracts.ts";
import type { JobProgress } from "../../core/live.ts";
import { jobs } from "../../db/schema.ts";

export type JobRow = typeof jobs.$inferSelect;

/** The fields a view is made of. */
const VIEW_FIELDS = ["id", "name", "kind", "status", "total", "unique", "processed", "deliverable", "undeliverable", "risky", "unknown", "rejects", "createdAt", "finishedAt", "resultsExpiredAt", "files"] as const;
export type JobViewRow = Pick<JobRow, (typeof VIEW_FIELDS)[number]>;

export function jobView(job: JobViewRow): JobView {
  return {
    id: job.id,
    name: job.name,
    kind: job.kind,
    status: job.status,
    total: job.total,
    unique: job.unique,
    processed: job.processed,
    counts: { deliverable: job.deliverable, undeliverable: job.undeliverable, risky: job.risky, unknown: job.unknown },
    progress: job.unique === 0 ? (job.status === "completed" ? 1 : 0) : Math.min(1, job.processed / job.unique),
    rejects: { ...noRejects(), ...(job.rejects ? (JSON.parse(job.rejects) as Partial<RejectCounts>) : {}) },
    created_at: new Date(job.createdAt).toISOString(),
    finished_at: job.finishedAt === null ? null : new Date(job.finishedAt).toISOString(),
    results_expired_at: job.resultsExpiredAt === null ? null : new Date(job.resultsExpiredAt).toISOString(),
    files: job.files ? (JSON.parse(job.files) as FileAccount[]) : null,
  };
}

/** The part of the view the live messages carry. */
export function jobProgress(job: JobViewRow): JobProgress {
  const { id, status, total, unique, processed, counts } = jobView(job);
  return { id, status, total, unique, processed, counts };
}

const columns = getTableColumns(jobs);
const SELECT_VIEW = `SELECT ${VIEW_FIELDS.map((f) => `"${columns[f].name}" AS "${f}"`).join(", ")} FROM jobs WHERE id = ?`;

/** Reads a job inside a write's `batch` (by id: the write already knows whose job it is); its row is `viewRow`'s. */
export const readJobStatement = (jobId: string): InStatement => ({ sql: SELECT_VIEW, args: [jobId] });

/** The row `readJobStatement` read: its columns are named as the fields (integers come as numbers). */
export const viewRow = (row: Row): JobViewRow => row as unknown as JobViewRow;
