// Fan-out benchmark: 1,000 WebSocket subscribers to one job's JobHub through the local stack.
// Phase 1 posts signed result chunks at 3 a second and times each from the post to its receipt
// on every socket (p50/p99). Phase 2 posts as fast as it can and counts messages per socket per
// second: coalescing keeps it at 4 or fewer whatever the result rate, where a hub that forwarded
// every post would send one message per post.
//   npm run bench:fanout [-- --subscribers 1000]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { eq } from "drizzle-orm";
import type { Result } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import type { LiveMessage } from "../../core/live.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { createDb } from "../../db/client.ts";
import { batches } from "../../db/schema.ts";
import { startStack } from "../../e2e/stack.ts";
import WebSocket from "ws";

const { values } = parseArgs({ options: { subscribers: { type: "string", default: "1000" } } });
const SUBSCRIBERS = Number(values.subscribers);
const PHASE1_POSTS = 40;
const PHASE1_GAP_MS = 333;
const PHASE2_MS = 4_000;
const PER_CHUNK = 5;

const stack = await startStack({ dataDir: mkdtempSync(join(tmpdir(), "mxray-bench-fanout-")), probes: 0 });
const auth = { authorization: `Bearer ${stack.devApiKey}` };
try {
  const emails = Array.from({ length: 5_000 }, (_, i) => `user${i}@fanout.test`);
  const job = (await (await fetch(`${stack.url}/api/v1/jobs`, { method: "POST", body: JSON.stringify({ emails }), headers: { ...auth, "content-type": "application/json" } })).json()) as { id: string };
  const { db, client } = createDb({ url: stack.sqld.url });
  const rows = await db.select().from(batches).where(eq(batches.jobId, job.id));
  client.close();
  // The probe's side: batches marked dispatched are what a probe would be answering.
  const queue: { batchId: string; email: string }[] = rows.flatMap((b) => (JSON.parse(b.items) as BatchItem[]).map((i) => ({ batchId: b.id, email: i[1] })));
  const { db: db2, client: client2 } = createDb({ url: stack.sqld.url });
  await db2.update(batches).set({ status: "dispatched" }).where(eq(batches.jobId, job.id));
  client2.close();

  const token = (await (await fetch(`${stack.url}/api/v1/jobs/${job.id}/live-token`, { method: "POST", headers: auth })).json()) as { url: string };
  const postedAt = new Map<number, number>(); // processed count after a post → when that post began
  const latencies: number[] = [];
  /** Per post: when the first and the last socket got it (the spread is the fan-out itself). */
  const firstLast = new Map<number, { first: number; last: number }>();
  const perSocketPhase2 = new Array<number>(SUBSCRIBERS).fill(0);
  let phase: 0 | 1 | 2 = 0;
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, n) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(token.url);
        sockets.push(ws);
        ws.on("error", () => reject(new Error(`socket ${n} failed`)));
        ws.on("message", (data) => {
          const m = JSON.parse(String(data)) as LiveMessage;
          if (m.type === "snapshot") return resolve();
          if (m.type !== "progress") return;
          if (phase === 1) {
            const at = postedAt.get(m.job.processed);
            if (at !== undefined) {
              const l = performance.now() - at;
              latencies.push(l);
              const seen = firstLast.get(m.job.processed);
              if (!seen) firstLast.set(m.job.processed, { first: l, last: l });
              else seen.last = Math.max(seen.last, l);
            }
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
    const started = performance.now();
    postedAt.set(processed + results.length, started);
    const res = await fetch(`${stack.url}/internal/probes/results`, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(stack.secrets.probeSecret, body) } });
    await res.body?.cancel();
    processed += results.length;
  };

  phase = 1;
  for (let i = 0; i < PHASE1_POSTS; i++) {
    await post();
    await new Promise((r) => setTimeout(r, PHASE1_GAP_MS)); // the post rate, not synchronisation
  }
  await new Promise((r) => setTimeout(r, 500)); // let the last messages land before switching phase
  phase = 2;
  let posts2 = 0;
  const phase2Start = performance.now();
  while (performance.now() - phase2Start < PHASE2_MS) {
    await post();
    posts2++;
  }
  await new Promise((r) => setTimeout(r, 300));
  phase = 0;
  const phase2S = (performance.now() - phase2Start) / 1000;
  for (const ws of sockets) ws.close();

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  const msgsPerSocket = perSocketPhase2.reduce((a, b) => a + b, 0) / SUBSCRIBERS / phase2S;
  const maxPerSocket = Math.max(...perSocketPhase2) / phase2S;
  console.log(`fan-out benchmark: ${SUBSCRIBERS} WebSocket subscribers to one job, local stack (wrangler dev)\n`);
  console.log(`${"".padEnd(44)}${"mxray".padStart(12)}${"target / naive".padStart(18)}`);
  console.log(`${"p50 post → receipt (ms), 3 posts/s".padEnd(44)}${pct(50).toFixed(1).padStart(12)}${"".padStart(18)}`);
  console.log(`${"p99 post → receipt (ms), 3 posts/s".padEnd(44)}${pct(99).toFixed(1).padStart(12)}${"< 100".padStart(18)}`);
  const firsts = [...firstLast.values()].map((f) => f.first).sort((a, b) => a - b);
  const spreads = [...firstLast.values()].map((f) => f.last - f.first).sort((a, b) => a - b);
  console.log(`${"p50 post → first socket (ms)".padEnd(44)}${firsts[Math.floor(firsts.length / 2)]!.toFixed(1).padStart(12)}${"".padStart(18)}`);
  console.log(`${"p50 first → last socket (ms)".padEnd(44)}${spreads[Math.floor(spreads.length / 2)]!.toFixed(1).padStart(12)}${"".padStart(18)}`);
  console.log(`${"deliveries measured".padEnd(44)}${String(latencies.length).padStart(12)}${String(PHASE1_POSTS * SUBSCRIBERS).padStart(18)}`);
  console.log(`${`messages/s per socket at ${(posts2 / phase2S).toFixed(0)} posts/s`.padEnd(44)}${msgsPerSocket.toFixed(2).padStart(12)}${(posts2 / phase2S).toFixed(2).padStart(18)}`);
  console.log(`${"max messages/s on any socket".padEnd(44)}${maxPerSocket.toFixed(2).padStart(12)}${"<= 4".padStart(18)}`);
} finally {
  await stack.stop();
}
