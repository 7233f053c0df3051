// The job's lifecycle: every write of jobs.status is one function here.
//
//   create ─► ingesting ─queue─► queued ─start─► running ─complete─► completed
//                 │ └─queue (every address was answered at ingest)──► completed
//                 ├─fail (its upload lost its request)──► failed
//                 └─cancel (so may queued and running)──► canceled
//
// Each function gives the statements for its caller's write, which runs them in one `batch` (one
// round trip, one transaction inside the database, no lock held across a network call), and reads
// what they did from their results. A move into completed, failed or canceled writes, right after
// the status, the job's webhook event (the outbox row `job.<status>`, only for an account with an
// enabled endpoint for that type; edge/webhooks fans it out) and settles the job's credits
// (edge/credits), so every path that ends a job tells it and refunds once. What must follow the
// commit comes back as effects (edge/effects.ts) for the caller to hand to afterCommit.
//
// The chaining is by changes(): the event's insert and the settlement read what the status change
// before them did, so nothing may run between a transition's statements.
import type { InStatement, ResultSet } from "@libsql/client/web";
import { newId } from "../../core/ids.ts";
import type { JobKind, JobStatus } from "../../core/enums.ts";
import type { FileAccount, RejectCounts } from "../../core/contracts.ts";
import type { Verdict } from "../../core/verdict.ts";
import type { EdgeDb } from "../db.ts";
import type { Effects } from "../effects.ts";
import { settleStatements } from "../credits/credits.ts";

/** A transition's part of a write: its statements, in order, and what they did. */
export interface Transition {
  statements: InStatement[];
  /** From the results of `statements` (same positions): whether the job moved, and what follows. */
  read(results: ResultSet[]): { moved: boolean; effects: Effects };
}

/** Statuses a job leaves only by ending. */
const UNFINISHED: readonly JobStatus[] = ["ingesting", "queued", "running"];
const sqlList = (statuses: readonly JobStatus[]) => statuses.map((s) => `'${s}'`).join(", ");

/**
 * The outbox row of a job that just ended: only when the status change before it moved the job
 * (changes() > 0) into a terminal status, and only for an account with an enabled endpoint for
 * that event. Its id is the delivery key (`msg_…`): each endpoint gets it once, retries included.
 */
const recordEvent = (jobId: string, now: number): InStatement => ({
  sql: `INSERT INTO webhook_events (id, account_id, type, subject_id, created_at)
        SELECT ?1, j.account_id, 'job.' || j.status, j.id, ?3 FROM jobs j
        WHERE j.id = ?2 AND changes() > 0 AND j.status IN ('completed', 'failed', 'canceled')
          AND EXISTS (SELECT 1 FROM webhook_endpoints w, json_each(w.events) e WHERE w.account_id = j.account_id AND w.enabled = 1 AND e.value = 'job.' || j.status)`,
  args: [newId("msg"), jobId, now],
});

/** A status change, then its event (only if it ended the job now) and the credits' settlement (once per job, by its ledger key). */
function ending(jobId: string, move: InStatement, now: number, between: InStatement[] = [], effects: (moved: boolean) => Effects = () => ({})): Transition {
  return {
    statements: [move, recordEvent(jobId, now), ...between, ...settleStatements(jobId, now)],
    read: ([moved, told]) => {
      const did = moved!.rowsAffected > 0;
      return { moved: did, effects: { ...effects(did), webhooks: told!.rowsAffected > 0 } };
    },
  };
}

/** A new job, ingesting until its upload is read. */
export function create(job: { id: string; accountId: string; name: string; kind: JobKind }): InStatement {
  return { sql: "INSERT INTO jobs (id, account_id, name, kind, status) VALUES (?, ?, ?, ?, 'ingesting')", args: [job.id, job.accountId, job.name, job.kind] };
}

/** What an ingest read, written with its job's move out of ingesting. */
export interface Ingested {
  total: number;
  unique: number;
  /** Addresses answered at ingest (bad syntax): processed and undeliverable already. */
  answered: number;
  header: string[] | null;
  /** The email column's header (null: none, or a people list). */
  column: string | null;
  rejects: RejectCounts;
  /** An archive's files or a workbook's sheets, each accounted for; null for a single list. */
  files: FileAccount[] | null;
}

