// The soak: one big job through the whole local stack (sqld + the Worker under wrangler dev + one
// probe + the simulated world answering at once), from a streamed CSV upload to `completed`, with
// a sampler reading the job and the account once a second as a dashboard would. It measures what
// the edge absorbs and what a user sees meanwhile (latency, 5xx), checks that every address is
// counted once, and can stop sqld mid-job (an outage) to see the API say "unavailable" and the
// probe keep its chunks. `npm run bench:soak` prints it; e2e/soak.test.ts and e2e/outage.test.ts
// assert on it.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { JobView } from "../core/contracts.ts";
import type { Verdict } from "../core/verdict.ts";
import { createDb } from "../db/client.ts";
import { startStack, type Stack } from "./stack.ts";
import { soakDomain, startWorld, type World } from "./world/index.ts";
import { scratchDir } from "./scratch.ts";

/**
 * "nxdomain": the list, 3 columns over 500 domains that do not exist (answered from DNS,
 * no SMTP). "mixed": half of that, 40% on SMTP hosts that accept `ok-…` and refuse the rest, and
 * some catch-all and SERVFAIL addresses, so every verdict (and a refund) occurs.
 */
export type SoakWorld = "nxdomain" | "mixed";
export const SOAK_WORLDS: SoakWorld[] = ["nxdomain", "mixed"];

const NX_DOMAINS = 500;
const ACCEPTING_DOMAINS = 50;

export type Counts = Record<Verdict, number>;

/** The i-th generated address and the verdict the world gives it. */
export function soakAddress(world: SoakWorld, i: number): { email: string; verdict: Verdict } {
  const nx = { email: `user${i}@nx${i % NX_DOMAINS}.soak.test`, verdict: "undeliverable" as const };
  if (world === "nxdomain") return nx;
  const slot = i % 20;
  if (slot === 0) return { email: `u${i}@servfail.test`, verdict: "unknown" }; // scripted SERVFAIL domain
  if (slot === 1) return { email: `any-${i}@catchall.test`, verdict: "risky" }; // scripted accept-all domain
  if (slot < 10) {
    const domain = soakDomain(i % ACCEPTING_DOMAINS);
    return slot % 2 === 0 ? { email: `ok-${i}@${domain}`, verdict: "deliverable" } : { email: `no-${i}@${domain}`, verdict: "undeliverable" };
  }
  return nx;
}

export function expectedCounts(world: SoakWorld, addresses: number, kind: SoakKind = "verify"): Counts {
  const counts: Counts = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
  // A person at a domain that does not exist: the first candidate's DNS answer ends the search.
  if (kind === "find") return { ...counts, undeliverable: addresses };
  for (let i = 0; i < addresses; i++) counts[soakAddress(world, i).verdict]++;
  return counts;
}

/** A soak verifies addresses, or finds people (a job of kind find, issue 14). */
export type SoakKind = "verify" | "find";

/** A name made of letters only, different for every i. */
function letters(i: number): string {
  let s = "";
  for (let n = i; ; n = Math.floor(n / 26) - 1) {
    s = String.fromCharCode(97 + (n % 26)) + s;
    if (n < 26) return s;
  }
}

/** A list as a streamed CSV, generated as it is read: 1M rows never sit in memory. */
function streamedCsv(header: string, rows: number, line: (i: number) => string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(`${header}\n`));
    },
    pull(controller) {
      if (i >= rows) return controller.close();
      const lines: string[] = [];
      for (const end = Math.min(rows, i + 2_000); i < end; i++) lines.push(`${line(i)}\n`);
      controller.enqueue(encoder.encode(lines.join("")));
    },
  });
}

/** The people list (id,first_name,last_name,domain) on the nxdomain world's domains. */
export const soakPeopleCsv = (people: number) => streamedCsv("id,first_name,last_name,domain", people, (i) => `${i},Ada,Lovelace${letters(i)},nx${i % NX_DOMAINS}.soak.test`);

/** The upload of a soak's list: its path and streamed body. */
export function soakUpload(kind: SoakKind, world: SoakWorld, rows: number, name: string): { path: string; body: ReadableStream<Uint8Array> } {
  if (kind === "find") {
    if (world !== "nxdomain") throw new Error("a find soak runs on the nxdomain world");
    return { path: `/api/v1/jobs?name=${name}&kind=find`, body: soakPeopleCsv(rows) };
  }
  return { path: `/api/v1/jobs?name=${name}`, body: soakCsv(world, rows) };
}

