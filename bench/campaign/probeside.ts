// bench:campaign, the probe's side: N recipients through a real probe daemon (the bundle as it
// ships, on plain node) to the local relay sink (e2e/relay-sink.ts, STARTTLS + AUTH), beside a
// naive sender that opens one connection per message at the same concurrency (naive.ts). The
// probe's edge is a stand-in here, in this process: it checks each request's signature
// (core/signing.ts), grants every id once (a claim) and takes the send chunks, so what is measured
// is the probe and the relay, not the Worker. Send batches are posted signed as QStash signs them,
// as many at a time as the probe takes (MXRAY_MAX_INFLIGHT_BATCHES).
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SendChunkSchema, SendClaimSchema, type SendBatch, type SendClaimAnswer } from "../../core/contracts.ts";
import { QSTASH_SIGNATURE_HEADER, signQstash } from "../../core/qstash.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../core/signing.ts";
import { freePort } from "../../db/sqld.ts";
import { startRedis } from "../../e2e/redis.ts";
import { startRelaySink, type RelaySink } from "../../e2e/relay-sink.ts";
import { removeScratch, scratchDir } from "../../e2e/scratch.ts";
import { startUpstashBridge } from "../../e2e/upstash-bridge.ts";
import { SEND_RESULTS_PATH } from "../../probe/outbox.ts";
import { SEND_CLAIM_PATH, type SendBatchSummary } from "../../probe/sending/sendbatch.ts";
import { sinkRelay } from "../../probe/sending/testing.ts";
import { DEFAULT_CONNECTIONS } from "../../probe/sending/transport.ts";
import { bundleEntry, cpuMs, peakRssKb, stopChild } from "../children.ts";
import { BENCH_CAMPAIGN_ID, BENCH_COMPOSE, benchRecipient } from "./mail.ts";
import type { NaiveJob } from "./naive.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SINK_USER = "bench";
const SINK_PASSWORD = "bench-relay-password";
/** Relay limits far above what one machine sends: the bench measures sending, not waiting for a limit. */
const GENEROUS = { max_per_minute: 10_000_000, max_per_day: 100_000_000 };

