// Cost model: a job through the whole local stack (simulated world, one probe), with the Worker's
// counters of what the design spends on hosted services (edge/meter.ts): QStash messages, Redis
// commands, database rows written. Scaled to 1M addresses and printed beside the targets. The
// client polls the job once a second, as an API user would; those requests count too. It exits
// non-zero when the job does not complete within --timeout-s; the targets are measured, not asserted.
//   npm run bench:cost [-- --addresses 5000 --timeout-s 600]
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { JobView } from "../../core/contracts.ts";
import { startStack } from "../../e2e/stack.ts";
import { startWorld } from "../../e2e/world/index.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const { values } = parseArgs({ options: { addresses: { type: "string", default: "5000" }, "timeout-s": { type: "string", default: "600" } } });
const N = Number(values.addresses);
const TIMEOUT_MS = Number(values["timeout-s"]) * 1000;
const world = await startWorld({ greylistDelayMs: 1000, bulk: { domains: 40, addresses: N, seed: 3 } });
const stack = await startStack({ dataDir: scratchDir("bench-cost"), world, probes: 1, sweepMs: 2_000 });
const auth = { authorization: `Bearer ${stack.devApiKey}` };
try {
  await (await fetch(`${stack.url}/internal/meter`, { method: "POST", headers: auth })).body?.cancel();
  const started = performance.now();
  const res = await fetch(`${stack.url}/api/v1/jobs`, { method: "POST", body: `email\n${world.bulkAddresses.join("\n")}\n`, headers: { ...auth, "content-type": "text/csv" } });
  if (!res.ok) throw new Error(`upload refused: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as JobView;
  let job: JobView;
  for (;;) {
    job = (await (await fetch(`${stack.url}/api/v1/jobs/${id}`, { headers: auth })).json()) as JobView;
    if (job.status === "completed") break;
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`the job did not complete within ${TIMEOUT_MS / 1000} s: ${job.status}, ${job.processed}/${job.unique}`);
    await new Promise((r) => setTimeout(r, 1000)); // the client's polling interval
  }
  const seconds = (performance.now() - started) / 1000;
  const meter = (await (await fetch(`${stack.url}/internal/meter`, { headers: auth })).json()) as { qstashMessages: number; redisCommands: number; dbRowsWritten: number };
  const scale = 1_000_000 / job.unique;
  const row = (label: string, measured: number, target: number) =>
    console.log(`${label.padEnd(28)}${String(measured).padStart(12)}${Math.round(measured * scale).toString().padStart(16)}${`<= ${target}`.padStart(14)}`);
  console.log(`cost model: ${job.unique} addresses through the local stack in ${seconds.toFixed(1)} s (${job.counts.deliverable} deliverable, ${job.counts.undeliverable} undeliverable, ${job.counts.risky} risky, ${job.counts.unknown} unknown)\n`);
  console.log(`${"".padEnd(28)}${"this job".padStart(12)}${`per 1M (x${scale.toFixed(0)})`.padStart(16)}${"target".padStart(14)}`);
  row("QStash messages", meter.qstashMessages, 12_000);
  row("Redis commands", meter.redisCommands, 100_000);
  row("database rows written", meter.dbRowsWritten, 1_200_000);
  console.log("\nA design with one message per address and a row written at ingest, at dispatch and at the result would need 1,000,000 messages and 3,000,000 rows per 1M.");
} finally {
  await stack.stop();
  await world.stop();
}