/**
 * The address list (id,email,name): `addresses` unique addresses, and, so the full export is seen
 * to give every data row back (issue 26), after every REPEAT_EVERY-th a repeat of it (upper-cased)
 * and after every REJECT_EVERY-th a row without an address.
 */
export const soakCsv = (world: SoakWorld, addresses: number) =>
  streamedCsv("id,email,name", addresses, (i) => {
    const email = soakAddress(world, i).email;
    let rows = `${i},${email},Person ${i}`;
    if (i % REPEAT_EVERY === REPEAT_EVERY - 1) rows += `\n${i}-again,${email.toUpperCase()},Person ${i} again`;
    if (i % REJECT_EVERY === REJECT_EVERY - 1) rows += `\n${i}-blank,,No address`;
    return rows;
  });
const REPEAT_EVERY = 50;
const REJECT_EVERY = 500;

/** Data rows of a soak's list (its header excluded): what the full export must give back. */
export const soakRows = (kind: SoakKind, rows: number) => (kind === "find" ? rows : rows + Math.floor(rows / REPEAT_EVERY) + Math.floor(rows / REJECT_EVERY));

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
}

export function percentiles(ms: number[]): Percentiles {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : Number.NaN);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99) };
}

/** Peak resident set (VmHWM, kB) of a process, or undefined once it is gone. */
function peakRssKb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Our descendants named `comm` (workerd runs under wrangler, which runs under us). */
function descendantsNamed(comm: string): number[] {
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so cut at the last ")".
      const close = stat.lastIndexOf(")");
      name.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // exited while we looked
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...name].filter(([pid, n]) => n === comm && ours(pid)).map(([pid]) => pid);
}

export interface Answer {
  status: number;
  ms: number;
  code?: string;
  retryAfter: string | null;
}

/**
 * wrangler dev's own proxy answers this, not the Worker, when the keep-alive connection it reuses
 * to reach workerd was closed under it (cloudflare/workers-sdk#14641: the Worker never restarted
 * and never saw the request), and it retries only GET and HEAD itself.
 */
const DEV_PROXY_LOST = "Your worker restarted mid-request.";

/** An API call that never throws: a refused or timed-out request is status 0. A request wrangler dev's proxy lost before the Worker saw it is sent once more. */
export async function apiCall(stack: Stack, path: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<Answer & { body: unknown }> {
  const first = await apiCallOnce(stack, path, init, timeoutMs);
  return first.status === 503 && typeof first.body === "string" && first.body.startsWith(DEV_PROXY_LOST) ? apiCallOnce(stack, path, init, timeoutMs) : first;
}

async function apiCallOnce(stack: Stack, path: string, init: RequestInit, timeoutMs: number): Promise<Answer & { body: unknown }> {
  const started = performance.now();
  try {
    const res = await fetch(`${stack.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${stack.devApiKey}`, ...init.headers },
      signal: AbortSignal.timeout(Math.ceil(timeoutMs)),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the report
    }
    const code = (body as { error?: { code?: string } } | null)?.error?.code;
    return { status: res.status, ms: performance.now() - started, retryAfter: res.headers.get("retry-after"), body, ...(code ? { code } : {}) };
  } catch (err) {
    return { status: 0, ms: performance.now() - started, retryAfter: null, body: String(err) };
  }
}

