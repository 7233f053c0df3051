// Soak benchmark: one big job through the local stack (e2e/soak.ts), from a streamed upload to
// `completed`, beside the ceiling: the same number of job_emails rows inserted straight into a
// fresh sqld by one process, one probe-chunk-sized insert per round trip. Stops by itself at
// --timeout-s and exits non-zero, with what it gathered, if the job did not complete cleanly.
//   npm run bench:soak [-- --addresses 1000000] [-- --world nxdomain|mixed] [-- --timeout-s 1800] [-- --outage-s 30]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Result } from "../../core/contracts.ts";
import { createDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { startSqld } from "../../db/sqld.ts";
import { accounts, jobEmails, jobs } from "../../db/schema.ts";
import { formatSoak, runSoak, soakAddress, soakPassed, SOAK_WORLDS, startSoakStack, type SoakWorld } from "../../e2e/soak.ts";
import { CHUNK_SIZE } from "../../probe/server.ts";

const { values } = parseArgs({
  options: {
    addresses: { type: "string", default: "1000000" },
    world: { type: "string", default: "nxdomain" },
    "timeout-s": { type: "string", default: "1800" },
    "outage-s": { type: "string", default: "0" },
    "no-ceiling": { type: "boolean", default: false },
  },
});
const N = Number(values.addresses);
const world = values.world as SoakWorld;
if (!SOAK_WORLDS.includes(world)) throw new Error(`--world is one of ${SOAK_WORLDS.join(", ")}`);
const outageMs = Number(values["outage-s"]) * 1000;

/** One process inserting `rows` answers the way a perfect edge would: one insert per probe chunk. */
async function ceiling(rows: number): Promise<{ rows: number; perSecond: number; rowsPerInsert: number }> {
  const sqld = await startSqld({ dataDir: mkdtempSync(join(tmpdir(), "mxray-bench-ceiling-")) });
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

const ceilingFigures = values["no-ceiling"] ? undefined : await ceiling(N);
if (ceilingFigures) console.log(`ceiling: ${ceilingFigures.rows} rows in ${Math.round(ceilingFigures.perSecond)} rows/s\n`);

const { world: simulated, stack } = await startSoakStack({ world, log: (l) => console.log(l) });
let passed = false;
try {
  const report = await runSoak(stack, {
    addresses: N,
    world,
    timeoutMs: Number(values["timeout-s"]) * 1000,
    log: (l) => console.log(l),
    // The outage lasts as long as asked: a scenario length, not a wait for something to happen.
    ...(outageMs > 0 ? { outage: { hold: () => new Promise<void>((r) => setTimeout(r, outageMs)) } } : {}),
  });
  console.log(`\n${formatSoak(report, ceilingFigures)}`);
  passed = soakPassed(report);
} finally {
  await stack.stop();
  await simulated.stop();
}
if (!passed) {
  console.error("\nsoak FAILED: see the figures above");
  process.exit(1);
}
