// The write path's options, measured side by side on one sqld (docs/decisions/004-write-path.md):
//   interactive  the design we replaced: an interactive transaction per chunk (BEGIN, read and
//                parse the batch's items in the client, insert, move counters, COMMIT), so the
//                write lock is held across four network round trips;
//   batch        what runs now: edge/jobs/results.ts applyResultChunk, one `batch` request of
//                conditional statements (the lock is held only while sqld runs them);
//   coalesced    one writer per job coalescing 8 chunks into one write, approximated by the same
//                code with 8× larger chunks (the Durable Object hop it needs is not counted).
// Each option applies the same results (chunks of 100 from batches of 1,000) with 8 writers at
// once, as 8 probes posting would, while a reader polls the job row as the API does.
//   npm run bench:writepath [-- --addresses 100000 --writers 8]
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Client } from "@libsql/client/web";
import type { Result, ResultChunk } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { migrateDb } from "../../db/migrate.ts";
import { startSqld } from "../../db/sqld.ts";
import { createEdgeDb, type EdgeDb } from "../../edge/db.ts";
import { applyResultChunk } from "../../edge/jobs/results.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const { values } = parseArgs({ options: { addresses: { type: "string", default: "100000" }, writers: { type: "string", default: "8" } } });
const N = Number(values.addresses);
const WRITERS = Number(values.writers);
const BATCH = 1_000;
const CHUNK = 100;

const sqld = await startSqld({ dataDir: scratchDir("bench-writepath") });
await migrateDb(sqld.url);
const db = createEdgeDb({ TURSO_DATABASE_URL: sqld.url });

function answer(email: string): Result {
  return {
    email, normalized: email, verdict: "undeliverable", reason: "domain_not_found", catch_all: null, disposable: false, role: false, free: false,
    greylisted: false, suggestion: null, score: 0, mx: null, smtp: null, duration_ms: 3, retry_after: null,
  };
}

/** A fresh job of N addresses in dispatched batches; returns its chunks, in the order probes would send them. */
async function seedJob(chunkSize: number): Promise<{ jobId: string; chunks: ResultChunk[] }> {
  const accountId = newId("acc");
  const jobId = newId("job");
  await db.$client.batch([
    { sql: "INSERT INTO accounts (id, name, kind, credit_balance) VALUES (?, 'bench', 'personal', 0)", args: [accountId] },
    { sql: "INSERT INTO jobs (id, account_id, name, status, total, unique_count, credits_reserved) VALUES (?, ?, 'bench', 'running', ?, ?, ?)", args: [jobId, accountId, N, N, N] },
  ]);
  const chunks: ResultChunk[] = [];
  for (let b = 0; b < N / BATCH; b++) {
    const batchId = newId("bat");
    const items: BatchItem[] = Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      return [`user${n}@d${n % 500}.invalid`, `user${n}@d${n % 500}.invalid`, n, JSON.stringify([`User ${n}`, `user${n}@d${n % 500}.invalid`, "x"])];
    });
    await db.$client.batch([
      { sql: "INSERT INTO batches (id, job_id, account_id, status, size, attempts) VALUES (?, ?, ?, 'dispatched', ?, 1)", args: [batchId, jobId, accountId, BATCH] },
      { sql: "INSERT INTO batch_items (batch_id, items) VALUES (?, ?)", args: [batchId, JSON.stringify(items)] },
    ]);
    for (let i = 0; i < BATCH; i += chunkSize) {
      chunks.push({ probe_id: "prb_bench", batch_id: batchId, job_id: jobId, seq: i / chunkSize, final: i + chunkSize >= BATCH, results: items.slice(i, i + chunkSize).map((it) => answer(it[1])) });
    }
  }
  return { jobId, chunks };
}

