// Fan-out benchmark: 1,000 WebSocket subscribers to one job's JobHub through the local stack.
// Phase 1 posts signed result chunks at 3 a second and times each from the post to its receipt
// on every socket (p50/p99, and when the first and the last socket got it). Phase 2 posts as fast
// as it can and counts messages per socket per second: coalescing keeps it at 4 or fewer whatever
// the result rate, where a hub that forwarded every post would send one message per post.
// It runs twice: through `wrangler dev`'s entry (a second workerd process that relays every
// frame) and straight to the workerd that runs the Worker, to show what the local proxy costs.
// Speed is measured, not asserted; it exits non-zero only when something is broken: a socket
// refused or dropped, a post refused, or a socket that never saw the job's last state.
//   npm run bench:fanout [-- --subscribers 1000 --posts 40 --phase2-s 4]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { eq } from "drizzle-orm";
import WebSocket from "ws";
import type { Result } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import type { LiveMessage } from "../../core/live.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { createDb } from "../../db/client.ts";
import { batches, batchItems } from "../../db/schema.ts";
import { startStack, type Stack } from "../../e2e/stack.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const { values } = parseArgs({
  options: { subscribers: { type: "string", default: "1000" }, posts: { type: "string", default: "40" }, "phase2-s": { type: "string", default: "4" } },
});
const SUBSCRIBERS = Number(values.subscribers);
const PHASE1_POSTS = Number(values.posts);
const PHASE1_GAP_MS = 333;
const PHASE2_MS = Number(values["phase2-s"]) * 1000;
const PER_CHUNK = 5;
const TARGET_MS = 100;
/** How long every socket may take to see a state after it was posted before the run counts as broken. */
const LANDING_TIMEOUT_MS = 60_000;

interface Figures {
  p50: number;
  p99: number;
  first50: number;
  spread50: number;
  deliveries: number;
  postsPerS: number;
  msgsPerSocket: number;
  maxPerSocket: number;
}

/** Whether `pid` was started by this process, however deep (its parents, read from /proc). */
function isDescendant(pid: number): boolean {
  for (let at = pid, hops = 0; at > 1 && hops < 32; hops++) {
    if (at === process.pid) return true;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its ")".
      const stat = readFileSync(`/proc/${at}/stat`, "utf8");
      at = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
  }
  return false;
}

/** The port of the workerd that runs the Worker itself (behind wrangler dev's entry proxy). */
async function directWorkerUrl(stack: Stack): Promise<string | null> {
  let listing = "";
  try {
    listing = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" });
  } catch {
    return null;
  }
  // Only this run's workerd (a descendant of this process): tests run other stacks beside it.
  const ports = [...listing.matchAll(/127\.0\.0\.1:(\d+)\s.*"workerd",pid=(\d+)/g)]
    .filter((m) => isDescendant(Number(m[2])))
    .map((m) => Number(m[1]))
    .filter((p) => String(p) !== new URL(stack.url).port);
  for (const port of ports) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && ((await res.json()) as { service?: string }).service === "mxray-edge") return `http://127.0.0.1:${port}`;
    } catch {
      // not the Worker's socket
    }
  }
  return null;
}

