// Applying a probe's result chunk, in one round trip: a `batch` of conditional statements that
// sqld runs as one transaction, so SQLite's write lock is held for the statements' own time and
// never across the network (docs/decisions/004-write-path.md). Each address's answer is written
// once, keyed by (job, address): the first final answer wins, and the job's counters move by
// exactly the rows inserted (changes() of the insert before them), so a chunk delivered twice
// (outbox retries, a batch leased to a second probe) changes nothing. A greylisted answer before
// the last round is provisional: nothing is written, and the batch's final chunk re-queues it.
// A find batch's answers (chunk.finds, a job of kind `find`) take the same path, keyed by person.
// The job's counters and status move through its lifecycle (edge/jobs/lifecycle.ts). The write
// returns what must follow it (effects) for its caller to hand to afterCommit; it takes the
// database, not services, so bench/writepath measures it bare.
import type { InStatement, ResultSet } from "@libsql/client/web";
import type { FindAnswer, Result, ResultChunk } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { LATEST_RESULTS, type BatchWaiting, type JobProgress, type LatestRow } from "../../core/live.ts";
import { unansweredResult } from "../../core/result.ts";
import type { Verdict } from "../../core/verdict.ts";
import type { EdgeDb } from "../db.ts";
import type { Effects } from "../effects.ts";
import { complete, countAnswers } from "./lifecycle.ts";
import { jobProgress, readJobStatement, viewRow } from "./view.ts";

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
  /** The hub's update, dispatch when a probe has room again, the webhook event of a job that ended. */
  effects: Effects;
}

/** The batch's items as rows (key, email, row_index, row), parsed by SQLite from its JSON. */
const items = (condition = "true") => `items AS MATERIALIZED (
  SELECT i.value ->> 0 AS key, i.value ->> 1 AS email, i.value ->> 2 AS row_index, i.value ->> 3 AS row, i.value AS item
  FROM batches b JOIN batch_items bi ON bi.batch_id = b.id, json_each(bi.items) i WHERE b.id = ?1 AND b.job_id = ?2 AND ${condition})`;

const INSERT_ANSWER = "INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at)";

type Tagged = { step: "answer" | "giveup" | "requeue" | "done" | "complete" | "job" | "other"; stmt: InStatement };

/**
 * Step 1: first answers, one insert per verdict present, each followed by its counter move. A
 * greylisted answer counts only in the batch's last round; before that the address is re-queued.
 * Before the deliverable insert, the patterns of the finds it will insert are learned.
 */
function recordAnswers(chunk: ResultChunk, now: number): Tagged[] {
  const groups = new Map<string, { verdict: Verdict; provisional: boolean; rows: [string, string, string][] }>();
  const add = (key: string, answer: Result | FindAnswer) => {
    const provisional = answer.reason === "greylisted";
    const id = `${answer.verdict}:${provisional}`;
    const group = groups.get(id) ?? { verdict: answer.verdict, provisional, rows: [] };
    const { trace: _trace, ...stored } = answer;
    group.rows.push([key, answer.reason, JSON.stringify(stored)]);
    groups.set(id, group);
  };
  for (const r of chunk.results) add(r.normalized ?? r.email.toLowerCase(), r);
  for (const { key, ...answer } of chunk.finds ?? []) add(key, answer);
  return [...groups.values()].flatMap(({ verdict, provisional, rows }) => [
    ...(verdict === "deliverable" ? learnPatterns(chunk, now) : []),
    {
      step: "answer" as const,
      stmt: {
        // Only addresses of this batch (the join), and only first answers (the primary key).
        sql: `WITH ${items(provisional ? `b.round >= ${MAX_GREYLIST_ROUNDS}` : "true")},
                   answers AS MATERIALIZED (SELECT a.value ->> 0 AS key, a.value ->> 1 AS reason, a.value ->> 2 AS result FROM json_each(?3) a)
              ${INSERT_ANSWER}
              SELECT ?2, items.key, items.email, items.row_index, items.row, ?1, ?4, answers.reason, answers.result, ?5
              FROM answers JOIN items ON items.key = answers.key WHERE true
              ON CONFLICT DO NOTHING`,
        args: [chunk.batch_id, chunk.job_id, JSON.stringify(rows), verdict, now],
      },
    },
    // Credited to the poster's minute too, by the jobs_probe_minutes trigger.
    { step: "other" as const, stmt: countAnswers(chunk.job_id, verdict, { probeId: chunk.probe_id, minute: Math.floor(now / 60_000) }) },
  ]);
}

/**
 * A domain's address pattern counts once per person found deliverable on a domain that is not
 * catch-all (edge/finder/domainpatterns.ts). Run just before the deliverable insert, in the same
 * transaction, it counts exactly the finds that insert will write (of this batch, not answered
 * yet), so a repeated chunk teaches nothing twice.
 */
