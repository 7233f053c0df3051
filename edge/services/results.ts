// Applying a probe's result chunk: each address's result is written once (the first final answer
// wins), and the job's counters move by exactly what changed, in the same transaction, so a chunk
// delivered twice (QStash or outbox retries) changes nothing.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { ResultChunk } from "../../core/contracts.ts";
import type { JobProgress } from "../../core/live.ts";
import { VERDICTS, type Verdict } from "../../core/verdict.ts";
import { jobEmails, jobs } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";

export interface AppliedChunk {
  /** Results that were new; 0 for a repeated chunk. */
  applied: number;
  job: JobProgress | null;
}

export async function applyResultChunk(db: EdgeDb, accountId: string, chunk: ResultChunk, now = Date.now()): Promise<AppliedChunk> {
  return db.transaction(async (tx) => {
    const [job] = await tx.select().from(jobs).where(and(eq(jobs.id, chunk.job_id), eq(jobs.accountId, accountId)));
    if (!job) return { applied: 0, job: null };
    const added: Record<Verdict, number> = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
    let applied = 0;
    for (const r of chunk.results) {
      const key = r.normalized ?? r.email.toLowerCase();
      const changed = await tx
        .update(jobEmails)
        .set({ verdict: r.verdict, reason: r.reason, result: JSON.stringify(r), updatedAt: now })
        .where(and(eq(jobEmails.jobId, chunk.job_id), eq(jobEmails.normalized, key), isNull(jobEmails.verdict)))
        .returning({ verdict: jobEmails.verdict });
      if (changed.length === 0) continue; // already answered, or not part of this job
      added[r.verdict]++;
      applied++;
    }
    if (applied > 0) {
      await tx
        .update(jobs)
        .set({
          processed: sql`${jobs.processed} + ${applied}`,
          deliverable: sql`${jobs.deliverable} + ${added.deliverable}`,
          undeliverable: sql`${jobs.undeliverable} + ${added.undeliverable}`,
          risky: sql`${jobs.risky} + ${added.risky}`,
          unknown: sql`${jobs.unknown} + ${added.unknown}`,
          status: sql`case when ${jobs.processed} + ${applied} >= ${jobs.unique} then 'completed' else 'running' end`,
          finishedAt: sql`case when ${jobs.processed} + ${applied} >= ${jobs.unique} then ${now} else ${jobs.finishedAt} end`,
        })
        .where(eq(jobs.id, chunk.job_id));
    }
    const [after] = await tx.select().from(jobs).where(eq(jobs.id, chunk.job_id));
    const counts = Object.fromEntries(VERDICTS.map((v) => [v, after![v]])) as Record<Verdict, number>;
    return {
      applied,
      job: { id: after!.id, status: after!.status, total: after!.total, unique: after!.unique, processed: after!.processed, counts },
    };
  });
}
