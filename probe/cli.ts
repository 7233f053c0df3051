// The probe's command line: `verify` (the contract our acceptance checks drive), `serve` (the
// daemon), `doctor` (is this host fit to probe). `mxray help` lists the flags.
import { createReadStream, openSync, realpathSync } from "node:fs";
import { once } from "node:events";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Result } from "../core/contracts.ts";
import { AddressListReader } from "../core/emailfile.ts";
import { createEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions } from "./engine.ts";

const USAGE = `mxray — email verification probe

Usage:
  mxray verify [ADDRESS ...] [--file F] [--json] [--trace] [--from ADDR] [--helo NAME]
               [--dns HOST:PORT ...] [--port N] [--timeout MS] [--concurrency N]
               [--per-host N] [--greylist-budget MS] [--window N]
  mxray serve                 run the daemon (configured by environment, see README)
  mxray doctor [--helo NAME] [--ip ADDR] [--dns HOST:PORT ...] [--target HOST:PORT ...]
               [--blocklist ZONE ...] [--timeout MS]
  mxray help

verify:
  ADDRESS ...            addresses to check (or --file)
  --file F               one address per line, or a CSV/TSV whose email column is detected
  --json                 JSON Lines on stdout, one object per input address
  --trace                include the SMTP transcript (with --json: a "trace" array)
  --from ADDR            MAIL FROM reverse-path (default: the null sender <>)
  --helo NAME            EHLO name (default: ${DEFAULT_ENGINE_OPTIONS.helo}; use the host's PTR name)
  --dns HOST:PORT        DNS server, repeatable (default: the system resolver)
  --port N               SMTP port (default 25)
  --timeout MS           per-phase SMTP timeout (default ${DEFAULT_ENGINE_OPTIONS.timeoutMs})
  --concurrency N        simultaneous SMTP connections, all hosts (default ${DEFAULT_ENGINE_OPTIONS.concurrency})
  --per-host N           simultaneous connections to one MX host (default ${DEFAULT_ENGINE_OPTIONS.perHostConnections})
  --greylist-budget MS   how long greylisted addresses are retried (default ${DEFAULT_ENGINE_OPTIONS.greylistBudgetMs})
  --window N             addresses read ahead of the oldest unanswered one (default ${DEFAULT_ENGINE_OPTIONS.window});
                         bounds memory, and output stays in input order

Exit status: 0 when every address got a result, 1 when some did not, 2 on a usage error.`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, got "${value}"`);
  return n;
}

function engineOptions(v: Record<string, string | boolean | string[] | undefined>): Partial<EngineOptions> {
  const port = positiveInt("port", v.port as string | undefined, DEFAULT_ENGINE_OPTIONS.port);
  if (port > 65535) throw new UsageError(`--port must be at most 65535`);
  return {
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

function printTable(results: Result[], trace: boolean): void {
  const rows = results.map((r) => [
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
  ]);
  const header = ["EMAIL", "VERDICT", "REASON", "SCORE", "CATCH-ALL", "FLAGS", "MX", "SMTP", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  process.stdout.write(`${line(header)}\n`);
  results.forEach((r, i) => {
    process.stdout.write(`${line(rows[i]!)}\n`);
    if (trace && r.trace) for (const t of r.trace) process.stdout.write(`    ${t}\n`);
  });
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  process.stdout.write(
    `\n${results.length} checked: ${[...counts].map(([k, v]) => `${v} ${k}`).join(", ")}\n`,
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
      window: { type: "string" },
    },
  });
  const file = values.file ? openList(values.file) : null;
  if (positionals.length === 0 && !file) throw new UsageError("give at least one address, or --file");

  const engine = createEngine(engineOptions(values));
  const bar = progressBar(file ? null : positionals.length);
  const fed = { count: 0 };
  const results: Result[] = []; // kept only for the table, which needs every row for its widths
  let answered = 0;
  // In input order, so JSON lines stream out as they are answered (engine.ts, VerifyCall.ordered).
  await engine.verify(addressesOf(positionals, file, fed), { trace: values.trace ?? false, ordered: true }, (r) => {
    answered++;
    bar.tick();
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else results.push(r);
  });
  bar.end();
  await engine.close();
  if (!values.json) printTable(results, values.trace ?? false);
  return answered === fed.count ? 0 : 1;
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
 * grow with the file. When stdout is a slow pipe, reading waits for it to drain: admission is
 * held back rather than output piling up.
 */
async function* addressesOf(positionals: string[], file: { path: string; fd: number } | null, fed: { count: number }) {
  const ready = async () => {
    if (process.stdout.writableNeedDrain) await once(process.stdout, "drain");
  };
  for (const email of positionals) {
    fed.count++;
    yield email;
  }
  if (!file) return;
  const reader = new AddressListReader();
  const before = fed.count;
  const stream = createReadStream("", { fd: file.fd, encoding: "utf8" });
  for await (const chunk of stream as AsyncIterable<string>) {
    for (const row of reader.push(chunk)) {
      await ready();
      fed.count++;
      yield row.email;
    }
  }
  for (const row of reader.end()) {
    fed.count++;
    yield row.email;
  }
  if (fed.count === before) throw new UsageError(`no addresses found in ${file.path}`);
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
