// Applying a probe's result chunk. Each address's answer is written once, keyed by (job,
// address): the first final answer wins, and the job's counters move by exactly the rows
// inserted, in the same transaction, so a chunk delivered twice (outbox retries, a batch leased
// to a second probe) changes nothing. A greylisted answer before the last round is provisional:
// nothing is written, and the batch's final chunk re-queues those addresses with a delay.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Result, ResultChunk } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { BatchItem } from "../../core/ingest.ts";
import type { JobProgress } from "../../core/live.ts";
import { decide, VERDICTS, type Verdict } from "../../core/verdict.ts";
import { batches, jobEmails, jobs } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { meter } from "../meter.ts";

/** Re-queues of greylisted addresses before a greylisted answer is taken as final (unknown). */
export const MAX_GREYLIST_ROUNDS = 2;
/** Dispatches of one batch (and its re-queues) before what is left is answered "unknown". */
export const MAX_DISPATCH_ATTEMPTS = 5;
/** When the server named no time, ask again after this long. */
export const GREYLIST_RETRY_MS = 5 * 60_000;

export interface AppliedChunk {
  /** Results that were new; 0 for a repeated chunk. */
  applied: number;
  job: JobProgress | null;
  /** The job reached a terminal status with this chunk. */
  finished: boolean;
  /** The batch's final chunk arrived (its probe has room again). */
  batchDone: boolean;
  requeued: number;
}

const INSERT_ROWS = 400;

