// Soak benchmark: one big job through the local stack (e2e/soak.ts), from a streamed upload to
// `completed`, beside the ceiling: the same number of job_emails rows inserted straight into a
// fresh sqld by one process, one probe-chunk-sized insert per round trip. Stops by itself at
// --timeout-s and exits non-zero, with what it gathered, if the job did not complete cleanly.
// The list holds repeats and rows without an address too, and the full CSV export must give
// every one of its data rows back (rows out = rows in, issue 26).
//   npm run bench:soak [-- --addresses 1000000] [-- --world nxdomain|mixed] [-- --kind verify|find] [-- --timeout-s 1800] [-- --outage-s 30]
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Result } from "../../core/contracts.ts";
import { createDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { startSqld } from "../../db/sqld.ts";
import { accounts, jobEmails, jobs } from "../../db/schema.ts";
import { eq } from "drizzle-orm";
import { apiCall, formatSoak, runSoak, soakAddress, soakPassed, soakUpload, SOAK_WORLDS, startSoakStack, until, type SoakKind, type SoakWorld } from "../../e2e/soak.ts";
import type { Stack } from "../../e2e/stack.ts";
import { CHUNK_SIZE } from "../../probe/server.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const { values } = parseArgs({
  options: {
    addresses: { type: "string", default: "1000000" },
    world: { type: "string", default: "nxdomain" },
    kind: { type: "string", default: "verify" },
    "timeout-s": { type: "string", default: "1800" },
    "outage-s": { type: "string", default: "0" },
    "no-ceiling": { type: "boolean", default: false },
    "no-lifecycle": { type: "boolean", default: false },
  },
});
const N = Number(values.addresses);
const world = values.world as SoakWorld;
if (!SOAK_WORLDS.includes(world)) throw new Error(`--world is one of ${SOAK_WORLDS.join(", ")}`);
const outageMs = Number(values["outage-s"]) * 1000;
const kind = values.kind as SoakKind;
if (kind !== "verify" && kind !== "find") throw new Error("--kind is verify or find");