export interface ProbeSideOptions {
  recipients: number;
  batchSize: number;
  /** MXRAY_MAX_INFLIGHT_BATCHES of the probe, and so the batches kept in flight. */
  inflight: number;
  /** Messages the naive sender sends (its rate is extrapolated when fewer than `recipients`). */
  naive: number;
  /** A local redis-server behind the Upstash bridge as the fleet's Redis (relay limits counted there, as in production). */
  fleetRedis: boolean;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface ProbeSideReport {
  recipients: number;
  batches: number;
  /** Connections at once, for both: the probe's per relay and batch, times the batches it ran at once. */
  concurrency: number;
  probe: { wallS: number; perSecond: number; connections: number; connectionsPerMessage: number; peakRssMb: number; cpuMsPerMessage: number; claims: number; chunks: number; busyAnswers: number };
  naive: { messages: number; wallS: number; perSecond: number; connections: number; connectionsPerMessage: number; peakRssMb: number; cpuMsPerMessage: number };
  fleet: string;
  /** What does not add up; empty when every message is accounted for. */
  broken: string[];
}

/**
 * The edge as a probe sees it: claim and send-chunk routes that take only requests signed with
 * the probe secret for their path, grant each id once, and keep what every chunk recorded. A
 * repeated chunk (the outbox retries one whose answer it lost) is recognised by (batch, seq).
 */
async function startGrantingEdge(secret: string, recipients: number) {
  // Per recipient id: 0 never claimed, 1 claimed, 2 recorded.
  const state = new Uint8Array(recipients + 1);
  const counts = { claims: 0, chunks: 0, repeats: 0, badSignatures: 0, sent: 0, otherOutcomes: 0, recordedUnclaimed: 0, recordedTwice: 0, pauses: 0 };
  const seen = new Set<string>();
  const finals = new Set<string>();
  let waiter: { batches: number; resolve: () => void } | null = null;
  const settle = () => waiter && finals.size >= waiter.batches && waiter.resolve();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "";
      const answer = (status: number, json: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
      const signed = await verifySignature([secret], req.headers[SIGNATURE_HEADER] as string | undefined, { method: req.method ?? "", path }, body);
      if (!signed.ok) {
        counts.badSignatures++;
        return answer(401, { error: signed.error });
      }
      if (path === "/internal/probes/heartbeat") return answer(200, { ok: true });
      if (path === SEND_CLAIM_PATH) {
        const claim = SendClaimSchema.parse(JSON.parse(body));
        counts.claims++;
        const claimed = claim.ids.filter((id) => id <= recipients && state[id] === 0);
        for (const id of claimed) state[id] = 1;
        return answer(200, { claimed, stop: null } satisfies SendClaimAnswer);
      }
      if (path === SEND_RESULTS_PATH) {
        const chunk = SendChunkSchema.parse(JSON.parse(body));
        const key = `${chunk.batch_id}:${chunk.seq}`;
        if (seen.has(key)) counts.repeats++;
        else {
          seen.add(key);
          counts.chunks++;
          if (chunk.pause) counts.pauses++;
          for (const o of chunk.outcomes) {
            if (o.id > recipients || state[o.id] === 0) counts.recordedUnclaimed++;
            else if (state[o.id] === 2) counts.recordedTwice++;
            else state[o.id] = 2;
            if (o.status === "sent") counts.sent++;
            else counts.otherOutcomes++;
          }
          if (chunk.final) finals.add(chunk.batch_id);
          settle();
        }
        return answer(200, { applied: chunk.outcomes.length, paused: false, closed: chunk.final });
      }
      answer(404, { error: "not_found" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    /** Resolves once every batch's final chunk has arrived. */
    allFinal: (batches: number) => new Promise<void>((resolve) => ((waiter = { batches, resolve }), settle())),
    recorded: () => state.reduce((n, s, id) => n + (id > 0 && s === 2 ? 1 : 0), 0),
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}

/** Every recipient reached the sink once, and nothing else did. */
function sinkAccounts(sink: RelaySink, count: number, who: string, broken: string[]): void {
  const seen = new Set<string>();
  let twice = 0;
  for (const m of sink.messages) for (const r of m.rcptTo) (seen.has(r) ? twice++ : seen.add(r));
  if (sink.messages.length !== count) broken.push(`${who}: the sink received ${sink.messages.length} messages, not ${count}`);
  if (twice > 0) broken.push(`${who}: ${twice} recipients received a second copy`);
  if (seen.size !== count) broken.push(`${who}: ${seen.size} distinct recipients at the sink, not ${count}`);
}

async function runProbe(opts: ProbeSideOptions, broken: string[]): Promise<{ report: ProbeSideReport["probe"]; fleet: string }> {
  const work = scratchDir("bench-campaign");
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const secret = `bench-probe-secret-${Date.now()}`;
    const signingKey = "sig_bench_campaign_signing_key";
    const sink = await startRelaySink({ users: { [SINK_USER]: SINK_PASSWORD } });
    cleanups.push(() => sink.stop());
    const edge = await startGrantingEdge(secret, opts.recipients);
    cleanups.push(edge.close);
    let fleetEnv: Record<string, string> = {};
    let fleet = "none: relay limits counted in the probe's memory";
    if (opts.fleetRedis) {
      const redis = await startRedis({ log: opts.log });
      cleanups.push(() => redis.stop());
      const bridge = await startUpstashBridge({ redisPort: redis.port, redisPassword: redis.password, token: "bench-fleet-token" });
      cleanups.push(() => bridge.stop());
      fleetEnv = { MXRAY_FLEET_REDIS_REST_URL: bridge.url, MXRAY_FLEET_REDIS_REST_TOKEN: bridge.token };
      fleet = "a local redis-server behind the Upstash REST bridge (e2e/upstash-bridge.ts): relay limits counted there, one round trip per group";
    }

    const entry = await bundleEntry("probe/cli.ts", join(work, "mxray-probe.mjs"));
    const port = await freePort();
    const probeUrl = `http://127.0.0.1:${port}`;
    // Nothing listens here: the self-check and the resolver fail at once, on loopback, and never leave the machine.
    const nowhere = `127.0.0.1:${await freePort()}`;
    let output = "";
    const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), entry, "serve"], {
      cwd: work,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        PUBLIC_URL: probeUrl,
        PROBE_ID: "prb_bench_campaign",
        PROBE_SECRET: secret,
        QSTASH_CURRENT_SIGNING_KEY: signingKey,
        QSTASH_NEXT_SIGNING_KEY: `${signingKey}-next`,
        EDGE_URL: edge.url,
        MXRAY_HELO: "probe.bench.mxray.test",
        MXRAY_OUTBOX_DIR: join(work, "outbox"),
        MXRAY_MAX_INFLIGHT_BATCHES: String(opts.inflight),
        MXRAY_RELAY_CA_FILE: sink.caFile,
        MXRAY_ALLOW_PRIVATE_TARGETS: "1",
        MXRAY_DNS: nowhere,
        MXRAY_SELF_CHECK_TARGETS: nowhere,
        ...fleetEnv,
      },
    });
    for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-6000)));
    cleanups.push(() => stopChild(child));
    const deadline = performance.now() + 30_000;
    while (!(await fetch(`${probeUrl}/healthz`).then((r) => r.ok, () => false))) {
      if (child.exitCode !== null || performance.now() > deadline) throw new Error(`the probe did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100)); // polling a process start-up
    }

    const cpuBefore = cpuMs(child.pid!);
    const relay = await sinkRelay(sink, secret, "rly_bench_sink", SINK_USER, SINK_PASSWORD, GENEROUS);
    const batches = Math.ceil(opts.recipients / opts.batchSize);
    const batchOf = (b: number): SendBatch => ({
      ...BENCH_COMPOSE,
      batch_id: `sbt_bench_${b}`,
      campaign_id: BENCH_CAMPAIGN_ID,
      attempt: 1,
      relays: [relay],
      recipients: Array.from({ length: Math.min(opts.batchSize, opts.recipients - b * opts.batchSize) }, (_, k) => benchRecipient(b * opts.batchSize + k)),
      budget_ms: 60 * 60_000,
    });
    const sendsUrl = `${probeUrl}/v1/sends`;
    const summaries: SendBatchSummary[] = [];
    let busyAnswers = 0;
    let next = 0;
    opts.log(`probe     ${opts.recipients} recipients in ${batches} batches of ${opts.batchSize}, ${opts.inflight} in flight, to the relay sink at ${sink.host}:${sink.port}`);
    const started = performance.now();
    const stopAt = started + opts.timeoutMs;
    await Promise.all(
      Array.from({ length: Math.min(opts.inflight, batches) }, async () => {
        while (next < batches) {
          const b = next++;
          const body = JSON.stringify(batchOf(b));
          for (;;) {
            if (performance.now() > stopAt) throw new Error(`timed out after ${opts.timeoutMs / 1000} s with ${summaries.length}/${batches} batches answered`);
            const res = await fetch(sendsUrl, {
              method: "POST",
              headers: { "content-type": "application/json", [QSTASH_SIGNATURE_HEADER]: await signQstash({ signingKey, url: sendsUrl, body }) },
              body,
              signal: AbortSignal.timeout(Math.max(1, Math.ceil(stopAt - performance.now()))),
            });
            if (res.status === 429) {
              // A slot is freed just after its batch answers: QStash would retry, so do we.
              busyAnswers++;
              await res.body?.cancel();
              await new Promise((r) => setTimeout(r, 50));
              continue;
            }
            if (!res.ok) throw new Error(`POST /v1/sends answered ${res.status}: ${await res.text()}\n${output}`);
            summaries.push((await res.json()) as SendBatchSummary);
            break;
          }
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      edge.allFinal(batches),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the probe's outbox did not deliver every final chunk within the timeout\n${output}`)), Math.max(1, Math.ceil(stopAt - performance.now())));
      }),
    ]).finally(() => clearTimeout(timer));
    const wallS = (performance.now() - started) / 1000;
    const peakRssMb = peakRssKb(child.pid!) / 1024;
    const cpuMsPerMessage = (cpuMs(child.pid!) - cpuBefore) / opts.recipients;

    const sent = summaries.reduce((n, s) => n + s.sent, 0);
    const notSent = summaries.reduce((n, s) => n + s.failed + s.unknown_outcome + s.queued + s.not_claimed + s.not_reached, 0);
    if (sent !== opts.recipients || notSent !== 0) broken.push(`probe: the batches answered ${sent} sent and ${notSent} otherwise, of ${opts.recipients}`);
    for (const s of summaries) if (s.stopped) broken.push(`probe: batch ${s.batch_id} stopped: ${s.stopped}`);
    const c = edge.counts;
    if (c.badSignatures) broken.push(`edge stand-in: ${c.badSignatures} requests with a bad signature`);
    if (edge.recorded() !== opts.recipients || c.sent !== opts.recipients || c.otherOutcomes !== 0) {
      broken.push(`edge stand-in: ${edge.recorded()} recipients recorded (${c.sent} sent, ${c.otherOutcomes} otherwise), not ${opts.recipients}`);
    }
    if (c.recordedUnclaimed || c.recordedTwice || c.pauses) broken.push(`edge stand-in: ${c.recordedUnclaimed} recorded unclaimed, ${c.recordedTwice} recorded twice, ${c.pauses} pauses`);
    sinkAccounts(sink, opts.recipients, "probe", broken);
    const connections = sink.stats().connections;
    return {
      report: {
        wallS, perSecond: opts.recipients / wallS, connections, connectionsPerMessage: connections / opts.recipients, peakRssMb, cpuMsPerMessage,
        claims: c.claims, chunks: c.chunks, busyAnswers,
      },
      fleet,
    };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    removeScratch(work);
  }
}