export async function applyResultChunk(db: EdgeDb, chunk: ResultChunk, now = Date.now()): Promise<AppliedChunk> {
  return db.transaction(async (tx) => {
    const none: AppliedChunk = { applied: 0, job: null, finished: false, batchDone: false, requeued: 0 };
    const [batch] = await tx.select().from(batches).where(and(eq(batches.id, chunk.batch_id), eq(batches.jobId, chunk.job_id)));
    if (!batch) return none;
    const items = new Map((JSON.parse(batch.items) as BatchItem[]).map((item) => [item[0], item]));
    const lastRound = batch.round >= MAX_GREYLIST_ROUNDS;
    const answers: [BatchItem, Result][] = [];
    for (const r of chunk.results) {
      const item = items.get(r.normalized ?? r.email.toLowerCase());
      if (!item) continue; // not an address of this batch: ignored
      if (r.reason === "greylisted" && !lastRound) continue; // provisional; re-queued below
      answers.push([item, r]);
    }
    const added: Record<Verdict, number> = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
    // Inserts first answers only (the primary key decides) and counts what was new, by verdict.
    const insertAnswers = async (list: [BatchItem, Result][]) => {
      let n = 0;
      for (let i = 0; i < list.length; i += INSERT_ROWS) {
        const rows = list.slice(i, i + INSERT_ROWS).map(([item, r]) => {
          const { trace: _trace, ...stored } = r;
          return {
            jobId: chunk.job_id, normalized: item[0], email: item[1], rowIndex: item[2], row: item[3], batchId: batch.id,
            verdict: r.verdict, reason: r.reason, result: JSON.stringify(stored), createdAt: now,
          };
        });
        const inserted = await tx.insert(jobEmails).values(rows).onConflictDoNothing().returning({ verdict: jobEmails.verdict });
        for (const row of inserted) added[row.verdict]++;
        n += inserted.length;
      }
      meter.dbRowsWritten += n;
      return n;
    };
    let applied = await insertAnswers(answers);

    // Remember the latest retry time greylisting asked for, for the re-queue at the final chunk.
    let notBefore = batch.notBefore;
    const greyAt = latestGreylistRetry(chunk.results, now);
    if (greyAt > notBefore) {
      notBefore = greyAt;
      await tx.update(batches).set({ notBefore }).where(eq(batches.id, batch.id));
    }

    let requeued = 0;
    let batchDone = false;
    if (chunk.final && batch.status === "dispatched") {
      batchDone = true;
      const keys = [...items.keys()];
      const answered = new Set<string>();
      for (let i = 0; i < keys.length; i += INSERT_ROWS) {
        const got = await tx
          .select({ key: jobEmails.normalized })
          .from(jobEmails)
          .where(and(eq(jobEmails.jobId, chunk.job_id), inArray(jobEmails.normalized, keys.slice(i, i + INSERT_ROWS))));
        for (const g of got) answered.add(g.key);
      }
      let left = [...items.values()].filter((item) => !answered.has(item[0]));
      if (left.length > 0 && batch.attempts >= MAX_DISPATCH_ATTEMPTS) {
        // Asked often enough: what no probe answered is an honest "unknown", and the job can end.
        applied += await insertAnswers(left.map((item) => [item, unfinishedResult(item)]));
        left = [];
      }
      if (left.length > 0) {
        // Greylisted addresses wait for the server's retry time; anything the probe never
        // answered goes straight back in the queue.
        await tx.insert(batches).values({
          id: newId("bat"), jobId: batch.jobId, accountId: batch.accountId, status: "pending", size: left.length,
          items: JSON.stringify(left), round: batch.round + 1, notBefore: Math.max(now, notBefore), probeId: batch.probeId,
          attempts: batch.attempts, // the lineage's dispatches count toward MAX_DISPATCH_ATTEMPTS
        });
        requeued = left.length;
      }
      await tx.update(batches).set({ status: "done", updatedAt: now, leaseExpiresAt: null }).where(eq(batches.id, batch.id));
      meter.dbRowsWritten += left.length > 0 ? 2 : 1;
    }

    if (applied > 0) {
      const running = sql`${jobs.status} in ('queued', 'running')`;
      const complete = sql`${jobs.processed} + ${applied} >= ${jobs.unique}`;
      await tx
        .update(jobs)
        .set({
          processed: sql`${jobs.processed} + ${applied}`,
          deliverable: sql`${jobs.deliverable} + ${added.deliverable}`,
          undeliverable: sql`${jobs.undeliverable} + ${added.undeliverable}`,
          risky: sql`${jobs.risky} + ${added.risky}`,
          unknown: sql`${jobs.unknown} + ${added.unknown}`,
          // A canceled job keeps its status: late answers are stored, but it stays canceled.
          status: sql`case when ${running} and ${complete} then 'completed' when ${running} then 'running' else ${jobs.status} end`,
          finishedAt: sql`case when ${running} and ${complete} then ${now} else ${jobs.finishedAt} end`,
        })
        .where(eq(jobs.id, chunk.job_id));
      meter.dbRowsWritten++;
    }
    const [after] = await tx.select().from(jobs).where(eq(jobs.id, chunk.job_id));
    if (!after) return none;
    const counts = Object.fromEntries(VERDICTS.map((v) => [v, after[v]])) as Record<Verdict, number>;
    return {
      applied,
      finished: applied > 0 && after.status === "completed" && after.finishedAt === now,
      batchDone,
      requeued,
      job: { id: after.id, status: after.status, total: after.total, unique: after.unique, processed: after.processed, counts },
    };
  });
}

/** The latest retry time the server asked for among greylisted answers (a default wait when it named none); 0 when none. */
function latestGreylistRetry(results: Result[], now: number): number {
  let at = 0;
  for (const r of results) {
    if (r.reason !== "greylisted") continue;
    const t = r.retry_after ? Date.parse(r.retry_after) : Number.NaN;
    at = Math.max(at, Number.isFinite(t) ? t : now + GREYLIST_RETRY_MS);
  }
  return at;
}

/** The answer for an address no probe finished: we could not tell. */
function unfinishedResult(item: BatchItem): Result {
  const d = decide({
    syntax: { ok: true }, disposable: false, role: false, free: false, dns: { kind: "mx", hosts: [] },
    smtp: { kind: "timeout", mx: null, phase: "dispatch" }, catchAll: null,
  });
  return {
    email: item[1], normalized: item[0], verdict: d.verdict, reason: d.reason, catch_all: null, disposable: false, role: false,
    free: false, greylisted: false, suggestion: null, score: d.score, mx: null, smtp: null, duration_ms: 0, retry_after: null,
  };
}