/** The replaced design, kept only to be measured against: an interactive transaction per chunk. */
async function applyInteractive(client: Client, chunk: ResultChunk): Promise<void> {
  const tx = await client.transaction("write");
  try {
    const got = await tx.execute({ sql: "SELECT items FROM batches JOIN batch_items ON batch_id = id WHERE id = ? AND job_id = ?", args: [chunk.batch_id, chunk.job_id] });
    const items = new Map((JSON.parse(String(got.rows[0]!.items)) as BatchItem[]).map((i) => [i[0], i]));
    const rows = chunk.results.flatMap((r) => {
      const item = items.get(r.normalized!);
      return item ? [[chunk.job_id, item[0], item[1], item[2], item[3], chunk.batch_id, r.verdict, r.reason, JSON.stringify(r), Date.now()]] : [];
    });
    const inserted = await tx.execute({
      sql: `INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at) VALUES ${rows.map(() => "(?,?,?,?,?,?,?,?,?,?)").join(",")} ON CONFLICT DO NOTHING`,
      args: rows.flat(),
    });
    await tx.execute({ sql: "UPDATE jobs SET processed = processed + ?, undeliverable = undeliverable + ? WHERE id = ?", args: [inserted.rowsAffected, inserted.rowsAffected, chunk.job_id] });
    if (chunk.final) await tx.execute({ sql: "UPDATE batches SET status = 'done' WHERE id = ?", args: [chunk.batch_id] });
    await tx.commit();
  } finally {
    tx.close();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

let busy = 0;
const LOCK_ERRORS = /SQLITE_BUSY|database is locked|Transaction timed out|TRANSACTION_TIMEOUT/;
// The replaced design's transactions also die of sqld's transaction timeout inside the client's
// stream, where no caller awaits them: counted, like the errors a caller sees.
process.on("unhandledRejection", (e) => {
  if (!LOCK_ERRORS.test(String(e))) throw e;
  busy++;
});
/** What the replaced design met under concurrent writers (a 500 to the probe, which retried). */
async function retryBusy(work: () => Promise<unknown>): Promise<void> {
  for (;;) {
    try {
      await work();
      return;
    } catch (e) {
      if (!LOCK_ERRORS.test(String(e))) throw e;
      busy++;
    }
  }
}

async function measure(name: string, chunkSize: number, apply: (db: EdgeDb, c: ResultChunk) => Promise<unknown>) {
  busy = 0;
  const { jobId, chunks } = await seedJob(chunkSize);
  const latencies: number[] = [];
  const reads: number[] = [];
  let next = 0;
  let done = false;
  const reader = (async () => {
    while (!done) {
      const t = performance.now();
      await db.$client.execute({ sql: "SELECT * FROM jobs WHERE id = ?", args: [jobId] });
      reads.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20)); // an API client polling
    }
  })();
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = next++; i < chunks.length; i = next++) {
          const t = performance.now();
          await retryBusy(() => apply(db, chunks[i]!));
          latencies.push(performance.now() - t);
        }
      }),
    );
  } finally {
    done = true;
    await reader;
  }
  const seconds = (performance.now() - started) / 1000;
  const job = (await db.$client.execute({ sql: "SELECT processed FROM jobs WHERE id = ?", args: [jobId] })).rows[0]!;
  if (Number(job.processed) !== N) throw new Error(`${name}: processed ${job.processed} of ${N}`);
  return { name, perS: N / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99), readP99: pct(reads, 99), busy };
}

try {
  const rows = [
    await measure("interactive (replaced)", CHUNK, (_db, c) => applyInteractive(db.$client, c)),
    await measure("batch (chosen)", CHUNK, (d, c) => applyResultChunk(d, c)),
    await measure("coalesced x8 (one writer per job)", CHUNK * 8, (d, c) => applyResultChunk(d, c)),
  ];
  console.log(`write path: ${N} results, chunks of ${CHUNK} from batches of ${BATCH}, ${WRITERS} writers at once, one sqld\n`);
  console.log("busy errors: lock or transaction-timeout errors a writer met and retried (the batch path's own waits are inside edge/db.ts)\n");
  console.log(`${"".padEnd(36)}${"results/s".padStart(11)}${"write p50".padStart(11)}${"write p99".padStart(11)}${"read p99".padStart(11)}${"busy errors".padStart(13)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(36)}${Math.round(r.perS).toString().padStart(11)}${`${r.p50.toFixed(1)} ms`.padStart(11)}${`${r.p99.toFixed(1)} ms`.padStart(11)}${`${r.readP99.toFixed(1)} ms`.padStart(11)}${String(r.busy).padStart(13)}`);
  }
  console.log(`\nbatch vs interactive: ${(rows[1]!.perS / rows[0]!.perS).toFixed(1)}x the results per second`);
} finally {
  await sqld.stop();
}
