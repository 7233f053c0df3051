// The probe's command line: `verify` (the contract our acceptance checks drive), `serve` (the
// daemon), `doctor` (is this host fit to probe). `mxray help` lists the flags.
import { createReadStream, openSync, realpathSync } from "node:fs";
import { once } from "node:events";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { MAX_EMAIL_LENGTH, type RejectReason, type Result } from "../core/contracts.ts";
import { AddressListReader, type ListEntry, type ListRow } from "../core/emailfile.ts";
import { allowPrivateTargetsFrom } from "./config.ts";
import { createEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions, type VerifyCall } from "./engine.ts";
import {
  MAX_ATTEMPTS,
  MAX_COMMANDS_PER_ADDRESS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_GREYLIST_RETRIES,
  MAX_RCPTS_PER_ADDRESS,
  MAX_STALLED_SESSIONS,
} from "./smtp/scheduler.ts";

/** What --budget adds to the greylist budget by default: time to connect and ask after the last
 *  greylisting retry (issue 21: a run without a budget could wait on a server for ever). */
export const BUDGET_MARGIN_MS = 60_000;

const USAGE = `mxray — email verification probe

Usage:
  mxray verify [ADDRESS ...] [--file F] [--json] [--trace] [--from ADDR] [--helo NAME]
               [--dns HOST:PORT ...] [--port N] [--timeout MS] [--concurrency N]
               [--per-host N] [--greylist-budget MS] [--budget MS] [--window N]
  mxray serve                 run the daemon (configured by environment, see docs/probe.md)
  mxray doctor [--helo NAME] [--ip ADDR] [--dns HOST:PORT ...] [--target HOST:PORT ...]
               [--blocklist ZONE ...] [--timeout MS]
  mxray help
  mxray jobs|check|find|webhooks …  talk to the mxray service's API (see mxray jobs --help)

verify:
  ADDRESS ...            addresses to check (or --file)
  --file F               one address per line (quotes kept as typed), or a CSV/TSV whose email
                         column is detected; lines end at LF, CRLF or CR
  --json                 JSON Lines on stdout, exactly one object per input address or row;
                         rows from --file carry "line"; a row without an address is
                         {"line","input","error":{"code","message"}}
  --trace                include the SMTP transcript (with --json: a "trace" array)
  --from ADDR            MAIL FROM reverse-path (default: the null sender <>)
  --helo NAME            EHLO name (default: ${DEFAULT_ENGINE_OPTIONS.helo}; use the host's PTR name)
  --dns HOST:PORT        DNS server, repeatable (default: the system resolver)
  --port N               SMTP port (default 25)
  --timeout MS           per-phase SMTP timeout (default ${DEFAULT_ENGINE_OPTIONS.timeoutMs})
  --concurrency N        simultaneous SMTP connections, all hosts (default ${DEFAULT_ENGINE_OPTIONS.concurrency})
  --per-host N           simultaneous connections to one MX host (default ${DEFAULT_ENGINE_OPTIONS.perHostConnections})
  --greylist-budget MS   how long greylisted addresses are retried (default ${DEFAULT_ENGINE_OPTIONS.greylistBudgetMs})
  --budget MS            the most one address may take, from when it is read to its answer,
                         whatever its mail server does; then it is answered with what it has
                         (default: the greylist budget plus ${BUDGET_MARGIN_MS}, so ${DEFAULT_ENGINE_OPTIONS.greylistBudgetMs + BUDGET_MARGIN_MS}).
                         A run of N addresses ends within about ceil(N / window) budgets.
  --window N             addresses read ahead of the oldest unanswered one (default ${DEFAULT_ENGINE_OPTIONS.window});
                         bounds memory, and output stays in input order

Whatever a server answers, an address costs it at most ${MAX_RCPTS_PER_ADDRESS} RCPTs (${MAX_ATTEMPTS} tries without
an answer, ${MAX_GREYLIST_RETRIES} greylisting retries), and its mail host at most ${MAX_CONNECTIONS_PER_ADDRESS} connections and
${MAX_COMMANDS_PER_ADDRESS} commands; ${MAX_STALLED_SESSIONS} sessions in a row without an answer (a 421 greeting…) end the
waiting. Then the address is unknown, with the server's last reply as its reason.

Mail servers on loopback, private, link-local or other non-public addresses are not contacted
(reason private_target) unless MXRAY_ALLOW_PRIVATE_TARGETS=1 is set.

Every non-blank input row gets one output line (the table: one row each, in input order): its
result (a repeated address repeats its result), or why it has none: no_address (empty email
cell) or too_long (over ${MAX_EMAIL_LENGTH} characters).

Exit status: 0 when every row got a result, 1 when some did not, 2 on a usage error.`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, got "${value}"`);
  return n;
}

function engineOptions(v: Record<string, string | boolean | string[] | undefined>, env: NodeJS.ProcessEnv): Partial<EngineOptions> {
  const port = positiveInt("port", v.port as string | undefined, DEFAULT_ENGINE_OPTIONS.port);
  if (port > 65535) throw new UsageError(`--port must be at most 65535`);
  const allowPrivate = allowPrivateTargetsFrom(env);
  if (!allowPrivate.ok) throw new UsageError(allowPrivate.error);
  return {
    allowPrivateTargets: allowPrivate.value,
    from: (v.from as string | undefined) ?? DEFAULT_ENGINE_OPTIONS.from,
    helo: (v.helo as string | undefined) ?? DEFAULT_ENGINE_OPTIONS.helo,
    dnsServers: (v.dns as string[] | undefined) ?? [],
    port,
    timeoutMs: positiveInt("timeout", v.timeout as string | undefined, DEFAULT_ENGINE_OPTIONS.timeoutMs),
    concurrency: positiveInt("concurrency", v.concurrency as string | undefined, DEFAULT_ENGINE_OPTIONS.concurrency),
    perHostConnections: positiveInt("per-host", v["per-host"] as string | undefined, DEFAULT_ENGINE_OPTIONS.perHostConnections),
    greylistBudgetMs: positiveInt(
      "greylist-budget",
      v["greylist-budget"] as string | undefined,
      DEFAULT_ENGINE_OPTIONS.greylistBudgetMs,
    ),
    window: positiveInt("window", v.window as string | undefined, DEFAULT_ENGINE_OPTIONS.window),
  };
}

/** The per-address budget of a verify run: --budget, or the greylist budget plus a margin. */
export function verifyCall(v: Record<string, string | boolean | string[] | undefined>, engine: Partial<EngineOptions>): VerifyCall {
  const greylist = engine.greylistBudgetMs ?? DEFAULT_ENGINE_OPTIONS.greylistBudgetMs;
  return {
    trace: (v.trace as boolean | undefined) ?? false,
    ordered: true,
    addressBudgetMs: positiveInt("budget", v.budget as string | undefined, greylist + BUDGET_MARGIN_MS),
  };
}

/** A one-line progress bar on stderr, redrawn at most ten times a second; a count when the
 *  total is unknown (a file is read as it is verified). */
function progressBar(total: number | null) {
  const enabled = process.stderr.isTTY && (total === null || total >= 10);
  let done = 0;
  let last = 0;
  const started = Date.now();
  const draw = () => {
    const width = 30;
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    if (total === null) return void process.stderr.write(`\r${done} checked  ${rate.toFixed(1)}/s `);
    const filled = Math.round((done / total) * width);
    process.stderr.write(
      `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}  ${rate.toFixed(1)}/s `,
    );
  };
  return {
    tick() {
      done++;
      if (!enabled) return;
      const now = Date.now();
      if (now - last > 100 || done === total) {
        last = now;
        draw();
      }
    },
    end() {
      if (enabled) process.stderr.write("\n");
    },
  };
}

/** One input row and what it got: a result, a reject, or (engine failure) nothing. */
type Outcome = { entry: ListEntry; line: number | null; result: Result | null };

const REJECT_MESSAGE: Record<RejectReason, string> = {
  no_address: "the row's email cell is empty",
  too_long: `longer than ${MAX_EMAIL_LENGTH} characters; not an address`,
  invalid_person: "no usable name and domain", // people lists only (jobs of kind find)
};
/** Input text as shown back: a rejected row may be a megabyte long. */
const shown = (raw: string, max: number) => (raw.length > max ? `${raw.slice(0, max)}…` : raw);

/** Why a row has no result: its reject reason, or no_result when the engine never answered. */
const missingCode = (o: Outcome) => ("reject" in o.entry ? o.entry.reject : "no_result");
const missingMessage = (o: Outcome) => ("reject" in o.entry ? REJECT_MESSAGE[o.entry.reject] : "the engine gave no answer");

/** The --json line of a row without a result. */
function missingJson(o: Outcome): string {
  return JSON.stringify({ line: o.line, input: shown(o.entry.raw, MAX_EMAIL_LENGTH), error: { code: missingCode(o), message: missingMessage(o) } });
}

function printTable(outcomes: Outcome[], trace: boolean): void {
  const rows = outcomes.map((o) => {
    const r = o.result;
    if (!r) return [shown(o.entry.raw, 60), "no result", missingCode(o), "-", "-", "-", "-", "-", missingMessage(o)];
    return [
      r.email,
      r.verdict,
      r.reason,
      String(r.score),
      r.catch_all === null ? "-" : r.catch_all ? "yes" : "no",
      [r.disposable && "disposable", r.role && "role", r.free && "free", r.greylisted && "greylisted"]
        .filter(Boolean)
        .join(",") || "-",
      r.mx ?? "-",
      r.smtp ? `${r.smtp.code}${r.smtp.enhanced ? ` ${r.smtp.enhanced}` : ""} ${r.smtp.message}`.slice(0, 60) : "-",
      r.suggestion ? `did you mean ${r.suggestion}?` : "",
    ];
  });
  const header = ["EMAIL", "VERDICT", "REASON", "SCORE", "CATCH-ALL", "FLAGS", "MX", "SMTP", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  process.stdout.write(`${line(header)}\n`);
  outcomes.forEach(({ result: r }, i) => {
    process.stdout.write(`${line(rows[i]!)}\n`);
    if (trace && r?.trace) for (const t of r.trace) process.stdout.write(`    ${t}\n`);
  });
  const counts = new Map<string, number>();
  for (const { result: r } of outcomes) if (r) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  const checked = outcomes.filter((o) => o.result).length;
  const missing = new Map<string, number>();
  for (const o of outcomes) if (!o.result) missing.set(missingCode(o), (missing.get(missingCode(o)) ?? 0) + 1);
  const unanswered = outcomes.length - checked;
  process.stdout.write(
    `\n${checked} checked: ${[...counts].map(([k, v]) => `${v} ${k}`).join(", ")}` +
      (unanswered ? `; ${unanswered} without a result: ${[...missing].map(([k, v]) => `${v} ${k}`).join(", ")}` : "") +
      "\n",
  );
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: "string" },
      json: { type: "boolean" },
      trace: { type: "boolean" },
      from: { type: "string" },
      helo: { type: "string" },
      dns: { type: "string", multiple: true },
      port: { type: "string" },
      timeout: { type: "string" },
      concurrency: { type: "string" },
      "per-host": { type: "string" },
      "greylist-budget": { type: "string" },
      budget: { type: "string" },
      window: { type: "string" },
    },
  });
  const options = engineOptions(values, process.env);
  const call = verifyCall(values, options);
  const file = values.file ? openList(values.file) : null;
  if (positionals.length === 0 && !file) throw new UsageError("give at least one address, or --file");

  // Output follows the input: the engine answers in input order (VerifyCall.ordered), and a
  // rejected row is written when every address before it has been, by line number.
  const fed: Outcome[] = []; // addresses handed to the engine, not yet answered (bounded by --window)
  const rejects: Outcome[] = []; // rejected rows not yet written (in line order)
  const table: Outcome[] = []; // only without --json: the table needs every row for its widths
  let missing = 0;
  const emit = (o: Outcome) => {
    if (!o.result) missing++;
    if (!values.json) table.push(o);
    else process.stdout.write(`${o.result ? JSON.stringify(o.line === null ? o.result : { ...o.result, line: o.line }) : missingJson(o)}\n`);
  };
  const flushRejects = (beforeLine: number) => {
    while (rejects.length > 0 && rejects[0]!.entry.line < beforeLine) emit(rejects.shift()!);
  };
  const engine = createEngine(options);
  const bar = progressBar(file ? null : positionals.length);
  const source = addressesOf(positionals, file, {
    address: (entry) => fed.push({ entry, line: file && entry.line > 0 ? entry.line : null, result: null }),
    reject: (entry) => rejects.push({ entry, line: entry.line, result: null }),
  });
  await engine.verify(source, call, (r) => {
    const o = fed.shift();
    if (!o) return;
    flushRejects(o.entry.line);
    o.result = r;
    bar.tick();
    emit(o);
  });
  bar.end();
  await engine.close();
  // A row the engine never answered still gets its line, so no input goes unreported.
  for (const o of fed.splice(0)) {
    flushRejects(o.entry.line);
    emit(o);
  }
  flushRejects(Number.POSITIVE_INFINITY);
  if (!values.json) printTable(table, values.trace ?? false);
  return missing === 0 ? 0 : 1;
}

/** Opens --file now, so a missing file is a usage error before anything is verified. */
function openList(path: string): { path: string; fd: number } {
  try {
    return { path, fd: openSync(path, "r") };
  } catch (e) {
    throw new UsageError(`cannot read --file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/**
 * The addresses to verify, read from the file as the engine asks for them, so memory does not
 * grow with the file; each input row is told to `seen` (an address, or a reject with its reason)
 * just before it is handed over. When stdout is a slow pipe, reading waits for it to drain:
 * admission is held back rather than output piling up.
 */
