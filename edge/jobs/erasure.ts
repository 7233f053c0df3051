// Erasure's part in the jobs (issue 25, docs/data-protection.md): one address out of every job of
// an account. An answered address is its job_emails row (a find job's row is the person's, found
// by the address its answer names), its repeats' rows (job_rows, by the same key: they hold the
// user's cells, issue 26) and its item in the batches that carried it; batches keep their
// items after they are done, so those go too. An address still waiting in a running job is dropped
// from its open batch and counted as answered `unknown` (its credit comes back when the job
// settles), so the job still ends; a probe's late answer for it finds no item and is not written.
// The job's counters stay: they are aggregates and name nobody. Each job is one atomic write, so
// a chunk of results arriving meanwhile sees the address either wholly there or wholly gone.
// Work for `who`'s account, done by the erasure service (edge/privacy/erasure.ts).
import type { InStatement } from "@libsql/client/web";
import type { EdgeDb } from "../db.ts";
import type { Effects } from "../effects.ts";
import { complete, countAnswers } from "./lifecycle.ts";
import { jobProgress, readJobStatement, viewRow } from "./view.ts";

export interface JobsErased {
  /** job_emails rows removed. */
  results: number;
  /** Addresses still waiting in a running job, dropped (and counted unknown). */
  unanswered: number;
  /** The jobs that held the address (their hubs forget it). */
  jobIds: string[];
  effects: Effects[];
}

/** A batch item is `[key, email, rowIndex, row, person?]` (core/ingest.ts BatchItem), so its JSON text starts with this. */
const itemNeedle = (key: string) => `[${JSON.stringify(key)},`;

/** The batch's items but those whose key is in the JSON array `keys` (SQLite keeps json_each's order). */
const DROP_ITEMS = (keys: string) => `(SELECT json_group_array(json(i.value)) FROM json_each(batch_items.items) i WHERE i.value ->> 0 NOT IN (SELECT value FROM json_each(${keys})))`;
const HAS_ITEMS = (keys: string) => `EXISTS (SELECT 1 FROM json_each(batch_items.items) i WHERE i.value ->> 0 IN (SELECT value FROM json_each(${keys})))`;

interface Hit {
  jobId: string;
  /** The row's key: the address, or a find job's person. */
  key: string;
  batchId: string | null;
  round: number | null;
}

/** Removes the address (its key, core/address.ts addressKey) from every job of the account. */
export async function eraseFromJobs(db: EdgeDb, accountId: string, address: string, now: number): Promise<JobsErased> {
  const [answered, waiting] = await db.$client.batch(
    [
      {
        // Verify jobs by the row's key (the primary key, per job); find jobs by the address found.
        sql: `SELECT e.job_id, e.normalized AS key, e.batch_id, b.round FROM jobs j JOIN job_emails e ON e.job_id = j.id AND e.normalized = ?2
                LEFT JOIN batches b ON b.id = e.batch_id
              WHERE j.account_id = ?1 AND j.kind = 'verify'
              UNION ALL
              SELECT e.job_id, e.normalized, e.batch_id, b.round FROM jobs j JOIN job_emails e ON e.job_id = j.id
                LEFT JOIN batches b ON b.id = e.batch_id
              WHERE j.account_id = ?1 AND j.kind = 'find' AND lower(e.result ->> '$.email') = ?2`,
        args: [accountId, address],
      },
      {
        // Running jobs' open batches still holding it (a text search first: no JSON is parsed for the rest).
        sql: `SELECT b.id, b.job_id FROM jobs j JOIN batches b ON b.job_id = j.id AND b.status IN ('pending', 'dispatched') JOIN batch_items bi ON bi.batch_id = b.id
              WHERE j.account_id = ?1 AND j.kind = 'verify' AND j.status IN ('queued', 'running') AND instr(bi.items, ?2) > 0`,
        args: [accountId, itemNeedle(address)],
      },
    ],
    "read",
  );
  const hits: Hit[] = answered!.rows.map((r) => ({ jobId: String(r.job_id), key: String(r.key), batchId: r.batch_id === null ? null : String(r.batch_id), round: r.round === null ? null : Number(r.round) }));
  const open = new Map<string, string[]>();
  for (const r of waiting!.rows) open.set(String(r.job_id), [...(open.get(String(r.job_id)) ?? []), String(r.id)]);
  const jobIds = [...new Set([...hits.map((h) => h.jobId), ...open.keys()])];

  const erased: JobsErased = { results: 0, unanswered: 0, jobIds, effects: [] };
  for (const jobId of jobIds) {
    const mine = hits.filter((h) => h.jobId === jobId);
    const keys = mine.length > 0 ? mine.map((h) => h.key) : [address];
    const done = await eraseFromJob(db, jobId, keys, open.get(jobId) ?? [], await carriers(db, jobId, mine), now);
    erased.results += done.results;
    erased.unanswered += done.unanswered;
    erased.effects.push(done.effects);
  }
  return erased;
}

