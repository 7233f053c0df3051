// `mxray jobs|check|find|webhooks …`: the commands that talk to the service through its API, configured
// by MXRAY_API_URL and MXRAY_API_KEY. probe/cli.ts loads this file only when one of them runs, so
// the probe's bundle (probe/build.ts) keeps none of the client's dependencies.
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { extname } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isTerminal, type JobProgress } from "../core/live.ts";
import { VERDICTS } from "../core/verdict.ts";
import { createMxrayClient, MxrayApiError, type FindPerson, type Job, type JobKind, type MxrayClient, type ResultFormat, type Verdict, type WebhookEvent } from "./index.ts";

/** Exit statuses of the API commands; docs/api.md lists them. */
export const EXIT = {
  ok: 0,
  /** The job ended failed or canceled. */
  jobNotCompleted: 1,
  usage: 2,
  /** MXRAY_API_URL or MXRAY_API_KEY is missing or malformed. */
  config: 3,
  /** The API answered an error, or could not be reached. */
  api: 4,
} as const;

export const API_USAGE = `mxray — commands that talk to the mxray service (set MXRAY_API_URL and MXRAY_API_KEY)

Usage:
  mxray jobs create FILE [--kind verify|find] [--name N] [--wait] [--out F] [--format csv|json|jsonl|xlsx] [--verdict V,…] [--poll MS]
  mxray jobs list [--limit N] [--json]
  mxray jobs get ID
  mxray jobs results ID [--format csv|json|jsonl|xlsx] [--verdict V,…] [--out F]
  mxray jobs cancel ID
  mxray check ADDRESS [--json]
  mxray find (--first F --last L | --name "FULL NAME") --domain D [--json]
  mxray webhooks list [--json]
  mxray webhooks create --url URL --events E,… [--description D]
  mxray webhooks delete ID

jobs create:
  FILE                   a CSV/TSV (the email column is found by its header or content) or a
                         plain list, one address per line; streamed to the API
  --kind find            FILE lists people (columns first_name,last_name or full_name, and
                         domain or website): each one's address is found (default: verify)
  --name N               the job's name (default: the API's)
  --wait                 follow the job until it ends, with a progress bar on stderr (over the
                         job's WebSocket, polling GET /jobs/:id if the socket fails); the id is
                         printed on stdout first
  --out F                when the job ends, write its results to F (implies --wait)
  --format FMT           format of --out: csv (default; the uploaded columns and ours), json, jsonl,
                         xlsx (the CSV's columns in a workbook)
  --verdict V,…          only these verdicts in --out: ${VERDICTS.join(", ")}
  --poll MS              polling interval when the socket cannot be used (default 1000)

jobs results: the results so far, to stdout or --out (default format jsonl; xlsx needs --out).
jobs list: newest first, a table (--json: the API's page). jobs get and jobs cancel print the job as JSON.
check: one address verified now by a probe; prints verdict and reason (--json: the whole result).
find: a person's address at a company domain (or website), its candidates verified now by a probe;
  prints the address, verdict, reason, confidence and pattern, or that none was found (--json: the
  whole answer). Exit status ${EXIT.ok} whether or not an address was found.
webhooks create: prints the endpoint with its signing secret, which is shown only once.

Environment:
  MXRAY_API_URL          the service, e.g. http://127.0.0.1:8787 (npm start) or https://your-worker
  MXRAY_API_KEY          an API key (mx_live_… or mx_test_…; npm start prints a local one)

Exit status: ${EXIT.ok} done (a waited job completed), ${EXIT.jobNotCompleted} the job failed or was canceled,
${EXIT.usage} usage error, ${EXIT.config} MXRAY_API_URL or MXRAY_API_KEY missing or malformed, ${EXIT.api} the API answered an
error or could not be reached.`;

export class UsageError extends Error {}