/** Polls a condition until it holds (a deadline, not a sleep); throws naming what never happened. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100)); // polling
  }
}

/** One sample of a probe's Prometheus metric (labels included in `series`), 0 when absent. */
export async function probeMetric(probeUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${probeUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** What the API must answer while the database is down. */
export const isUnavailable = (a: Answer) => a.status === 503 && a.code === "unavailable" && a.retryAfter !== null;

export interface SoakOutage {
  /** Runs while sqld is down; sqld starts again when it resolves. */
  hold(ctx: { stack: Stack; jobId: string }): Promise<void>;
  /**
   * When sqld stops: at the job's first result (default), or once the first probe holds a batch
   * (with the world paused, it cannot have answered any of it yet).
   */
  at?: "first-result" | "probe-busy";
}

export interface SoakOptions {
  /** Rows of the list: addresses, or people for a find soak. */
  addresses: number;
  world: SoakWorld;
  kind?: SoakKind;
  /** The run stops by itself after this long, complete or not. */
  timeoutMs: number;
  outage?: SoakOutage;
  /** Simulated round trip in the world, to keep a small job in flight long enough. */
  rttMs?: number;
  vars?: Record<string, string>;
  probeEnv?: Record<string, string>;
  log?: (line: string) => void;
}

export interface SoakReport {
  addresses: number;
  world: SoakWorld;
  kind: SoakKind;
  jobId: string | null;
  /** The last view of the job the sampler got. */
  job: JobView | null;
  completed: boolean;
  /** Why the run ended without a completed job, if it did. */
  stopped: string | null;
  upload: Answer | null;
  expected: Counts;
  /** unique / (finished − first result), from the database's own timestamps; for an unfinished job, processed / time since the sampler first saw progress (partial). */
  absorbed: { results: number; seconds: number; perSecond: number; partial: boolean } | null;
  latency: { job: Percentiles; account: Percentiles };
  fiveXX: { sampler: number; uploader: number };
  /** The first few unexpected answers (5xx outside an outage, or a wrong answer inside one). */
  failures: string[];
  outage: { processedAtStop: number; samples: number; unavailable: number; wrong: string[] } | null;
  /** deliverable + undeliverable + risky + unknown = processed = unique. */
  countsAddUp: boolean;
  /** The full CSV export's lines (header excluded) against the list's data rows, repeats and rejects included (issue 26); null when the job did not complete. */
  exportRows: { in: number; out: number; seconds: number } | null;
  countsMatchWorld: boolean;
  /** workerdBeforeExport: workerd's peak before the full export began, so what the export adds shows. */
  peakRssKb: { sqld?: number; workerd?: number; probe?: number; workerdBeforeExport?: number };
  elapsedMs: number;
}

const sumCounts = (c: Counts) => c.deliverable + c.undeliverable + c.risky + c.unknown;
const TERMINAL = new Set(["completed", "failed", "canceled"]);
/** How often the dashboard-like sampler reads the job and the account. */
const SAMPLE_MS = 1_000;

/** The world and the stack a soak runs on; the rate limit is raised so the sampler is never 429'd. */
export async function startSoakStack(opts: Pick<SoakOptions, "world" | "rttMs" | "vars" | "probeEnv" | "log">): Promise<{ world: World; stack: Stack }> {
  const world = await startWorld({ rttMs: opts.rttMs ?? 0, acceptingDomains: opts.world === "mixed" ? ACCEPTING_DOMAINS : 0 });
  try {
    const stack = await startStack({
      dataDir: scratchDir("soak"),
      world,
      probes: 1,
      sweepMs: 2_000,
      vars: { MXRAY_RATE_LIMIT_PER_MIN: "1000000", ...opts.vars },
      ...(opts.probeEnv ? { probeEnv: opts.probeEnv } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    return { world, stack };
  } catch (e) {
    await world.stop();
    throw e;
  }
}

/** Runs one soak on a running stack and reports; never throws for what the stack answers. */
export async function runSoak(stack: Stack, opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  const left = () => Math.max(1, deadline - performance.now());
  const latency = { job: [] as number[], account: [] as number[] };
  const fiveXX = { sampler: 0, uploader: 0 };
  const failures: string[] = [];
  const rss: SoakReport["peakRssKb"] = {};
  const phase: { outage: "before" | "down" | "after" } = { outage: "before" };
  const outage = { processedAtStop: 0, samples: 0, unavailable: 0, wrong: [] as string[] };
  const note = (list: string[], what: string) => list.length < 10 && list.push(what);

  const readRss = () => {
    const max = (a: number | undefined, b: number | undefined) => (b === undefined ? a : Math.max(a ?? 0, b));
    rss.sqld = max(rss.sqld, peakRssKb(stack.sqld.pid));
    rss.probe = max(rss.probe, peakRssKb(stack.probes[0]?.child.pid));
    for (const pid of descendantsNamed("workerd")) rss.workerd = max(rss.workerd, peakRssKb(pid));
  };

  /** A sampled read; an answer counts as part of the outage if the outage covered its send or its answer. */
  const sample = async (kind: "job" | "account", path: string) => {
    const sentDuring = phase.outage === "down";
    const a = await apiCall(stack, path, {}, Math.min(30_000, left()));
    if (sentDuring || phase.outage === "down") {
      outage.samples++;
      if (isUnavailable(a)) outage.unavailable++;
      else if (a.status !== 200) note(outage.wrong, `${kind} ${a.status} ${a.code ?? ""} retry-after=${a.retryAfter}`);
      return a;
    }
    latency[kind].push(a.ms);
    if (a.status >= 500) fiveXX.sampler++;
    if (a.status !== 200) note(failures, `${kind} ${a.status} ${a.code ?? JSON.stringify(a.body).slice(0, 120)}`);
    return a;
  };

  const kind = opts.kind ?? "verify";
  const expected = expectedCounts(opts.world, opts.addresses, kind);
  const report = (job: JobView | null, stopped: string | null, upload: Answer | null, absorbed: SoakReport["absorbed"] = null, exportRows: SoakReport["exportRows"] = null): SoakReport => {
    readRss();
    const countsAddUp = job !== null && sumCounts(job.counts) === job.processed && job.processed === job.unique;
    return {
      addresses: opts.addresses, world: opts.world, kind, jobId: job?.id ?? null, job,
      completed: job?.status === "completed", stopped, upload, expected, absorbed,
      latency: { job: percentiles(latency.job), account: percentiles(latency.account) },
      fiveXX, failures, outage: opts.outage ? outage : null, countsAddUp, exportRows,
      countsMatchWorld: job !== null && JSON.stringify(job.counts) === JSON.stringify(expected),
      peakRssKb: rss, elapsedMs: performance.now() - started,
    };
  };

  // The upload, streamed; the sampler starts with it so ingest's effect on readers is seen too.
  log(`soak      uploading ${opts.addresses} ${kind === "find" ? "people" : "addresses"} (${opts.world})`);
  let uploading = true;
  const sampleAccountWhileUploading = (async () => {
    while (uploading && performance.now() < deadline) {
      const tick = performance.now();
      await sample("account", "/api/v1/account");
      readRss();
      await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (performance.now() - tick)))); // the sampling rate
    }
  })();
  const list = soakUpload(kind, opts.world, opts.addresses, "soak");
  const upload = await apiCall(stack, list.path, { method: "POST", body: list.body, headers: { "content-type": "text/csv" }, duplex: "half" } as RequestInit, left());
  uploading = false;
  await sampleAccountWhileUploading;
  if (upload.status >= 500) fiveXX.uploader++;
  if (upload.status !== 201) {
    note(failures, `upload ${upload.status} ${JSON.stringify(upload.body).slice(0, 200)}`);
    return report(null, `upload answered ${upload.status}`, upload);
  }
  let job = upload.body as JobView;
  log(`soak      job ${job.id}: ${job.unique} unique, upload took ${(upload.ms / 1000).toFixed(1)} s`);

  // The outage begins at the first result, watched closely so the job is still in flight.
  let outageRun: Promise<void> = Promise.resolve();
  let outageFailed: string | null = null;
  if (opts.outage) {
    const hold = opts.outage.hold;
    outageRun = (async () => {
      for (;;) {
        if (performance.now() > deadline) return;
        const a = await apiCall(stack, `/api/v1/jobs/${job.id}`, {}, left());
        if (a.status >= 500) fiveXX.sampler++;
        const seen = a.status === 200 ? (a.body as JobView) : null;
        const at = opts.outage!.at;
        const now = at === "probe-busy" ? (await probeMetric(stack.probes[0]!.url, "mxray_batches_in_flight")) >= 1 : (seen?.processed ?? 0) > 0;
        if (seen && now) {
          outage.processedAtStop = seen.processed;
          break;
        }
        await new Promise((r) => setTimeout(r, 50)); // polling for the first result
      }
      log(`soak      stopping sqld at ${outage.processedAtStop}/${job.unique} processed`);
      phase.outage = "down";
      await stack.sqld.stop();
      try {
        await hold({ stack, jobId: job.id });
      } finally {
        await stack.sqld.start();
        phase.outage = "after";
        log("soak      sqld is back");
      }
    })().catch((err: unknown) => {
      // Kept for the report: the run goes on, and ends with what it gathered.
      outageFailed = `the outage went wrong: ${err instanceof Error ? err.message : String(err)}`;
    });
  }

  let stopped: string | null = null;
  let lastLog = 0;
  let firstProgressAt: number | undefined;
  for (;;) {
    const tick = performance.now();
    const [j] = await Promise.all([sample("job", `/api/v1/jobs/${job.id}`), sample("account", "/api/v1/account")]);
    readRss();
    if (j.status === 200) job = j.body as JobView;
    if (job.processed > 0) firstProgressAt ??= tick;
    if (tick - lastLog > 10_000) {
      lastLog = tick;
      log(`soak      ${job.status} ${job.processed}/${job.unique} after ${((tick - started) / 1000).toFixed(0)} s; 5xx so far ${fiveXX.sampler}`);
    }
    if (TERMINAL.has(job.status) && phase.outage !== "down") break;
    if (performance.now() >= deadline) {
      stopped = `timed out after ${(opts.timeoutMs / 1000).toFixed(0)} s with the job ${job.status} at ${job.processed}/${job.unique}`;
      break;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (performance.now() - tick)))); // the sampling rate
  }
  await outageRun;
  stopped ??= outageFailed;
  if (stopped || job.status !== "completed") {
    const seconds = firstProgressAt === undefined ? 0 : (performance.now() - firstProgressAt) / 1000;
    const partial = seconds > 0 ? { results: job.processed, seconds, perSecond: job.processed / seconds, partial: true } : null;
    return report(job, stopped ?? `job ended ${job.status}`, upload, partial);
  }

  // The rate from the database's own clock: first result written to the job marked finished.
  const { client } = createDb({ url: stack.sqld.url });
  let absorbed: SoakReport["absorbed"] = null;
  try {
    const r = await client.execute({
      sql: "select (select min(created_at) from job_emails where job_id = ?1 and batch_id is not null) as first, (select finished_at from jobs where id = ?1) as finished",
      args: [job.id],
    });
    const first = Number(r.rows[0]!.first);
    const finished = Number(r.rows[0]!.finished);
    const seconds = Math.max(0.001, (finished - first) / 1000);
    absorbed = { results: job.unique, seconds, perSecond: job.unique / seconds, partial: false };
  } finally {
    client.close();
  }
  readRss();
  rss.workerdBeforeExport = rss.workerd;
  log("soak      counting the full export's rows");
  const exportRows = await countExportRows(stack, job.id, soakRows(kind, opts.addresses), left());
  return report(job, null, upload, absorbed, exportRows);
}