/**
 * The batches that carried answered rows: the one that answered, and, when that was a re-queue
 * (round > 0), the earlier rounds' batches holding the item (a re-queue copies it).
 */
async function carriers(db: EdgeDb, jobId: string, hits: Hit[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const h of hits) {
    if (h.batchId !== null) ids.add(h.batchId);
    if (h.round !== null && h.round > 0) {
      const { rows } = await db.$client.execute({
        sql: "SELECT b.id FROM batches b JOIN batch_items bi ON bi.batch_id = b.id WHERE b.job_id = ? AND b.round < ? AND instr(bi.items, ?) > 0",
        args: [jobId, h.round, itemNeedle(h.key)],
      });
      for (const r of rows) ids.add(String(r.id));
    }
  }
  return [...ids];
}

/** One job's write: the waiting item dropped and counted, the rows deleted, every carrier rewritten, the job completed if that was its last address. */
async function eraseFromJob(db: EdgeDb, jobId: string, keys: string[], openIds: string[], carrierIds: string[], now: number): Promise<{ results: number; unanswered: number; effects: Effects }> {
  const waiting: InStatement[] = [];
  const ending = openIds.length > 0 ? complete(jobId, now) : null;
  if (openIds.length > 0) {
    waiting.push(
      {
        // Only while unanswered: an answered address is counted already.
        sql: `UPDATE batch_items SET items = ${DROP_ITEMS("?3")}
              WHERE batch_id IN (SELECT value FROM json_each(?1)) AND ${HAS_ITEMS("?3")}
                AND NOT EXISTS (SELECT 1 FROM job_emails e WHERE e.job_id = ?2 AND e.normalized IN (SELECT value FROM json_each(?3)))`,
        args: [JSON.stringify(openIds), jobId, JSON.stringify(keys)],
      },
      countAnswers(jobId, "unknown", null),
    );
  }
  const rest: InStatement[] = [
    { sql: "DELETE FROM job_emails WHERE job_id = ?1 AND normalized IN (SELECT value FROM json_each(?2))", args: [jobId, JSON.stringify(keys)] },
    { sql: "DELETE FROM job_rows WHERE job_id = ?1 AND normalized IN (SELECT value FROM json_each(?2))", args: [jobId, JSON.stringify(keys)] },
    {
      sql: `UPDATE batch_items SET items = ${DROP_ITEMS("?2")} WHERE batch_id IN (SELECT value FROM json_each(?1)) AND ${HAS_ITEMS("?2")}`,
      args: [JSON.stringify([...openIds, ...carrierIds]), JSON.stringify(keys)],
    },
    {
      // A pending batch left empty has nothing to send; a dispatched one closes with its probe's final chunk.
      sql: `UPDATE batches SET status = 'done', updated_at = ?2
            WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'pending' AND (SELECT json_array_length(items) FROM batch_items WHERE batch_id = batches.id) = 0`,
      args: [JSON.stringify(openIds), now],
    },
  ];
  const statements = [...waiting, ...rest, ...(ending?.statements ?? []), readJobStatement(jobId)];
  const results = await db.$client.batch(statements, "write");
  const unanswered = openIds.length > 0 ? results[0]!.rowsAffected : 0;
  const removed = results[waiting.length]!.rowsAffected;
  const ended = ending?.read(results.slice(waiting.length + rest.length, -1)) ?? { moved: false, effects: {} };
  const row = results.at(-1)!.rows[0];
  return { results: removed, unanswered, effects: { ...ended.effects, ...(unanswered > 0 && row ? { hub: { job: jobProgress(viewRow(row)), latest: [] } } : {}) } };
}