async function measure(stack: Stack, base: string): Promise<Figures> {
  const auth = { authorization: `Bearer ${stack.devApiKey}` };
  const emails = Array.from({ length: 5_000 }, (_, i) => `user${i}@fanout.test`);
  // As a client should: a 503 or 429 with Retry-After (a busy two-core machine) is asked again.
  let created = await fetch(`${base}/api/v1/jobs`, { method: "POST", body: JSON.stringify({ emails }), headers: { ...auth, "content-type": "application/json" } });
  for (let tries = 1; (created.status === 503 || created.status === 429) && tries < 5; tries++) {
    await new Promise((r) => setTimeout(r, Math.min(5, Number(created.headers.get("retry-after") ?? 1)) * 1000));
    created = await fetch(`${base}/api/v1/jobs`, { method: "POST", body: JSON.stringify({ emails }), headers: { ...auth, "content-type": "application/json" } });
  }
  if (created.status !== 201) throw new Error(`POST /api/v1/jobs answered ${created.status}: ${await created.text()}`);
  const job = (await created.json()) as { id: string };
  const { db, client } = createDb({ url: stack.sqld.url });
  const rows = await db.select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, job.id));
  // The probe's side: batches marked dispatched are what a probe would be answering.
  await db.update(batches).set({ status: "dispatched" }).where(eq(batches.jobId, job.id));
  client.close();
  const queue = rows.flatMap((b) => (JSON.parse(b.items) as BatchItem[]).map((i) => ({ batchId: b.id, email: i[1] })));

  const token = (await (await fetch(`${base}/api/v1/jobs/${job.id}/live-token`, { method: "POST", headers: auth })).json()) as { token: string };
  const wsUrl = `${base.replace(/^http/, "ws")}/ws/jobs/${job.id}?token=${encodeURIComponent(token.token)}`;
  const postedAt = new Map<number, number>(); // processed count after a post → when that post began
  const latencies: number[] = [];
  const firstLast = new Map<number, { first: number; last: number }>();
  const perSocketPhase2 = new Array<number>(SUBSCRIBERS).fill(0);
  /** The newest processed count each socket has seen. */
  const seenBy = new Array<number>(SUBSCRIBERS).fill(0);
  let dropped: string | null = null;
  let closing = false;
  let phase: 0 | 1 | 2 = 0;
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, n) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(wsUrl);
        sockets.push(ws);
        // A refused upgrade says why (status and body); anything else, its error.
        ws.on("unexpected-response", (_req, res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d));
          res.on("end", () => reject(new Error(`socket ${n} failed: HTTP ${res.statusCode} ${res.headers["retry-after"] ? `(Retry-After ${res.headers["retry-after"]}) ` : ""}${body.slice(0, 300)}`)));
        });
        ws.on("error", (err) => reject(new Error(`socket ${n} failed: ${err.message}`)));
        ws.on("close", (code) => {
          if (!closing) dropped ??= `socket ${n} closed by the server (${code})`;
        });
        ws.on("message", (data) => {
          const m = JSON.parse(String(data)) as LiveMessage;
          seenBy[n] = Math.max(seenBy[n]!, m.job.processed);
          if (m.type === "snapshot") return resolve();
          if (m.type !== "progress") return;
          if (phase === 1) {
            const at = postedAt.get(m.job.processed);
            if (at === undefined) return;
            const l = performance.now() - at;
            latencies.push(l);
            const seen = firstLast.get(m.job.processed);
            if (!seen) firstLast.set(m.job.processed, { first: l, last: l });
            else seen.last = Math.max(seen.last, l);
          } else if (phase === 2) perSocketPhase2[n]!++;
        });
      }),
    ),
  );

  let processed = 0;
  const post = async () => {
    const take = queue.splice(0, PER_CHUNK);
    const results: Result[] = take.map((t) => ({
      email: t.email, normalized: t.email, verdict: "deliverable", reason: "accepted", catch_all: false, disposable: false, role: false,
      free: false, greylisted: false, suggestion: null, score: 95, mx: "mx.fanout.test", smtp: { code: 250, enhanced: "2.1.5", message: "Ok" }, duration_ms: 1, retry_after: null,
    }));
    const body = JSON.stringify({ probe_id: "prb_bench", batch_id: take[0]!.batchId, job_id: job.id, seq: processed, final: false, results });
    postedAt.set(processed + results.length, performance.now());
    const res = await fetch(`${base}/internal/probes/results`, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(stack.secrets.probeSecret, { method: "POST", path: "/internal/probes/results" }, body) } });
    if (!res.ok) throw new Error(`result post refused: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    await res.body?.cancel();
    processed += results.length;
  };
  /** Until every socket has seen the job at `count` processed: the hub's coalescing may merge messages, never lose the newest. */
  const landed = async (count: number) => {
    for (const started = performance.now(); seenBy.some((s) => s < count); ) {
      if (dropped) throw new Error(dropped);
      if (performance.now() - started > LANDING_TIMEOUT_MS) {
        const behind = seenBy.findIndex((s) => s < count);
        throw new Error(`socket ${behind} saw ${seenBy[behind]} processed, not ${count}, ${LANDING_TIMEOUT_MS / 1000} s after it was posted`);
      }
      await new Promise((r) => setTimeout(r, 20)); // polling the sockets' counters, which their own handlers move
    }
  };

  phase = 1;
  for (let i = 0; i < PHASE1_POSTS; i++) {
    await post();
    await new Promise((r) => setTimeout(r, PHASE1_GAP_MS)); // the post rate, not synchronisation
  }
  await landed(processed);
  phase = 2;
  let posts2 = 0;
  const phase2Start = performance.now();
  while (performance.now() - phase2Start < PHASE2_MS) {
    await post();
    posts2++;
  }
  const phase2S = (performance.now() - phase2Start) / 1000;
  phase = 0;
  await landed(processed);
  closing = true;
  for (const ws of sockets) ws.close();

  latencies.sort((a, b) => a - b);
  const pct = (list: number[], p: number) => list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))] ?? Number.NaN;
  const firsts = [...firstLast.values()].map((f) => f.first).sort((a, b) => a - b);
  const spreads = [...firstLast.values()].map((f) => f.last - f.first).sort((a, b) => a - b);
  return {
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    first50: pct(firsts, 50),
    spread50: pct(spreads, 50),
    deliveries: latencies.length,
    postsPerS: posts2 / phase2S,
    msgsPerSocket: perSocketPhase2.reduce((a, b) => a + b, 0) / SUBSCRIBERS / phase2S,
    maxPerSocket: Math.max(...perSocketPhase2) / phase2S,
  };
}

const stack = await startStack({ dataDir: scratchDir("bench-fanout"), probes: 0 });
try {
  const viaProxy = await measure(stack, stack.url);
  const direct = await directWorkerUrl(stack);
  const straight = direct ? await measure(stack, direct) : null;
  const col = (f: Figures | null, pick: (f: Figures) => number, digits = 1) => (f ? pick(f).toFixed(digits) : "n/a").padStart(16);
  console.log(`fan-out benchmark: ${SUBSCRIBERS} WebSocket subscribers to one job, local stack\n`);
  console.log(`${"".padEnd(40)}${"via wrangler dev".padStart(16)}${"workerd direct".padStart(16)}${"target".padStart(12)}`);
  const line = (label: string, pick: (f: Figures) => number, target: string, digits = 1) =>
    console.log(`${label.padEnd(40)}${col(viaProxy, pick, digits)}${col(straight, pick, digits)}${target.padStart(12)}`);
  line("p50 post → receipt (ms), 3 posts/s", (f) => f.p50, "");
  line("p99 post → receipt (ms), 3 posts/s", (f) => f.p99, `< ${TARGET_MS}`);
  line("p50 post → first socket (ms)", (f) => f.first50, "");
  line("p50 first → last socket (ms)", (f) => f.spread50, "");
  line("deliveries measured", (f) => f.deliveries, String(PHASE1_POSTS * SUBSCRIBERS), 0);
  line("posts/s in phase 2 (one message each, naive)", (f) => f.postsPerS, "", 2);
  line("messages/s per socket in phase 2", (f) => f.msgsPerSocket, "<= 4", 2);
  line("max messages/s on any socket", (f) => f.maxPerSocket, "<= 4", 2);
  const both = (f: Figures | null, where: string) => (f ? `${f.p50.toFixed(0)} / ${f.p99.toFixed(0)} ${where}` : `n/a ${where}`);
  const met = [viaProxy, straight].every((f) => !f || f.p99 < TARGET_MS);
  console.log(`\npost → receipt p50 / p99 (ms): ${both(viaProxy, "via wrangler dev")}, ${both(straight, "workerd direct")}; target p99 < ${TARGET_MS} ms ${met ? "(met)" : "(MISSED)"}`);
} finally {
  await stack.stop();
}
