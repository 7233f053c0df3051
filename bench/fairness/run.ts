// Fairness benchmark (issue 13): one account's big job through the local stack, then another
// account's 100-address job; the small job's time to complete beside its time alone (target
// ≤ 2×), with fair dispatch and with the old oldest-first order (MXRAY_DISPATCH_ORDER=fifo), each
// on a fresh stack with the simulated world answering at once (e2e/soak.ts, world "nxdomain").
// A job's time is its own row's created_at to finished_at, the edge's clock; "alone" is three
// runs on the idle stack, and the ratio is to the best of them (it errs against us), the ratio to
// their median beside it. The ratio is measured, not asserted: it exits non-zero only when a job
// did not complete.
//   npm run bench:fairness [-- --rows 1000000] [-- --small 100] [-- --orders fair,fifo] [-- --timeout-s 900]
import { parseArgs } from "node:util";
import { eq, min } from "drizzle-orm";
import { generateApiKey, hashApiKey, keyPrefix } from "../../core/apikeys.ts";
import type { JobView } from "../../core/contracts.ts";
import { createDb } from "../../db/client.ts";
import { accounts, apiKeys, batches, jobs } from "../../db/schema.ts";
import { apiCall, soakCsv, startSoakStack, until } from "../../e2e/soak.ts";
import type { Stack } from "../../e2e/stack.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    small: { type: "string", default: "100" },
    orders: { type: "string", default: "fair,fifo" },
    "timeout-s": { type: "string", default: "900" },
  },
});
const ROWS = Number(values.rows);
const SMALL = Number(values.small);
const TIMEOUT_MS = Number(values["timeout-s"]) * 1000;
const ORDERS = values.orders.split(",") as ("fair" | "fifo")[];
const log = (line: string) => console.log(line);

/** Another account with credit and an API key, written straight into the stack's database. */
async function otherAccount(stack: Stack): Promise<Stack> {
  const { db, client } = createDb({ url: stack.sqld.url });
  try {
    const key = generateApiKey("test");
    await db.insert(accounts).values({ id: "acc_bench_small", name: "small lists", kind: "team", creditBalance: 1_000_000 });
    await db.insert(apiKeys).values({ id: "key_bench_small", accountId: "acc_bench_small", name: "bench", mode: "test", prefix: keyPrefix(key), hash: await hashApiKey(key) });
    return { ...stack, devApiKey: key };
  } finally {
    client.close();
  }
}

/** A small list of its own addresses (`tag` keeps runs apart), on the world's NXDOMAIN domains. */
const smallCsv = (tag: string) => `id,email\n${Array.from({ length: SMALL }, (_, i) => `${i},${tag}-${i}@nx${i % 500}.soak.test\n`).join("")}`;

async function upload(as: Stack, name: string, body: BodyInit): Promise<string> {
  const res = await apiCall(as, `/api/v1/jobs?name=${name}`, { method: "POST", body, headers: { "content-type": "text/csv" }, duplex: "half" } as RequestInit, TIMEOUT_MS);
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  return (res.body as JobView).id;
}

const view = async (as: Stack, jobId: string) => (await apiCall(as, `/api/v1/jobs/${jobId}`)).body as JobView;

/** The lease the stacks run with: a running batch's dispatch time is its lease's end less this. */
const LEASE_MS = 7 * 60_000;

interface Timing {
  /** The job's own created_at → finished_at. */
  total: number;
  /** created_at → its first batch's dispatch: the wait for a probe slot (null if it ran too briefly to be seen). */
  wait: number | null;
}

async function timeToComplete(stack: Stack, as: Stack, jobId: string, timeoutMs: number): Promise<Timing | null> {
  const { db, client } = createDb({ url: stack.sqld.url });
  try {
    // The lease is cleared when the batch is done, so its dispatch is caught while it runs.
    let dispatchedAt: number | null = null;
    const done = await until(`job ${jobId} to complete`, async () => {
      const [batch] = await db.select({ leaseEnd: min(batches.leaseExpiresAt) }).from(batches).where(eq(batches.jobId, jobId));
      if (batch?.leaseEnd != null) dispatchedAt ??= Number(batch.leaseEnd) - LEASE_MS;
      return (await view(as, jobId)).status === "completed";
    }, timeoutMs).then(() => true, () => false);
    if (!done) return null;
    const [job] = await db.select({ created: jobs.createdAt, finished: jobs.finishedAt }).from(jobs).where(eq(jobs.id, jobId));
    return { total: job!.finished! - job!.created, wait: dispatchedAt === null ? null : dispatchedAt - job!.created };
  } finally {
    client.close();
  }
}