async function runNaive(opts: ProbeSideOptions, concurrency: number, broken: string[]): Promise<ProbeSideReport["naive"]> {
  const sink = await startRelaySink({ users: { [SINK_USER]: SINK_PASSWORD } });
  try {
    const job: NaiveJob = { host: sink.host, port: sink.port, user: SINK_USER, password: SINK_PASSWORD, caFile: sink.caFile, count: opts.naive, concurrency };
    opts.log(`naive     ${opts.naive} messages, one connection each, ${concurrency} at a time`);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "naive.ts"), JSON.stringify(job)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d).slice(-4000)));
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`the naive sender exited ${code}: ${stderr}`));
      });
    });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { sent: number; failed: number; wallMs: number; cpuMs: number; maxRssKb: number; firstError: string | null };
    if (r.failed > 0) broken.push(`naive: ${r.failed} messages failed, the first: ${r.firstError}`);
    sinkAccounts(sink, opts.naive, "naive", broken);
    const connections = sink.stats().connections;
    const wallS = r.wallMs / 1000;
    return { messages: opts.naive, wallS, perSecond: r.sent / wallS, connections, connectionsPerMessage: connections / opts.naive, peakRssMb: r.maxRssKb / 1024, cpuMsPerMessage: r.cpuMs / opts.naive };
  } finally {
    await sink.stop();
  }
}