/** One process inserting `rows` answers the way a perfect edge would: one insert per probe chunk. */
async function ceiling(rows: number): Promise<{ rows: number; perSecond: number; rowsPerInsert: number }> {
  const sqld = await startSqld({ dataDir: scratchDir("bench-ceiling") });
  try {
    await migrateDb(sqld.url);
    const { db, client } = createDb({ url: sqld.url });
    try {
      await db.insert(accounts).values({ id: "acc_ceiling", name: "ceiling", kind: "personal" });
      await db.insert(jobs).values({ id: "job_ceiling", accountId: "acc_ceiling", name: "ceiling", status: "running", unique: rows });
      const started = performance.now();
      for (let i = 0; i < rows; i += CHUNK_SIZE) {
        const values = [];
        for (let k = i; k < Math.min(rows, i + CHUNK_SIZE); k++) {
          const { email, verdict } = soakAddress(world, k);
          const result: Result = {
            email, normalized: email, verdict, reason: "no_such_domain", catch_all: null, disposable: false, role: false, free: false,
            greylisted: false, suggestion: null, score: 0, mx: null, smtp: null, duration_ms: 3, retry_after: null,
          };
          values.push({
            jobId: "job_ceiling", normalized: email, email, rowIndex: k, row: JSON.stringify([String(k), email, `Person ${k}`]),
            batchId: `bat_ceiling_${Math.floor(k / 1000)}`, verdict, reason: result.reason, result: JSON.stringify(result), createdAt: Date.now(),
          });
        }
        await db.insert(jobEmails).values(values).onConflictDoNothing();
      }
      return { rows, perSecond: rows / ((performance.now() - started) / 1000), rowsPerInsert: CHUNK_SIZE };
    } finally {
      client.close();
    }
  } finally {
    await sqld.stop();
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

/**
 * Cancel and delete at full size (issue 9: under 5 s each, the stack staying responsive): the
 * finished job is deleted with its results; a second job of the same size is canceled while it
 * runs, then deleted. GET /api/v1/account is read every 200 ms throughout, and the rows' purge is
 * followed in sqld to its end.
 */
async function lifecycle(stack: Stack, finishedJobId: string): Promise<string[]> {
  const { db, client } = createDb({ url: stack.sqld.url });
  const latencies: number[] = [];
  let fiveXX = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const a = await apiCall(stack, "/api/v1/account");
      latencies.push(a.ms);
      if (a.status >= 500 || a.status === 0) fiveXX++;
      await new Promise((r) => setTimeout(r, 200)); // an API client's polling interval
    }
  })();
  // Its answered rows and its repeated and rejected ones (job_rows, issue 26).
  const rowsLeft = async (jobId: string) =>
    Number((await client.execute({ sql: "SELECT (SELECT count(*) FROM job_emails WHERE job_id = ?1) + (SELECT count(*) FROM job_rows WHERE job_id = ?1) AS n", args: [jobId] })).rows[0]!.n);
  const lines: string[] = [];
  try {
    const t0 = performance.now();
    const deleted = await apiCall(stack, `/api/v1/jobs/${finishedJobId}?purge=true`, { method: "DELETE" });
    const deleteMs = performance.now() - t0;
    await until("the deleted job's rows to be purged", async () => (await rowsLeft(finishedJobId)) === 0, 600_000);
    const purgeS = (performance.now() - t0) / 1000;
    lines.push(`delete a completed ${N}-address job      ${String(deleted.status).padStart(4)} in ${deleteMs.toFixed(0).padStart(6)} ms   (target < 5000 ms); rows purged after ${purgeS.toFixed(1)} s`);

    const list = soakUpload(kind, world, N, "cancel-me");
    const upload = await apiCall(stack, list.path, { method: "POST", body: list.body, headers: { "content-type": "text/csv" }, duplex: "half" } as RequestInit, 600_000);
    const jobId = (upload.body as { id: string }).id;
    await until("the second job's first results", async () => ((await apiCall(stack, `/api/v1/jobs/${jobId}`)).body as { processed: number }).processed > 0, 120_000);
    const t1 = performance.now();
    const canceled = await apiCall(stack, `/api/v1/jobs/${jobId}`, { method: "DELETE" });
    const cancelMs = performance.now() - t1;
    const view = canceled.body as { status?: string; processed?: number; unique?: number; error?: { code: string } };
    // A small job may finish before the cancel reaches it: the API then refuses (409), and says so.
    const outcome = view.error ? `refused: ${view.error.code}` : `${view.status} at ${view.processed}/${view.unique}`;
    lines.push(`cancel a running ${N}-address job       ${String(canceled.status).padStart(4)} in ${cancelMs.toFixed(0).padStart(6)} ms   (target < 5000 ms); ${outcome}`);
    const t2 = performance.now();
    const purged = await apiCall(stack, `/api/v1/jobs/${jobId}?purge=true`, { method: "DELETE" });
    const delete2Ms = performance.now() - t2;
    await until("the canceled job's rows to be purged", async () => (await rowsLeft(jobId)) === 0, 600_000);
    lines.push(`delete the canceled job                  ${String(purged.status).padStart(4)} in ${delete2Ms.toFixed(0).padStart(6)} ms   (target < 5000 ms); rows purged after ${((performance.now() - t2) / 1000).toFixed(1)} s`);
    const [acc] = await db.select().from(accounts).where(eq(accounts.id, "acc_local_dev"));
    lines.push(`GET /api/v1/account meanwhile             p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms (target < 500 ms), 5xx ${fiveXX} (target 0); balance ${acc?.creditBalance}`);
  } finally {
    sampling = false;
    await sampler;
    client.close();
  }
  return lines;
}

const ceilingFigures = values["no-ceiling"] ? undefined : await ceiling(N);
if (ceilingFigures) console.log(`ceiling: ${ceilingFigures.rows} rows in ${Math.round(ceilingFigures.perSecond)} rows/s\n`);

const { world: simulated, stack } = await startSoakStack({ world, log: (l) => console.log(l) });
let passed = false;
try {
  const report = await runSoak(stack, {
    addresses: N,
    world,
    kind,
    timeoutMs: Number(values["timeout-s"]) * 1000,
    log: (l) => console.log(l),
    // The outage lasts as long as asked: a scenario length, not a wait for something to happen.
    ...(outageMs > 0 ? { outage: { hold: () => new Promise<void>((r) => setTimeout(r, outageMs)) } } : {}),
  });
  console.log(`\n${formatSoak(report, ceilingFigures)}`);
  passed = soakPassed(report);
  if (passed && report.jobId && !values["no-lifecycle"]) {
    console.log("\ncancel and delete at full size, through the API:");
    for (const line of await lifecycle(stack, report.jobId)) console.log(line);
  }
} finally {
  await stack.stop();
  await simulated.stop();
}
if (!passed) {
  console.error("\nsoak FAILED: see the figures above");
  process.exit(1);
}