/**
 * ingesting → queued, or → completed when ingest answered every address. Runs only when the
 * statement just before it changed a row (the credits' reservation took them), so a job is never
 * queued unpaid. Like the code before this module, it also moves a job canceled or failed while its
 * upload streamed: an upload's end always reserves, and the job must carry what it reserved. (When
 * such a job is completed here, it tells job.completed; the trigger this replaced told nothing.)
 */
export function queue(jobId: string, ingest: Ingested, now: number): Transition {
  const done = ingest.unique === ingest.answered;
  const move: InStatement = {
    sql: `UPDATE jobs SET status = ?, total = ?, unique_count = ?, processed = ?, undeliverable = ?, columns = ?, email_column = ?,
            rejects = ?, files = ?, credits_reserved = ?, finished_at = ?
          WHERE id = ? AND changes() = 1`,
    args: [done ? "completed" : "queued", ingest.total, ingest.unique, ingest.answered, ingest.answered, ingest.header ? JSON.stringify(ingest.header) : null,
      ingest.column, JSON.stringify(ingest.rejects), ingest.files ? JSON.stringify(ingest.files) : null, ingest.unique, done ? now : null, jobId],
  };
  return ending(jobId, move, now, [], (moved) => ({ dispatch: moved && !done }));
}

/** queued → running, for jobs whose batches a probe took (dispatch). */
export function start(jobIds: string[]): Transition {
  return {
    statements: [{ sql: "UPDATE jobs SET status = 'running' WHERE id IN (SELECT value FROM json_each(?)) AND status = 'queued'", args: [JSON.stringify(jobIds)] }],
    read: ([moved]) => ({ moved: moved!.rowsAffected > 0, effects: {} }),
  };
}

/**
 * The answers the statement before inserted move the job's counters (by changes(), so a repeated
 * chunk counts nothing), and a queued job starts (queued → running: answers may arrive before
 * dispatch wrote its own start). `by` names the probe whose answers they were (null: the edge's own,
 * e.g. given up) for the jobs_probe_minutes trigger (migration 0009), which meters them per probe.
 */
export function countAnswers(jobId: string, verdict: Verdict, by: { probeId: string; minute: number } | null): InStatement {
  return {
    sql: `UPDATE jobs SET processed = processed + changes(), ${verdict} = ${verdict} + changes(),
            counted_probe_id = ?2, counted_minute = ?3,
            status = CASE WHEN status = 'queued' THEN 'running' ELSE status END
          WHERE id = ?1 AND changes() > 0`,
    args: [jobId, by?.probeId ?? null, by?.minute ?? null],
  };
}

/** queued or running → completed, once every unique address has its answer (a canceled job stays canceled). */
export function complete(jobId: string, now: number): Transition {
  return ending(jobId, {
    sql: `UPDATE jobs SET status = 'completed', finished_at = ?1
          WHERE id = ?2 AND status IN ('queued', 'running') AND processed >= unique_count`,
    args: [now, jobId],
  }, now);
}

/**
 * → failed: the sweeper's answer to an upload that lost its request (`from`: ingesting). Such a
 * job reserved nothing, so its settlement refunds nothing.
 */
export function fail(jobId: string, now: number, from: readonly JobStatus[] = UNFINISHED): Transition {
  return ending(jobId, { sql: `UPDATE jobs SET status = 'failed', finished_at = ?1 WHERE id = ?2 AND status IN (${sqlList(from)})`, args: [now, jobId] }, now);
}

/** An unfinished job → canceled: its batches not yet answered are canceled too; unused credits come back. */
export function cancel(jobId: string, accountId: string, now: number): Transition {
  return ending(
    jobId,
    { sql: `UPDATE jobs SET status = 'canceled', finished_at = ?1 WHERE id = ?2 AND account_id = ?3 AND status IN (${sqlList(UNFINISHED)})`, args: [now, jobId, accountId] },
    now,
    [{ sql: "UPDATE batches SET status = 'canceled', updated_at = ?1 WHERE job_id = ?2 AND status IN ('pending', 'dispatched')", args: [now, jobId] }],
  );
}

/** Runs parts as one write (one `batch`); answers each part's results, in order. */
export async function writeParts<P extends InStatement[][]>(db: EdgeDb, parts: [...P]): Promise<{ [K in keyof P]: ResultSet[] }> {
  const results = await db.$client.batch(parts.flat(), "write");
  let at = 0;
  return parts.map((p) => results.slice(at, (at += p.length))) as { [K in keyof P]: ResultSet[] };
}