export async function probeSide(opts: ProbeSideOptions): Promise<ProbeSideReport> {
  const broken: string[] = [];
  const batches = Math.ceil(opts.recipients / opts.batchSize);
  const probe = await runProbe(opts, broken);
  // The same concurrency: the probe's connections per relay and batch, times the batches it ran at once.
  const concurrency = DEFAULT_CONNECTIONS * Math.min(opts.inflight, batches);
  const naive = await runNaive(opts, concurrency, broken);
  return { recipients: opts.recipients, batches, concurrency, probe: probe.report, naive, fleet: probe.fleet, broken };
}

export function formatProbeSide(r: ProbeSideReport): string {
  const lines: string[] = [];
  const sample = r.naive.messages < r.recipients;
  lines.push(`campaign, probe side: ${r.recipients} recipients in ${r.batches} send batches through one probe to the local relay sink (STARTTLS + AUTH)`);
  lines.push(`fleet Redis: ${r.fleet}`);
  lines.push("");
  const rows: [string, string, string][] = [
    ["", "mxray probe", "naive sender"],
    ["messages", String(r.recipients), sample ? `${r.naive.messages} (sample)` : String(r.naive.messages)],
    ["connections at once", `${r.concurrency} (${DEFAULT_CONNECTIONS} per batch)`, String(r.concurrency)],
    ["wall time (s)", r.probe.wallS.toFixed(1), sample ? `${r.naive.wallS.toFixed(1)} (${(r.recipients / r.naive.perSecond).toFixed(0)} for ${r.recipients}, extrapolated)` : r.naive.wallS.toFixed(1)],
    ["messages/s", r.probe.perSecond.toFixed(1), r.naive.perSecond.toFixed(1)],
    ["connections / message", r.probe.connectionsPerMessage.toFixed(4), r.naive.connectionsPerMessage.toFixed(4)],
    ["sender's CPU ms / message", r.probe.cpuMsPerMessage.toFixed(2), r.naive.cpuMsPerMessage.toFixed(2)],
    ["peak RSS (MB)", r.probe.peakRssMb.toFixed(0), `${r.naive.peakRssMb.toFixed(0)} (its own process)`],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   "));
  lines.push("");
  lines.push(`mxray vs naive sender: ${(r.probe.perSecond / r.naive.perSecond).toFixed(1)}x the messages/s, ${(r.naive.connectionsPerMessage / r.probe.connectionsPerMessage).toFixed(0)}x fewer connections${sample ? " (naive rate from its sample)" : ""}`);
  lines.push(`probe's edge traffic: ${r.probe.claims} claims (${(r.recipients / Math.max(1, r.probe.claims)).toFixed(1)} recipients each), ${r.probe.chunks} send chunks; ${r.probe.busyAnswers} busy answers to POST /v1/sends`);
  lines.push(`every message accounted for: ${r.broken.length === 0 ? "yes" : "NO"}`);
  for (const b of r.broken) lines.push(`  ${b}`);
  return lines.join("\n");
}