interface Figures {
  order: string;
  alone: number[];
  contended: Timing | null;
  bigProcessedAtStart: number;
  bigProcessedAtEnd: number;
}

async function measure(order: "fair" | "fifo"): Promise<Figures> {
  log(`\n${order}: starting the stack (MXRAY_DISPATCH_ORDER=${order})`);
  const { world, stack } = await startSoakStack({ world: "nxdomain", vars: { MXRAY_DISPATCH_ORDER: order, MXRAY_LEASE_MS: String(LEASE_MS) }, log });
  try {
    const small = await otherAccount(stack);
    const alone: number[] = [];
    for (let run = 0; run < 3; run++) {
      const ms = await timeToComplete(stack, small, await upload(small, `alone-${run}`, smallCsv(`alone${run}`)), 60_000);
      if (ms === null) throw new Error("the small job alone did not complete within 60 s");
      alone.push(ms.total);
    }
    log(`${order}: small job alone ${alone.join(", ")} ms; uploading the ${ROWS}-row job`);
    const big = await upload(stack, "big", soakCsv("nxdomain", ROWS));
    // The small list arrives while the big one is being answered: all its batches are queued.
    await until("the big job's first results", async () => (await view(stack, big)).processed > 0, TIMEOUT_MS);
    const bigProcessedAtStart = (await view(stack, big)).processed;
    const contended = await timeToComplete(stack, small, await upload(small, "beside-big", smallCsv("beside")), TIMEOUT_MS);
    const bigProcessedAtEnd = (await view(stack, big)).processed;
    log(`${order}: small job beside the big one ${contended ? `${contended.total} ms, of which ${contended.wait ?? "n/a"} ms waiting for a probe slot` : "n/a"} (big job at ${bigProcessedAtStart} → ${bigProcessedAtEnd}/${ROWS})`);
    return { order, alone, contended, bigProcessedAtStart, bigProcessedAtEnd };
  } finally {
    await stack.stop();
    await world.stop();
  }
}

const results: Figures[] = [];
for (const order of ORDERS) results.push(await measure(order));

console.log(`\nfairness: a ${SMALL}-address job from one account while another's ${ROWS}-row job runs (one probe, 4 batches in flight, 1,000 per batch)\n`);
console.log(`${"dispatch order".padEnd(16)}${"alone (best, median)".padStart(22)}${"beside the big job".padStart(22)}${"ratio (to median)".padStart(20)}${"target".padStart(16)}`);
for (const r of results) {
  const best = Math.min(...r.alone);
  const median = [...r.alone].sort((a, b) => a - b)[1]!;
  const ratio = r.contended === null ? null : r.contended.total / best;
  const verdict = ratio === null ? "(MISSED)" : ratio <= 2 ? "(met)" : "(MISSED)";
  console.log(
    `${r.order.padEnd(16)}${`${best}, ${median} ms`.padStart(22)}${(r.contended === null ? `> ${TIMEOUT_MS / 1000} s` : `${r.contended.total} ms`).padStart(22)}${(ratio === null ? "n/a" : `${ratio.toFixed(1)}x (${(r.contended!.total / median).toFixed(1)}x)`).padStart(20)}${`<= 2x ${verdict}`.padStart(16)}`,
  );
}
for (const r of results) {
  const wait = r.contended?.wait != null ? `; it waited ${r.contended.wait} ms for a probe slot` : "";
  console.log(`  ${r.order}: the big job had ${r.bigProcessedAtStart} answered when the small one arrived and ${r.bigProcessedAtEnd} when it completed${wait}`);
}
if (results.some((r) => r.contended === null)) process.exitCode = 1;