/** Streams the job's full CSV export and counts its lines (no soak cell holds a line break), header excluded. */
async function countExportRows(stack: Stack, jobId: string, rowsIn: number, timeoutMs: number): Promise<SoakReport["exportRows"]> {
  const started = performance.now();
  const res = await fetch(`${stack.url}/api/v1/jobs/${jobId}/results?format=csv`, { headers: { authorization: `Bearer ${stack.devApiKey}` }, signal: AbortSignal.timeout(Math.ceil(timeoutMs)) });
  if (!res.ok || !res.body) throw new Error(`the full export answered ${res.status}`);
  let lines = 0;
  const reader = res.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) for (const byte of read.value) if (byte === 10) lines++;
  return { in: rowsIn, out: lines - 1, seconds: (performance.now() - started) / 1000 };
}

/** The report as the bench prints it (the test prints it too when it fails). */
export function formatSoak(r: SoakReport, ceiling?: { rows: number; perSecond: number; rowsPerInsert: number }): string {
  const lines: string[] = [];
  const kb = (n: number | undefined) => (n === undefined ? "n/a" : `${(n / 1024).toFixed(0)} MiB`);
  const row = (label: string, measured: string, beside: string) => lines.push(`${label.padEnd(40)}${measured.padStart(16)}${beside.padStart(22)}`);
  lines.push(`soak: ${r.addresses} ${r.kind === "find" ? "people to find" : "addresses"} (${r.world}) through the local stack, ${(r.elapsedMs / 1000).toFixed(1)} s in all`);
  lines.push(r.stopped ? `NOT COMPLETED: ${r.stopped}` : `job ${r.jobId} completed`);
  if (r.job) lines.push(`job: ${r.job.status}, processed ${r.job.processed}/${r.job.unique}, counts ${JSON.stringify(r.job.counts)}`);
  lines.push(`world's truth: ${JSON.stringify(r.expected)}`);
  lines.push("");
  row("", "mxray edge", ceiling ? "ceiling / target" : "target");
  /** A target beside its verdict, so a reader sees at once which ones this run missed. */
  const target = (text: string, met: boolean) => `${text} ${met ? "(met)" : "(MISSED)"}`;
  const rate = r.absorbed ? Math.round(r.absorbed.perSecond) : null;
  if (r.absorbed?.partial) lines.push(`(results/s so far: ${r.absorbed.results} results in ${r.absorbed.seconds.toFixed(0)} s since the first was seen; the job did not finish)`);
  if (ceiling) {
    row("results/s absorbed", rate === null ? "n/a" : String(rate), `${Math.round(ceiling.perSecond)} (sqld alone)`);
    row("  ratio to the ceiling", rate === null ? "n/a" : `${((100 * rate) / ceiling.perSecond).toFixed(0)}%`, target(">= 50%", rate !== null && rate >= ceiling.perSecond / 2));
  } else {
    row("results/s absorbed", rate === null ? "n/a" : String(rate), "");
  }
  row("GET /api/v1/jobs/:id p50 / p99 (ms)", `${r.latency.job.p50.toFixed(0)} / ${r.latency.job.p99.toFixed(0)}`, target("p99 < 500", r.latency.job.p99 < 500));
  row("GET /api/v1/account p50 / p99 (ms)", `${r.latency.account.p50.toFixed(0)} / ${r.latency.account.p99.toFixed(0)}`, target("p99 < 500", r.latency.account.p99 < 500));
  row("  samples (job / account)", `${r.latency.job.n} / ${r.latency.account.n}`, "");
  row("5xx seen by the sampler / uploader", `${r.fiveXX.sampler} / ${r.fiveXX.uploader}`, target("0 / 0", r.fiveXX.sampler + r.fiveXX.uploader === 0));
  row("counts sum = processed = unique", r.countsAddUp ? "yes" : "NO", target("yes", r.countsAddUp));
  row("counts match the world", r.countsMatchWorld ? "yes" : "NO", target("yes", r.countsMatchWorld));
  const rowsBack = r.exportRows !== null && r.exportRows.out === r.exportRows.in;
  row("full export: rows out = rows in", r.exportRows ? `${r.exportRows.out} / ${r.exportRows.in}` : "n/a", target("equal", rowsBack));
  if (r.exportRows) row("  export time (s)", r.exportRows.seconds.toFixed(1), "");
  row("peak RSS sqld / workerd / probe", `${kb(r.peakRssKb.sqld)} / ${kb(r.peakRssKb.workerd)} / ${kb(r.peakRssKb.probe)}`, "");
  if (r.peakRssKb.workerdBeforeExport !== undefined) row("  workerd's peak before the full export", kb(r.peakRssKb.workerdBeforeExport), "");
  if (r.outage) {
    row("outage: answers while sqld was down", String(r.outage.samples), "");
    // A read sent just before the stop may still be answered 200; anything else than 503 is wrong.
    row("  of them 503 unavailable + Retry-After", String(r.outage.unavailable), target("all but 200s", r.outage.wrong.length === 0));
    row("  processed when sqld stopped", String(r.outage.processedAtStop), `< ${r.job?.unique ?? "unique"}`);
    for (const w of r.outage.wrong) lines.push(`  wrong answer during the outage: ${w}`);
  }
  for (const f of r.failures) lines.push(`unexpected answer: ${f}`);
  if (ceiling) lines.push(`\nceiling: ${ceiling.rows} job_emails rows inserted into a fresh sqld by one process, one ${ceiling.rowsPerInsert}-row insert per round trip (the probe's chunk size)`);
  return lines.join("\n");
}

/** A soak passes when the job completed, nothing answered 5xx outside an outage, every address is counted once as the world says, and the full export gives every row back. */
export const soakPassed = (r: SoakReport) =>
  r.completed && r.fiveXX.sampler === 0 && r.fiveXX.uploader === 0 && r.countsAddUp && r.countsMatchWorld && (r.outage?.wrong.length ?? 0) === 0 &&
  r.exportRows !== null && r.exportRows.out === r.exportRows.in;