export type ApiCommand =
  | { kind: "help" }
  | { kind: "jobs.create"; file: string; jobKind: JobKind; name?: string; wait: boolean; out?: string; format: ResultFormat; verdicts: Verdict[]; pollMs?: number }
  | { kind: "jobs.list"; limit?: number; json: boolean }
  | { kind: "jobs.get"; id: string }
  | { kind: "jobs.results"; id: string; format: ResultFormat; verdicts: Verdict[]; out?: string }
  | { kind: "jobs.cancel"; id: string }
  | { kind: "check"; address: string; json: boolean }
  | { kind: "find"; person: FindPerson; json: boolean }
  | { kind: "webhooks.list"; json: boolean }
  | { kind: "webhooks.create"; url: string; events: string[]; description?: string }
  | { kind: "webhooks.delete"; id: string };

const FORMATS: readonly ResultFormat[] = ["csv", "json", "jsonl", "xlsx"];
const JOB_KINDS: readonly JobKind[] = ["verify", "find"];

function format(value: string | undefined, fallback: ResultFormat): ResultFormat {
  if (value === undefined) return fallback;
  if (!(FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format takes ${FORMATS.join(", ")}, got "${value}"`);
  return value as ResultFormat;
}

function verdicts(value: string | undefined): Verdict[] {
  if (value === undefined) return [];
  const asked = value.split(",").map((v) => v.trim().toLowerCase()).filter(Boolean);
  const bad = asked.filter((v) => !(VERDICTS as readonly string[]).includes(v));
  if (bad.length || asked.length === 0) throw new UsageError(`--verdict takes a comma-separated list of ${VERDICTS.join(", ")}, got "${value}"`);
  return asked as Verdict[];
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, got "${value}"`);
  return n;
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}${positionals.length ? `, got ${positionals.length}` : ""}`);
  return positionals[0]!;
}

/** Commands without a subcommand. */
const SINGLE = ["check", "find"];

/** The command line of an API command (`command` is jobs, check, find or webhooks), checked before any request. */
export function parseApiCommand(command: string, argv: string[]): ApiCommand {
  const single = SINGLE.includes(command);
  const [sub, ...rest] = single ? ["", ...argv] : argv;
  if (argv.includes("--help") || argv.includes("-h") || (!single && (sub === undefined || sub === "help"))) return { kind: "help" };
  const parse = (options: ParseArgsConfig["options"]) => {
    const parsed = parseArgs({ args: rest, allowPositionals: true, options });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  };
  switch (`${command} ${sub}`) {
    case "jobs create": {
      const { values: v, positionals } = parse({
        kind: { type: "string" },
        name: { type: "string" },
        wait: { type: "boolean" },
        out: { type: "string" },
        format: { type: "string" },
        verdict: { type: "string" },
        poll: { type: "string" },
      });
      const file = one(positionals, "FILE");
      if (!v.out && (v.verdict !== undefined || v.format !== undefined)) throw new UsageError("--verdict and --format apply to --out; give --out too");
      const pollMs = positiveInt("poll", v.poll as string | undefined);
      const jobKind = (v.kind as string | undefined) ?? "verify";
      if (!(JOB_KINDS as readonly string[]).includes(jobKind)) throw new UsageError(`--kind takes ${JOB_KINDS.join(" or ")}, got "${jobKind}"`);
      return {
        kind: "jobs.create",
        file,
        jobKind: jobKind as JobKind,
        ...(v.name !== undefined ? { name: v.name as string } : {}),
        wait: Boolean(v.wait || v.out),
        ...(v.out ? { out: v.out as string } : {}),
        format: format(v.format as string | undefined, "csv"),
        verdicts: verdicts(v.verdict as string | undefined),
        ...(pollMs ? { pollMs } : {}),
      };
    }
    case "jobs list": {
      const { values: v, positionals } = parse({ limit: { type: "string" }, json: { type: "boolean" } });
      if (positionals.length) throw new UsageError(`jobs list takes no arguments, got "${positionals[0]}"`);
      const limit = positiveInt("limit", v.limit as string | undefined);
      if (limit !== undefined && limit > 100) throw new UsageError("--limit is at most 100");
      return { kind: "jobs.list", ...(limit ? { limit } : {}), json: Boolean(v.json) };
    }
    case "jobs get":
    case "jobs cancel":
      return { kind: sub === "get" ? "jobs.get" : "jobs.cancel", id: one(parse({}).positionals, "job ID") };
    case "jobs results": {
      const { values: v, positionals } = parse({ format: { type: "string" }, verdict: { type: "string" }, out: { type: "string" } });
      const asked = format(v.format as string | undefined, "jsonl");
      // A workbook is a zip: not for a terminal.
      if (asked === "xlsx" && !v.out) throw new UsageError("--format xlsx writes a file; give --out F");
      return {
        kind: "jobs.results",
        id: one(positionals, "job ID"),
        format: asked,
        verdicts: verdicts(v.verdict as string | undefined),
        ...(v.out ? { out: v.out as string } : {}),
      };
    }
    case "check ": {
      const { values: v, positionals } = parse({ json: { type: "boolean" } });
      return { kind: "check", address: one(positionals, "ADDRESS"), json: Boolean(v.json) };
    }
    case "find ": {
      const { values: v, positionals } = parse({
        first: { type: "string" },
        last: { type: "string" },
        name: { type: "string" },
        domain: { type: "string" },
        json: { type: "boolean" },
      });
      if (positionals.length) throw new UsageError(`find takes flags only, not "${positionals[0]}"`);
      const [first, last, name, domain] = [v.first, v.last, v.name, v.domain].map((x) => (x as string | undefined)?.trim() || undefined);
      if (!domain) throw new UsageError("find needs --domain D (the company's mail domain or website)");
      // Whether the name has letters enough is the server's to say (a 400 validation_failed).
      if (name ? first || last : !(first && last)) throw new UsageError('find needs --first F --last L, or --name "FULL NAME" (not both)');
      const person: FindPerson = name ? { full_name: name, domain } : { first_name: first!, last_name: last!, domain };
      return { kind: "find", person, json: Boolean(v.json) };
    }
    case "webhooks list": {
      const { values: v, positionals } = parse({ json: { type: "boolean" } });
      if (positionals.length) throw new UsageError(`webhooks list takes no arguments, got "${positionals[0]}"`);
      return { kind: "webhooks.list", json: Boolean(v.json) };
    }
    case "webhooks create": {
      const { values: v, positionals } = parse({ url: { type: "string" }, events: { type: "string" }, description: { type: "string" } });
      if (positionals.length) throw new UsageError(`webhooks create takes --url and --events, not "${positionals[0]}"`);
      const url = v.url as string | undefined;
      if (!url) throw new UsageError("webhooks create needs --url URL");
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
      const events = ((v.events as string | undefined) ?? "").split(",").map((e) => e.trim()).filter(Boolean);
      // Which events exist is the server's to say (it answers validation_failed); an empty list is never right.
      if (events.length === 0) throw new UsageError("webhooks create needs --events, e.g. --events job.completed,job.failed");
      return { kind: "webhooks.create", url, events, ...(v.description !== undefined ? { description: v.description as string } : {}) };
    }
    case "webhooks delete":
      return { kind: "webhooks.delete", id: one(parse({}).positionals, "webhook ID") };
    default:
      throw new UsageError(`unknown command "${[command, sub].filter(Boolean).join(" ")}"`);
  }
}

export class ConfigError extends Error {}

/** MXRAY_API_URL (an http(s) origin; a trailing /api/v1 is forgiven) and MXRAY_API_KEY. */
export function apiConfigFrom(env: NodeJS.ProcessEnv): { baseUrl: string; apiKey: string } {
  const missing = ["MXRAY_API_URL", "MXRAY_API_KEY"].filter((k) => !env[k]?.trim());
  if (missing.length) {
    throw new ConfigError(
      `set ${missing.join(" and ")}: MXRAY_API_URL is the service (e.g. http://127.0.0.1:8787 for npm start), MXRAY_API_KEY an API key (mx_live_… or mx_test_…)`,
    );
  }
  const raw = env.MXRAY_API_URL!.trim();
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new ConfigError(`MXRAY_API_URL must be an http(s) URL, got "${raw}"`);
  return { baseUrl: raw.replace(/\/+$/, "").replace(/\/api\/v1$/, ""), apiKey: env.MXRAY_API_KEY!.trim() };
}

