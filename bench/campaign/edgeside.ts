// bench:campaign, the edge's side: a campaign of N recipients through the local stack (sqld + the
// Worker under wrangler dev, e2e/stack.ts), with a stand-in probe instead of real ones, so what is
// measured is how fast the edge absorbs claims and records. Its completed verification job of N
// deliverable rows, a confirmed sender, its relay and a template are written straight into sqld
// (an upload and a verification of 1M rows is bench:soak's); the campaign is created and started
// through the API. The stand-in registers by heartbeat, takes the send batches the Worker
// dispatches to it, and answers each as a probe does (probe/sending/sendbatch.ts), as fast as the
// edge answers: a claim per group of recipients, then a send chunk recording them `sent`, then the
// batch's final chunk; `capacity` batches at a time. Beside it, the ceiling: the same recipient
// updates (queued → sending → sent, one group per statement) by one process straight against a
// fresh sqld, bench:soak's ceiling shape.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SendBatchSchema, SendClaimAnswerSchema, type Heartbeat, type SendBatch, type SendChunk, type SendClaim } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { checkQstashHeader, QSTASH_SIGNATURE_HEADER } from "../../core/qstash.ts";
import { SIGNATURE_HEADER, sign } from "../../core/signing.ts";
import { createDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { startSqld } from "../../db/sqld.ts";
import { scratchDir } from "../../e2e/scratch.ts";
import { apiCall } from "../../e2e/soak.ts";
import { startStack, type Stack } from "../../e2e/stack.ts";
import { SEND_RESULTS_PATH } from "../../probe/outbox.ts";
import { SEND_CLAIM_PATH } from "../../probe/sending/sendbatch.ts";
import { descendantsCpuMs } from "../children.ts";
import { BENCH_SENDER, BENCH_TEMPLATE } from "./mail.ts";

export interface EdgeSideOptions {
  recipients: number;
  /** Send batches the stand-in probe takes at once (its heartbeat's capacity). */
  capacity: number;
  /** Recipients per claim, and so per send chunk (the probe's DEFAULT_GROUP_SIZE). */
  group: number;
  ceiling: boolean;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface EdgeSideReport {
  recipients: number;
  capacity: number;
  group: number;
  batchSize: number | null;
  /** Recipients claimed and recorded per second: from the first claim to the last answer. */
  absorbed: { seconds: number; perSecond: number } | null;
  /** From the start call to `completed`, audience preparation and dispatch included. */
  startToCompletedS: number | null;
  seedS: number;
  ceiling: { perSecond: number; seconds: number } | null;
  requests: { claims: number; chunks: number; retries: number; batches: number; redelivered: number };
  /** Round trips as the stand-in saw them (ms), and its time with no batch to work on. */
  latency: { claim: { p50: number; p99: number }; chunk: { p50: number; p99: number } } | null;
  idleS: number;
  /** The first few answers that were retried (5xx, 429, a lost connection), as the probe would retry them. */
  retried: string[];
  /** CPU ms per recipient from start to completed, by process: sqld, workerd, node (wrangler dev's proxy), and this one (the stand-in probe). */
  cpuPerRecipient: Record<string, number>;
  campaign: { status: string; counts: Record<string, number> } | null;
  recipientsByStatus: Record<string, number>;
  broken: string[];
}

/** Rows per seeding statement: a few seconds of sqld each. */
const SEED_STEP = 100_000;
const HEARTBEAT_MS = 2_000;
const RETRIES = 10;

function percentiles(ms: number[]): { p50: number; p99: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

/** `INSERT … SELECT` over the integers [from, to): rows made inside sqld, not sent over HTTP. */
const SEQ = "WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?2)";

/**
 * One process moving `rows` recipients queued → sending → sent in a fresh sqld, one group per
 * UPDATE and round trip each way: what a perfect edge would do with the same claims and chunks.
 */
async function ceiling(rows: number, group: number, broken: string[]): Promise<{ perSecond: number; seconds: number }> {
  const sqld = await startSqld({ dataDir: scratchDir("bench-campaign-ceiling") });
  try {
    await migrateDb(sqld.url);
    const { client } = createDb({ url: sqld.url });
    try {
      await client.batch(
        [
          "INSERT INTO accounts (id, name, kind) VALUES ('acc_ceiling', 'ceiling', 'personal')",
          `INSERT INTO campaigns (id, account_id, name, job_id, sender_id, template_id, status, consent_basis, consent_source, created_by)
           VALUES ('cmp_ceiling', 'acc_ceiling', 'ceiling', 'job_ceiling', 'snd_ceiling', 'tpl_ceiling', 'sending', 'opt_in', 'bench', 'bench')`,
        ],
        "write",
      );
      for (let from = 0; from < rows; from += SEED_STEP) {
        await client.execute({
          sql: `INSERT INTO campaign_recipients (campaign_id, normalized, email, row_index, status, batch_id, updated_at)
                ${SEQ} SELECT 'cmp_ceiling', 'r' || i || '@inbox.bench.test', 'r' || i || '@inbox.bench.test', i, 'queued', 'sbt_ceiling_' || (i / 200), 0 FROM seq`,
          args: [from, Math.min(rows, from + SEED_STEP)],
        });
      }
      const first = Number((await client.execute("SELECT min(id) AS id FROM campaign_recipients")).rows[0]!.id);
      let moved = 0;
      const started = performance.now();
      for (let i = 0; i < rows; i += group) {
        const ids = JSON.stringify(Array.from({ length: Math.min(group, rows - i) }, (_, k) => first + i + k));
        const now = Date.now();
        const claimed = await client.execute({
          sql: "UPDATE campaign_recipients SET status = 'sending', updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'queued'",
          args: [ids, now],
        });
        const sent = await client.execute({
          sql: "UPDATE campaign_recipients SET status = 'sent', relay_id = 'rly_ceiling', queue_id = 'Q' || id, updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'sending'",
          args: [ids, now],
        });
        if (claimed.rowsAffected !== sent.rowsAffected) broken.push(`ceiling: ${claimed.rowsAffected} claimed but ${sent.rowsAffected} recorded at row ${i}`);
        moved += sent.rowsAffected;
      }
      const seconds = (performance.now() - started) / 1000;
      if (moved !== rows) broken.push(`ceiling: ${moved} recipients moved, not ${rows}`);
      return { perSecond: rows / seconds, seconds };
    } finally {
      client.close();
    }
  } finally {
    await sqld.stop();
  }
}

/** The dev account's completed job of N deliverable rows, a confirmed sender, its relay and a template. */
async function seed(stack: Stack, rows: number): Promise<{ jobId: string; senderId: string; templateId: string }> {
  const account = await apiCall(stack, "/api/v1/account"); // the dev key's first call makes its account
  if (account.status !== 200) throw new Error(`GET /api/v1/account answered ${account.status}`);
  const accountId = (account.body as { id: string }).id;
  const { client } = createDb({ url: stack.sqld.url });
  try {
    const [jobId, relayId, senderId, templateId] = [newId("job"), newId("rly"), newId("snd"), newId("tpl")];
    const now = Date.now();
    await client.batch(
      [
        {
          sql: `INSERT INTO jobs (id, account_id, name, kind, status, total, unique_count, processed, deliverable, columns, email_column, created_at, finished_at)
                VALUES (?1, ?2, 'bench-campaign.csv', 'verify', 'completed', ?3, ?3, ?3, ?3, '["email","first_name"]', 'email', ?4, ?4)`,
          args: [jobId, accountId, rows, now],
        },
        // The stand-in probe never connects to it: a relay without AUTH needs no sealed password.
        {
          sql: `INSERT INTO relays (id, account_id, name, host, port, security, username, password, max_per_minute, max_per_day)
                VALUES (?1, ?2, 'bench relay', '127.0.0.1', 2525, 'none', NULL, NULL, 10000000, 100000000)`,
          args: [relayId, accountId],
        },
        {
          sql: "INSERT INTO senders (id, account_id, from_email, from_name, relay_ids, confirmed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          args: [senderId, accountId, BENCH_SENDER.from_email, BENCH_SENDER.from_name, JSON.stringify([relayId]), now],
        },
        {
          sql: "INSERT INTO templates (id, account_id, name, subject, html, text) VALUES (?1, ?2, 'bench', ?3, ?4, NULL)",
          args: [templateId, accountId, BENCH_TEMPLATE.subject, BENCH_TEMPLATE.html],
        },
      ],
      "write",
    );
    for (let from = 0; from < rows; from += SEED_STEP) {
      await client.execute({
        sql: `INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at)
              ${SEQ} SELECT ?3, 'r' || i || '@inbox.bench.test', 'r' || i || '@inbox.bench.test', i,
                json_array('r' || i || '@inbox.bench.test', 'Reader' || i), 'bat_bench_seed', 'deliverable', 'accepted', '{"verdict":"deliverable"}', ?4 FROM seq`,
        args: [from, Math.min(rows, from + SEED_STEP), jobId, now],
      });
    }
    return { jobId, senderId, templateId };
  } finally {
    client.close();
  }
}

/**
 * A probe as the edge sees it, answering send batches at the edge's pace: registered by signed
 * heartbeats, taking QStash-signed POST /v1/sends, and for each batch claiming groups and
 * recording them through the edge's probe routes, its chunks in order (as the outbox posts them).
 */
async function startStandInProbe(stack: Stack, opts: Pick<EdgeSideOptions, "capacity" | "group" | "log">) {
  const probeId = `prb_bench_${Date.now().toString(36)}`;
  const secret = stack.secrets.probeSecret;
  const counts = { claims: 0, chunks: 0, retries: 0, batches: 0, redelivered: 0, stops: [] as string[], failures: [] as string[], retried: [] as string[] };
  const claimed = new Set<number>();
  let grantedTwice = 0;
  let firstClaimAt: number | null = null;
  let lastAnswerAt = 0;
  const running = new Set<string>();
  const latencies: Record<string, number[]> = { [SEND_CLAIM_PATH]: [], [SEND_RESULTS_PATH]: [] };
  // Time with no batch to work on, once the first arrived: waiting for the edge to dispatch.
  let idleMs = 0;
  let idleSince: number | null = null;
  const queue: SendBatch[] = [];

  /** A signed POST to the edge, retried as the probe retries (5xx, 429, a lost connection). */
  async function post(path: string, payload: unknown): Promise<unknown> {
    const body = JSON.stringify(payload);
    for (let attempt = 1; ; attempt++) {
      let why: string;
      const sent = performance.now();
      try {
        const res = await fetch(`${stack.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(secret, { method: "POST", path }, body) },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        if (res.ok) {
          lastAnswerAt = performance.now();
          latencies[path]?.push(lastAnswerAt - sent);
          return JSON.parse(text) as unknown;
        }
        why = `${res.status} ${text.slice(0, 200)}`;
        if (res.status < 500 && res.status !== 429) throw new Error(`${path} answered ${why}`);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith(path)) throw e;
        why = String(e);
      }
      if (attempt >= RETRIES) throw new Error(`${path}: ${why} after ${attempt} attempts`);
      counts.retries++;
      if (counts.retried.length < 3) counts.retried.push(`${path}: ${why}`);
      await new Promise((r) => setTimeout(r, 200 * attempt)); // the probe's backoff, shortened
    }
  }

  async function runBatch(batch: SendBatch): Promise<void> {
    const relayId = batch.relays[0]!.id;
    let seq = 0;
    let chunks: Promise<unknown> = Promise.resolve();
    const push = (chunk: Omit<SendChunk, "kind" | "probe_id" | "batch_id" | "campaign_id" | "attempt" | "seq">) => {
      const full: SendChunk = { kind: "send", probe_id: probeId, batch_id: batch.batch_id, campaign_id: batch.campaign_id, attempt: batch.attempt, seq: seq++, ...chunk };
      chunks = chunks.then(() => post(SEND_RESULTS_PATH, full)).then(() => void counts.chunks++);
    };
    for (let i = 0; i < batch.recipients.length; i += opts.group) {
      const ids = batch.recipients.slice(i, i + opts.group).map((r) => r.id);
      const claim: SendClaim = { probe_id: probeId, batch_id: batch.batch_id, campaign_id: batch.campaign_id, attempt: batch.attempt, ids };
      firstClaimAt ??= performance.now();
      const answer = SendClaimAnswerSchema.parse(await post(SEND_CLAIM_PATH, claim));
      counts.claims++;
      for (const id of answer.claimed) (claimed.has(id) ? grantedTwice++ : claimed.add(id));
      if (answer.stop !== null) {
        counts.stops.push(`${batch.batch_id}: ${answer.stop}`);
        break;
      }
      const outcomes = answer.claimed.map((id) => ({ id, status: "sent" as const, relay_id: relayId, queue_id: `BENCH${id}`, reply: { code: 250, enhanced: "2.0.0", message: `Ok: queued as BENCH${id}` } }));
      if (outcomes.length > 0) push({ final: false, outcomes });
    }
    push({ final: true, outcomes: [] });
    await chunks;
  }

  function pump(): void {
    if (idleSince !== null && queue.length > 0) {
      idleMs += performance.now() - idleSince;
      idleSince = null;
    }
    while (running.size < opts.capacity && queue.length > 0) {
      const batch = queue.shift()!;
      running.add(batch.batch_id);
      counts.batches++;
      void runBatch(batch)
        .catch((e: unknown) => void (counts.failures.length < 10 && counts.failures.push(`${batch.batch_id}: ${e instanceof Error ? e.message : String(e)}`)))
        .finally(() => {
          running.delete(batch.batch_id);
          if (running.size === 0 && queue.length === 0) idleSince = performance.now();
          pump();
        });
    }
  }

  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", async () => {
      const answer = (status: number, json: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
      if (req.method !== "POST" || req.url !== "/v1/sends") return answer(404, { error: "not_found" });
      const checked = await checkQstashHeader([stack.secrets.signingKey], req.headers[QSTASH_SIGNATURE_HEADER] as string | undefined, `${url}/v1/sends`);
      if (!checked.ok) return answer(401, { error: checked.error });
      const parsed = SendBatchSchema.safeParse(JSON.parse(Buffer.concat(parts).toString("utf8")));
      if (!parsed.success) return answer(400, { error: "invalid_batch" });
      if (running.has(parsed.data.batch_id) || queue.some((b) => b.batch_id === parsed.data.batch_id)) {
        counts.redelivered++;
        return answer(409, { error: "already_running" });
      }
      // Taken now and answered when done in the background, as QStash's delivery lets a probe.
      queue.push(parsed.data);
      pump();
      answer(200, { accepted: parsed.data.batch_id });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const heartbeat = () => {
    const hb: Heartbeat = { probe_id: probeId, url, version: "bench", in_flight: running.size, capacity: opts.capacity, draining: false, sent_at: new Date().toISOString() };
    return post("/internal/probes/heartbeat", hb);
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat().catch((e: unknown) => opts.log(`stand-in  heartbeat failed: ${String(e)}`)), HEARTBEAT_MS);
  opts.log(`stand-in  probe ${probeId} at ${url}, taking ${opts.capacity} send batches at once, claims of ${opts.group}`);
  return {
    counts,
    claimed: () => claimed.size,
    grantedTwice: () => grantedTwice,
    window: () => (firstClaimAt === null ? null : { seconds: (lastAnswerAt - firstClaimAt) / 1000 }),
    idle: () => running.size === 0 && queue.length === 0,
    idleSeconds: () => idleMs / 1000,
    latencies: () => ({ claim: percentiles(latencies[SEND_CLAIM_PATH]!), chunk: percentiles(latencies[SEND_RESULTS_PATH]!) }),
    close: () => (clearInterval(timer), new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections()))),
  };
}

export async function edgeSide(opts: EdgeSideOptions): Promise<EdgeSideReport> {
  const broken: string[] = [];
  const N = opts.recipients;
  let ceilingFigures: EdgeSideReport["ceiling"] = null;
  if (opts.ceiling) {
    opts.log(`ceiling   ${N} recipients queued → sending → sent in a fresh sqld, ${opts.group} per UPDATE`);
    ceilingFigures = await ceiling(N, opts.group, broken);
    opts.log(`ceiling   ${Math.round(ceilingFigures.perSecond)} recipients/s`);
  }

  const stack = await startStack({ dataDir: scratchDir("bench-campaign-edge"), probes: 0, sweepMs: 2_000, vars: { MXRAY_RATE_LIMIT_PER_MIN: "1000000" }, log: opts.log });
  const report: EdgeSideReport = {
    recipients: N, capacity: opts.capacity, group: opts.group, batchSize: null, absorbed: null, startToCompletedS: null, seedS: 0, ceiling: ceilingFigures,
    requests: { claims: 0, chunks: 0, retries: 0, batches: 0, redelivered: 0 }, latency: null, idleS: 0, retried: [], cpuPerRecipient: {}, campaign: null, recipientsByStatus: {}, broken,
  };
  try {
    const seedStarted = performance.now();
    const world = await seed(stack, N);
    report.seedS = (performance.now() - seedStarted) / 1000;
    opts.log(`seed      job ${world.jobId}: ${N} deliverable rows, a confirmed sender and its relay, in ${report.seedS.toFixed(1)} s`);
    const probe = await startStandInProbe(stack, opts);
    try {
      const created = await apiCall(stack, "/api/v1/campaigns", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "bench", job_id: world.jobId, sender_id: world.senderId, template_id: world.templateId, consent: { basis: "opt_in", source: "bench:campaign's generated list" } }),
      });
      if (created.status !== 201) throw new Error(`POST /api/v1/campaigns answered ${created.status}: ${JSON.stringify(created.body)}`);
      const id = (created.body as { id: string }).id;
      const cpuBefore = { children: descendantsCpuMs(), self: process.cpuUsage() };
      const startedAt = performance.now();
      const start = await apiCall(stack, `/api/v1/campaigns/${id}/start`, { method: "POST" });
      if (start.status !== 200) throw new Error(`POST /api/v1/campaigns/${id}/start answered ${start.status}: ${JSON.stringify(start.body)}`);
      opts.log(`campaign  ${id} started`);

      const deadline = startedAt + opts.timeoutMs;
      let lastLog = performance.now();
      type View = { status: string; counts: Record<string, number> };
      let view = null as View | null;
      for (;;) {
        const got = await apiCall(stack, `/api/v1/campaigns/${id}`);
        if (got.status === 200) view = got.body as View;
        else broken.push(`GET /api/v1/campaigns/${id} answered ${got.status}`);
        if (view && ["completed", "canceled", "failed", "paused"].includes(view.status)) break;
        if (probe.counts.failures.length > 0) break;
        if (performance.now() > deadline) {
          broken.push(`timed out after ${(opts.timeoutMs / 1000).toFixed(0)} s with the campaign ${view?.status} at ${view?.counts.sent}/${N} sent`);
          break;
        }
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          opts.log(`campaign  ${view?.status}: audience ${view?.counts.audience}, sent ${view?.counts.sent}/${N} after ${((lastLog - startedAt) / 1000).toFixed(0)} s`);
        }
        await new Promise((r) => setTimeout(r, 500)); // polling, as a dashboard would
      }
      if (view?.status === "completed") report.startToCompletedS = (performance.now() - startedAt) / 1000;
      const cpuAfter = descendantsCpuMs();
      const self = process.cpuUsage(cpuBefore.self);
      for (const comm of ["sqld", "workerd", "node"]) report.cpuPerRecipient[comm] = ((cpuAfter.get(comm) ?? 0) - (cpuBefore.children.get(comm) ?? 0)) / N;
      report.cpuPerRecipient["stand-in"] = (self.user + self.system) / 1000 / N;
      report.campaign = view;
      // The last answers may still be on their way when the poll sees `completed`.
      for (let i = 0; i < 100 && !probe.idle(); i++) await new Promise((r) => setTimeout(r, 100));
      const window = probe.window();
      if (window && view?.status === "completed") report.absorbed = { seconds: window.seconds, perSecond: N / window.seconds };
      const { claims, chunks, retries, batches, redelivered } = probe.counts;
      report.requests = { claims, chunks, retries, batches, redelivered };
      report.latency = probe.latencies();
      report.idleS = probe.idleSeconds();
      report.retried = probe.counts.retried;

      const { client } = createDb({ url: stack.sqld.url });
      try {
        const byStatus = await client.execute({ sql: "SELECT status, count(*) AS n FROM campaign_recipients WHERE campaign_id = ? GROUP BY status", args: [id] });
        report.recipientsByStatus = Object.fromEntries(byStatus.rows.map((r) => [String(r.status), Number(r.n)]));
        const size = await client.execute({ sql: "SELECT max(size) AS size, sum(status <> 'done') AS open FROM send_batches WHERE campaign_id = ?", args: [id] });
        report.batchSize = Number(size.rows[0]!.size);
        if (Number(size.rows[0]!.open) !== 0) broken.push(`${Number(size.rows[0]!.open)} send batches not done`);
      } finally {
        client.close();
      }
      for (const f of probe.counts.failures) broken.push(`stand-in probe: ${f}`);
      for (const s of probe.counts.stops.slice(0, 5)) broken.push(`stand-in probe was told to stop: ${s}`);
      if (view?.status !== "completed") broken.push(`the campaign ended ${view?.status ?? "unseen"}`);
      const c = view?.counts ?? {};
      if (c.audience !== N || c.sent !== N) broken.push(`counts: audience ${c.audience}, sent ${c.sent}, not ${N}`);
      const others = ["failed", "suppressed", "skipped_unverified", "unknown_outcome"].filter((k) => (c[k] ?? 0) !== 0);
      if (others.length) broken.push(`counts not zero: ${others.map((k) => `${k} ${c[k]}`).join(", ")}`);
      if (report.recipientsByStatus.sent !== N || Object.keys(report.recipientsByStatus).length !== 1) broken.push(`recipients by status: ${JSON.stringify(report.recipientsByStatus)}`);
      if (probe.claimed() !== N || probe.grantedTwice() !== 0) broken.push(`the stand-in was granted ${probe.claimed()} recipients (${probe.grantedTwice()} twice), not ${N}`);
    } finally {
      await probe.close();
    }
  } finally {
    await stack.stop();
  }
  return report;
}

export function formatEdgeSide(r: EdgeSideReport): string {
  const lines: string[] = [];
  const row = (label: string, ours: string, beside: string) => lines.push(`${label.padEnd(36)}${ours.padStart(14)}${beside.padStart(22)}`);
  lines.push(`campaign, edge side: ${r.recipients} recipients through the local stack (sqld + the Worker under wrangler dev), send batches of ${r.batchSize ?? "?"},`);
  lines.push(`a stand-in probe taking ${r.capacity} batches at once, claiming ${r.group} at a time and recording each group in one send chunk`);
  lines.push("");
  row("", "mxray edge", r.ceiling ? "ceiling" : "");
  const ours = r.absorbed ? String(Math.round(r.absorbed.perSecond)) : "n/a";
  row("recipients claimed+recorded/s", ours, r.ceiling ? `${Math.round(r.ceiling.perSecond)} (sqld alone)` : "");
  if (r.ceiling) row("  percent of the ceiling", r.absorbed ? `${((100 * r.absorbed.perSecond) / r.ceiling.perSecond).toFixed(0)}%` : "n/a", "");
  row("seconds, first claim to last answer", r.absorbed ? r.absorbed.seconds.toFixed(1) : "n/a", r.ceiling ? `${r.ceiling.seconds.toFixed(1)} (one process)` : "");
  row("seconds, start to completed", r.startToCompletedS === null ? "n/a" : r.startToCompletedS.toFixed(1), "");
  lines.push("");
  lines.push(`requests: ${r.requests.batches} send batches taken, ${r.requests.claims} claims, ${r.requests.chunks} send chunks, ${r.requests.retries} retried, ${r.requests.redelivered} batches delivered again`);
  if (r.latency) {
    const ms = (p: { p50: number; p99: number }) => `${p.p50.toFixed(0)} / ${p.p99.toFixed(0)} ms`;
    lines.push(`round trips p50 / p99: claim ${ms(r.latency.claim)}, send chunk ${ms(r.latency.chunk)}; the stand-in waited ${r.idleS.toFixed(1)} s with no batch (dispatch)`);
  }
  const cpu = Object.entries(r.cpuPerRecipient);
  if (cpu.length) lines.push(`CPU ms per recipient, start to completed: ${cpu.map(([k, v]) => `${k === "node" ? "wrangler dev (node)" : k} ${v.toFixed(2)}`).join(", ")}`);
  for (const why of r.retried) lines.push(`  retried: ${why}`);
  lines.push(`campaign: ${r.campaign?.status ?? "unseen"}, counts ${JSON.stringify(r.campaign?.counts ?? {})}; recipients by status ${JSON.stringify(r.recipientsByStatus)}`);
  lines.push(`seeding the job's ${r.recipients} rows took ${r.seedS.toFixed(1)} s (not counted)`);
  lines.push(`every recipient accounted for: ${r.broken.length === 0 ? "yes" : "NO"}`);
  for (const b of r.broken) lines.push(`  ${b}`);
  if (r.ceiling) lines.push(`\nceiling: ${r.recipients} campaign_recipients rows moved queued → sending → sent in a fresh sqld by one process, one ${r.group}-row UPDATE per round trip each way`);
  return lines.join("\n");
}