async function* addressesOf(
  positionals: string[],
  file: { path: string; fd: number } | null,
  seen: { address(entry: ListEntry & { email: string }): void; reject(entry: ListEntry): void },
) {
  const ready = async () => {
    if (process.stdout.writableNeedDrain) await once(process.stdout, "drain");
  };
  for (const email of positionals) {
    seen.address({ line: 0, raw: email, email });
    yield email;
  }
  if (!file) return;
  let rows = 0;
  let rejected = 0;
  const reader = new AddressListReader({
    onReject: (r) => {
      rejected++;
      seen.reject({ line: r.line, raw: r.raw, reject: r.reason });
    },
  });
  const stream = createReadStream("", { fd: file.fd, encoding: "utf8" });
  const feed = async function* (got: ListRow[]) {
    for (const row of got) {
      await ready();
      rows++;
      seen.address({ line: row.line ?? 0, raw: row.email, email: row.email });
      yield row.email;
    }
  };
  for await (const chunk of stream as AsyncIterable<string>) yield* feed(reader.push(chunk));
  yield* feed(reader.end());
  if (rows === 0) throw new UsageError(`no addresses found in ${file.path}${rejected ? ` (${rejected} rows without an address)` : ""}`);
}

async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      helo: { type: "string" },
      ip: { type: "string" },
      dns: { type: "string", multiple: true },
      target: { type: "string", multiple: true },
      blocklist: { type: "string", multiple: true },
      timeout: { type: "string" },
    },
  });
  const { runDoctor, printDoctor, doctorPassed, DEFAULT_PORT25_TARGETS, DEFAULT_BLOCKLISTS } = await import("./doctor.ts");
  const report = await runDoctor({
    helo: values.helo ?? process.env.MXRAY_HELO ?? DEFAULT_ENGINE_OPTIONS.helo,
    ...(values.ip ? { ip: values.ip } : {}),
    dnsServers: values.dns ?? [],
    port25Targets: values.target ?? DEFAULT_PORT25_TARGETS,
    blocklists: values.blocklist ?? DEFAULT_BLOCKLISTS,
    timeoutMs: positiveInt("timeout", values.timeout, 5000),
  });
  printDoctor(report);
  return doctorPassed(report) ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "verify":
        return await verifyCommand(rest);
      case "serve": {
        const { runServe } = await import("./serve.ts");
        await runServe({ env: process.env, engineFactory: createEngine });
        return 0;
      }
      case "doctor":
        return await doctorCommand(rest);
      case "jobs":
      case "check":
      case "find":
      case "webhooks": {
        // Loaded only here: the probe's bundle leaves the API client out (probe/build.ts).
        const { runApiCommand } = await import("../client/cli.ts");
        return await runApiCommand(command, rest, process.env);
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`mxray: ${(e as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