function learnPatterns(chunk: ResultChunk, now: number): Tagged[] {
  const learned = (chunk.finds ?? []).flatMap((f) =>
    f.verdict === "deliverable" && f.catch_all === false && f.pattern && f.email ? [[f.key, f.email.slice(f.email.lastIndexOf("@") + 1).toLowerCase(), f.pattern]] : [],
  );
  if (learned.length === 0) return [];
  return [
    {
      step: "other",
      stmt: {
        sql: `WITH ${items()},
                   found AS MATERIALIZED (SELECT DISTINCT f.value ->> 0 AS key, f.value ->> 1 AS domain, f.value ->> 2 AS pattern FROM json_each(?3) f)
              INSERT INTO domain_patterns (domain, pattern, count, updated_at)
              SELECT found.domain, found.pattern, count(*), ?4
              FROM found JOIN items ON items.key = found.key
              WHERE NOT EXISTS (SELECT 1 FROM job_emails e WHERE e.job_id = ?2 AND e.normalized = found.key)
              GROUP BY found.domain, found.pattern
              ON CONFLICT (domain, pattern) DO UPDATE SET count = domain_patterns.count + excluded.count, updated_at = excluded.updated_at`,
        args: [chunk.batch_id, chunk.job_id, JSON.stringify(learned), now],
      },
    },
  ];
}

/** Step 2: remember the latest retry time greylisting asked for, for the re-queue at the final chunk. */
function noteGreylistRetry(chunk: ResultChunk, now: number): Tagged[] {
  const at = latestGreylistRetry(chunk, now);
  if (at === 0) return [];
  return [{ step: "other", stmt: { sql: "UPDATE batches SET not_before = ?1 WHERE id = ?2 AND not_before < ?1", args: [at, chunk.batch_id] } }];
}

/**
 * Step 3, at a batch's final chunk and only while it is still dispatched: what is unanswered goes
 * back in the queue as a new batch, or, once the lineage was dispatched MAX_DISPATCH_ATTEMPTS
 * times, becomes an honest "unknown" so the job can end. Then the batch is done.
 */
function closeBatch(chunk: ResultChunk, now: number, requeueId: string): Tagged[] {
  const open = `b.status = 'dispatched'`;
  const giveUp = unansweredResult();
  // A person (an item with a fifth element) gets a find's answer: no address, and why.
  const giveUpFind: FindAnswer = { email: null, verdict: giveUp.verdict, reason: giveUp.reason, confidence: 0, pattern: null, catch_all: null, candidates: [], duration_ms: 0 };
  return [
    {
      step: "giveup",
      stmt: {
        sql: `WITH ${items(`${open} AND b.attempts >= ${MAX_DISPATCH_ATTEMPTS}`)}
              ${INSERT_ANSWER}
              SELECT ?2, items.key, items.email, items.row_index, items.row, ?1, ?3, ?4,
                CASE WHEN json_array_length(items.item) > 4 THEN ?7 ELSE json_set(?5, '$.email', items.email, '$.normalized', items.key) END, ?6
              FROM items WHERE true
              ON CONFLICT DO NOTHING`,
        args: [chunk.batch_id, chunk.job_id, giveUp.verdict, giveUp.reason, JSON.stringify(giveUp), now, JSON.stringify(giveUpFind)],
      },
    },
    { step: "other", stmt: countAnswers(chunk.job_id, giveUp.verdict, null) },
    {
      step: "requeue",
      stmt: {
        // Greylisted addresses wait for the server's retry time; anything the probe never answered
        // goes straight back. The lineage's dispatches count toward MAX_DISPATCH_ATTEMPTS.
        sql: `WITH ${items(`${open} AND b.attempts < ${MAX_DISPATCH_ATTEMPTS}`)}
              INSERT INTO batches (id, job_id, account_id, status, size, round, not_before, probe_id, attempts, created_at, updated_at)
              SELECT ?3, b.job_id, b.account_id, 'pending', count(*), b.round + 1, max(?4, b.not_before), b.probe_id, b.attempts, ?4, ?4
              FROM batches b, items
              WHERE b.id = ?1 AND NOT EXISTS (SELECT 1 FROM job_emails e WHERE e.job_id = ?2 AND e.normalized = items.key)
              GROUP BY b.id HAVING count(*) > 0
              RETURNING size, not_before`,
        args: [chunk.batch_id, chunk.job_id, requeueId, now],
      },
    },
    {
      step: "other",
      stmt: {
        // The re-queued batch's addresses, only if the insert above made it (changes() = 1).
        sql: `WITH ${items(`${open} AND b.attempts < ${MAX_DISPATCH_ATTEMPTS}`)}
              INSERT INTO batch_items (batch_id, items)
              SELECT ?3, json_group_array(json(items.item)) FROM items
              WHERE changes() = 1 AND NOT EXISTS (SELECT 1 FROM job_emails e WHERE e.job_id = ?2 AND e.normalized = items.key)
              GROUP BY 1`, // one group when there is anything to re-queue, none (no row) otherwise
        args: [chunk.batch_id, chunk.job_id, requeueId],
      },
    },
    {
      step: "done",
      stmt: { sql: "UPDATE batches SET status = 'done', updated_at = ?1, lease_expires_at = NULL WHERE id = ?2 AND status = 'dispatched'", args: [now, chunk.batch_id] },
    },
  ];
}