/** The content type the API reads a file as, by its name. */
export function contentTypeOf(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === ".txt") return "text/plain";
  if (ext === ".tsv") return "text/tab-separated-values";
  return "text/csv";
}

/**
 * Job progress on stderr: one line redrawn in place on a terminal; elsewhere (CI logs, a file) a
 * line each time another 10% is done, so the log stays short.
 */
export function progressReporter(out: { write(s: string): unknown }, isTTY: boolean) {
  let lastStep = -1;
  let lastLine = "";
  return {
    update(job: JobProgress) {
      const fraction = job.unique ? job.processed / job.unique : isTerminal(job.status) ? 1 : 0;
      const pct = Math.floor(fraction * 100);
      if (isTTY) {
        const width = 30;
        const filled = Math.round(fraction * width);
        const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${job.processed}/${job.unique} ${pct}% ${job.status}`;
        if (line !== lastLine) out.write(`\r${line} `);
        lastLine = line;
        return;
      }
      const step = Math.floor(pct / 10);
      if (step > lastStep) {
        lastStep = step;
        out.write(`${job.id}: ${pct}% (${job.processed}/${job.unique}) ${job.status}\n`);
      }
    },
    end() {
      if (isTTY && lastLine) out.write("\n");
    },
  };
}

export interface Io {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

async function writeStream(body: ReadableStream<Uint8Array>, out: string | undefined, io: Io): Promise<void> {
  const source = Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>);
  if (out) await pipeline(source, createWriteStream(out));
  else await pipeline(source, io.stdout, { end: false });
}

const countsLine = (job: Job) =>
  `${job.id} ${job.status}: ${job.processed}/${job.unique} checked (${Object.entries(job.counts).map(([k, n]) => `${n} ${k}`).join(", ")})`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}

/** The webhooks API is newer than some servers: say so instead of a bare 404. */
function webhooksMissing(e: unknown, path: string): never {
  if (e instanceof MxrayApiError && e.status === 404 && /^No route/.test(e.message)) {
    throw new MxrayApiError("not_found", `this server has no webhooks API (${path} answered 404); it may be older than webhooks`, 404, e.requestId);
  }
  throw e;
}

async function run(cmd: Exclude<ApiCommand, { kind: "help" }>, client: MxrayClient, io: Io): Promise<number> {
  const print = (s: string) => void io.stdout.write(s);
  const json = (v: unknown) => {
    print(`${JSON.stringify(v, null, 2)}\n`);
    return EXIT.ok;
  };
  switch (cmd.kind) {
    case "jobs.create": {
      try {
        if (!statSync(cmd.file).isFile()) throw new UsageError(`${cmd.file} is not a file`);
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`cannot read ${cmd.file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
      const body = Readable.toWeb(createReadStream(cmd.file)) as ReadableStream<Uint8Array>;
      const created = await client.uploadList(body, contentTypeOf(cmd.file), cmd.name, cmd.jobKind);
      print(`${created.id}\n`);
      if (!cmd.wait) return EXIT.ok;
      const bar = progressReporter(io.stderr, Boolean(io.stderr.isTTY));
      const job = await client.waitForJob(created.id, {
        onProgress: (p) => bar.update(p),
        onFallback: (why) => io.stderr.write(`\nmxray: live progress unavailable (${why}); polling the job instead\n`),
        ...(cmd.pollMs ? { pollMs: cmd.pollMs } : {}),
      });
      bar.end();
      io.stderr.write(`${countsLine(job)}\n`);
      if (job.status !== "completed") return EXIT.jobNotCompleted;
      if (cmd.out) {
        await writeStream(await client.results(job.id, cmd.format, cmd.verdicts), cmd.out, io);
        io.stderr.write(`results written to ${cmd.out}\n`);
      }
      return EXIT.ok;
    }
    case "jobs.list": {
      const page = await client.listJobs(cmd.limit);
      if (cmd.json) return json(page);
      const rows = page.data.map((j) => [j.id, j.name, j.status, `${j.processed}/${j.unique}`, j.created_at]);
      print(table([["ID", "NAME", "STATUS", "CHECKED", "CREATED"], ...rows]));
      if (page.next_cursor) io.stderr.write(`(more jobs: newest ${page.data.length} shown)\n`);
      return EXIT.ok;
    }
    case "jobs.get":
      return json(await client.getJob(cmd.id));
    case "jobs.cancel":
      return json(await client.cancelJob(cmd.id));
    case "jobs.results":
      await writeStream(await client.results(cmd.id, cmd.format, cmd.verdicts), cmd.out, io);
      return EXIT.ok;
    case "check": {
      const r = await client.verify(cmd.address);
      if (cmd.json) return json(r);
      print(`${r.email}  ${r.verdict}  ${r.reason}  score ${r.score}${r.suggestion ? `  (did you mean ${r.suggestion}?)` : ""}\n`);
      return EXIT.ok;
    }
    case "find": {
      const r = await client.find(cmd.person);
      if (cmd.json) return json(r);
      const asked = `${r.candidates.length} candidate${r.candidates.length === 1 ? "" : "s"} asked`;
      print(r.email ? `${r.email}  ${r.verdict}  ${r.reason}  confidence ${r.confidence}%  pattern ${r.pattern ?? "-"}\n` : `no address found: ${r.verdict} ${r.reason} (${asked})\n`);
      return EXIT.ok;
    }
    case "webhooks.list": {
      const got = await client.listWebhooks().catch((e) => webhooksMissing(e, "GET /api/v1/webhooks"));
      if (cmd.json) return json(got);
      print(table([["ID", "URL", "EVENTS", "ENABLED"], ...got.data.map((w) => [w.id, w.url, w.events.join(","), String(w.enabled)])]));
      return EXIT.ok;
    }
    case "webhooks.create": {
      // The server says which events it knows (a 400 names the bad one).
      const body = { url: cmd.url, events: cmd.events as WebhookEvent[], ...(cmd.description !== undefined ? { description: cmd.description } : {}) };
      json(await client.createWebhook(body).catch((e) => webhooksMissing(e, "POST /api/v1/webhooks")));
      io.stderr.write("Keep the secret now: it is not shown again (verify deliveries with it, Standard Webhooks).\n");
      return EXIT.ok;
    }
    case "webhooks.delete": {
      await client.deleteWebhook(cmd.id).catch((e) => webhooksMissing(e, `DELETE /api/v1/webhooks/${cmd.id}`));
      print(`deleted ${cmd.id}\n`);
      return EXIT.ok;
    }
  }
}

/** Runs `mxray <command> …` for jobs, check, find and webhooks; answers the exit status. */
export async function runApiCommand(command: string, argv: string[], env: NodeJS.ProcessEnv, io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const cmd = parseApiCommand(command, argv);
    if (cmd.kind === "help") {
      io.stdout.write(`${API_USAGE}\n`);
      return EXIT.ok;
    }
    return await run(cmd, createMxrayClient(apiConfigFrom(env)), io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr.write(`mxray: ${(e as Error).message}\n\n${API_USAGE}\n`);
      return EXIT.usage;
    }
    if (e instanceof ConfigError) {
      io.stderr.write(`mxray: ${e.message}\n`);
      return EXIT.config;
    }
    if (e instanceof MxrayApiError) {
      io.stderr.write(`mxray: ${e.code}: ${e.message}${e.requestId ? ` (request ${e.requestId})` : ""}\n`);
      return EXIT.api;
    }
    if (e instanceof TypeError && /fetch failed/.test(e.message)) {
      io.stderr.write(`mxray: cannot reach ${env.MXRAY_API_URL}: ${(e.cause as Error | undefined)?.message ?? e.message}\n`);
      return EXIT.api;
    }
    throw e;
  }
}