/** Runs the chunk's steps, then step 4 (the job completes when every unique address has its answer: lifecycle `complete`) and the job's read, as one batch (one round trip, one transaction inside the database), and reads the outcome. */
async function runSteps(db: EdgeDb, jobId: string, steps: Tagged[], now: number, latest: LatestRow[], tail: (requeued: { size: number; notBefore: number } | null, batchDone: boolean) => BatchWaiting[]): Promise<AppliedChunk> {
  const ending = complete(jobId, now);
  const all: Tagged[] = [...steps, ...ending.statements.map((stmt) => ({ step: "complete" as const, stmt })), { step: "job", stmt: readJobStatement(jobId) }];
  const results = await db.$client.batch(all.map((s) => s.stmt), "write");
  const of = (step: Tagged["step"]): ResultSet[] => results.filter((_, i) => all[i]!.step === step);
  const sum = (rs: ResultSet[]) => rs.reduce((n, r) => n + r.rowsAffected, 0);
  const row = of("job")[0]?.rows[0];
  const job = row ? jobProgress(viewRow(row)) : null;
  const applied = sum(of("answer")) + sum(of("giveup"));
  const { moved: finished, effects } = ending.read(of("complete"));
  const batchDone = sum(of("done")) > 0;
  const requeue = of("requeue")[0]?.rows[0];
  const requeued = Number(requeue?.size ?? 0);
  const waiting = job ? tail(requeue ? { size: requeued, notBefore: Number(requeue.not_before) } : null, batchDone) : [];
  return {
    applied,
    job,
    finished,
    batchDone,
    requeued,
    effects: {
      ...effects,
      hub: job && (applied > 0 || finished) ? { job, latest } : undefined,
      tail: waiting.length > 0 ? { jobId, batches: waiting } : undefined,
      dispatch: batchDone,
    },
  };
}

export async function applyResultChunk(db: EdgeDb, chunk: ResultChunk, now = Date.now()): Promise<AppliedChunk> {
  // What goes live: the chunk's results, and its finds as stored (without the person's key or the SMTP trace).
  const finds = (chunk.finds ?? []).slice(-LATEST_RESULTS).map(({ key: _key, trace: _trace, ...answer }) => answer);
  const latest: LatestRow[] = [...chunk.results.slice(-LATEST_RESULTS), ...finds];
  // A probe's word on its tail alone (no answers, not the end) writes nothing: the hub hears it.
  if (!chunk.final && chunk.results.length === 0 && finds.length === 0) {
    const tail = chunk.waiting ? { jobId: chunk.job_id, batches: [{ batch_id: chunk.batch_id, seq: chunk.seq, waiting: chunk.waiting }] } : undefined;
    return { applied: 0, job: null, finished: false, batchDone: false, requeued: 0, effects: { tail } };
  }
  const requeueId = newId("bat");
  const steps = [...recordAnswers(chunk, now), ...noteGreylistRetry(chunk, now), ...(chunk.final ? closeBatch(chunk, now, requeueId) : [])];
  return runSteps(db, chunk.job_id, steps, now, latest, (requeued, batchDone) => tailOf(chunk, now, requeueId, requeued, batchDone));
}

/**
 * What the job's hub learns of the batch's tail (issue 26): the probe's summary while it runs;
 * at its end, nothing more for it, and the re-queued addresses that wait for their not-before
 * time (greylisting's retry) under the new batch's id until its probe says more.
 */
function tailOf(chunk: ResultChunk, now: number, requeueId: string, requeued: { size: number; notBefore: number } | null, batchDone: boolean): BatchWaiting[] {
  if (!chunk.final) return chunk.waiting ? [{ batch_id: chunk.batch_id, seq: chunk.seq, waiting: chunk.waiting }] : [];
  if (!batchDone) return []; // a repeated final chunk: told already
  const ended: BatchWaiting = { batch_id: chunk.batch_id, seq: chunk.seq, waiting: null };
  if (!requeued || requeued.notBefore <= now) return [ended];
  return [ended, { batch_id: requeueId, seq: -1, waiting: { greylisted: { count: requeued.size, next_try_at: new Date(requeued.notBefore).toISOString() } } }];
}

/** The latest retry time the server asked for among greylisted answers (a default wait when it named none, as for finds); 0 when none. */
function latestGreylistRetry(chunk: ResultChunk, now: number): number {
  let at = 0;
  for (const r of chunk.results) {
    if (r.reason !== "greylisted") continue;
    const t = r.retry_after ? Date.parse(r.retry_after) : Number.NaN;
    at = Math.max(at, Number.isFinite(t) ? t : now + GREYLIST_RETRY_MS);
  }
  if (chunk.finds?.some((f) => f.reason === "greylisted")) at = Math.max(at, now + GREYLIST_RETRY_MS);
  return at;
}
