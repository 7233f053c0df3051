// Probe benchmark: mxray beside a naive one-connection-per-address verifier and the npm peer
// deep-email-validator, on the same simulated world with a 50 ms round trip, at equal
// concurrency. Then the mxray CLI alone on 100k and 1M addresses for its peak RSS (issue 9, item 6).
//
//   npm run bench:probe [-- --addresses 5000 --domains 40 --rtt 50 --concurrency 16 --rss 100000,1000000]
//   quick check of memory only: npm run bench:probe -- --only mxray --addresses 500 --rss 20000
//
// Each contender runs in its own process (bench/probe/contender.ts). Connections and RCPTs are
// counted by the world's servers, accuracy against the world's truth.
import { execFile, spawn } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { startWorld, type World } from "../../e2e/world/index.ts";
import { escapeNonAscii } from "../../probe/asciisource.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const { values } = parseArgs({
  options: {
    addresses: { type: "string", default: "5000" },
    domains: { type: "string", default: "40" },
    rtt: { type: "string", default: "50" },
    concurrency: { type: "string", default: "16" },
    rss: { type: "string", default: "100000,1000000" }, // list sizes for the CLI's peak RSS; 0 skips
    only: { type: "string" }, // comma-separated contenders, for quick runs
  },
});
const ADDRESSES = Number(values.addresses);
const DOMAINS = Number(values.domains);
const RTT_MS = Number(values.rtt);
const CONCURRENCY = Number(values.concurrency);
const RSS_SIZES = values.rss.split(",").map(Number).filter((n) => n > 0);
const RSS_TARGET_MB = 200;
const SEED = 42;

type Kind = "mxray" | "naive" | "peer";
interface Figures {
  wallS: number;
  perSecond: number;
  connectionsPerAddress: number;
  rcptsPerAddress: number;
  catchAllRcpts: number;
  maxRssMb: number;
  accuracy: number;
  dataCommands: number;
  wrong: string[];
}

const work = scratchDir("bench");
// Every contender runs from an esbuild bundle on plain node, as the probe ships (dist/), so no
// TypeScript loader sits in anyone's memory or start-up.
const contender = join(work, "contender.mjs");
const cli = join(work, "mxray.mjs");
for (const [entry, outfile] of [["bench/probe/contender.ts", contender], ["probe/cli.ts", cli]] as const) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: "error",
  });
  // As probe/build.ts ships it: one byte per character of source in V8's heap.
  writeFileSync(outfile, escapeNonAscii(readFileSync(outfile, "utf8")));
}

function runContender(kind: Kind, world: World, emails: string[], timeoutMs: number) {
  const list = join(work, `${kind}-in.txt`);
  const out = join(work, `${kind}-out.jsonl`);
  writeFileSync(list, emails.join("\n"));
  return new Promise<{ wallMs: number; maxRssMb: number; results: Map<string, string> }>((resolve, reject) => {
    execFile(
      process.execPath,
      [contender, kind, list, world.dnsServer, String(world.smtpPort), String(CONCURRENCY), out],
      { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${kind} failed: ${err.message}\n${stderr.slice(-2000)}`));
        const summary = JSON.parse(stdout.trim().split("\n").pop()!);
        const results = new Map<string, string>();
        for (const line of readFileSync(out, "utf8").split("\n")) {
          if (!line) continue;
          const r = JSON.parse(line) as { email: string; verdict: string };
          results.set(r.email, r.verdict);
        }
        resolve({ ...summary, results });
      },
    );
  });
}

async function measure(kind: Kind, world: World, emails: string[], catchAllDomains: number): Promise<Figures> {
  const before = world.stats();
  const run = await runContender(kind, world, emails, 30 * 60_000);
  const after = world.stats();
  const wrong: string[] = [];
  let right = 0;
  for (const email of emails) {
    const expected = world.truth.get(email)!.verdict;
    const got = run.results.get(email);
    if (got === expected) right++;
    else if (wrong.length < 5) wrong.push(`${email}: expected ${expected}, got ${got ?? "nothing"}`);
  }
  const rcpts = after.rcpts - before.rcpts;
  return {
    wallS: run.wallMs / 1000,
    perSecond: emails.length / (run.wallMs / 1000),
    connectionsPerAddress: (after.connections - before.connections) / emails.length,
    rcptsPerAddress: (kind === "mxray" ? rcpts - catchAllDomains : rcpts) / emails.length,
    catchAllRcpts: kind === "mxray" ? catchAllDomains : 0,
    maxRssMb: run.maxRssMb,
    accuracy: (100 * right) / emails.length,
    dataCommands: after.dataCommands - before.dataCommands,
    wrong,
  };
}

function table(columns: [string, Figures][]) {
  const rows: [string, (f: Figures) => string][] = [
    ["wall time (s)", (f) => f.wallS.toFixed(2)],
    ["addresses/s", (f) => f.perSecond.toFixed(1)],
    ["SMTP connections / address", (f) => f.connectionsPerAddress.toFixed(4)],
    ["RCPTs / address (excl. catch-all probes)", (f) => f.rcptsPerAddress.toFixed(3)],
    ["catch-all probe RCPTs", (f) => String(f.catchAllRcpts)],
    ["peak RSS (MB)", (f) => f.maxRssMb.toFixed(0)],
    ["accuracy vs truth (%)", (f) => f.accuracy.toFixed(2)],
    ["DATA commands sent", (f) => String(f.dataCommands)],
  ];
  const head = ["", ...columns.map(([name]) => name)];
  const body = rows.map(([label, fmt]) => [label, ...columns.map(([, f]) => fmt(f))]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  for (const r of [head, ...body]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   "));
}

const only = values.only?.split(",") as Kind[] | undefined;
const kinds: Kind[] = only ?? ["mxray", "naive", "peer"];
const world = await startWorld({ rttMs: RTT_MS, bulk: { domains: DOMAINS, addresses: ADDRESSES, seed: SEED } });
try {
  const emails = world.bulkAddresses;
  // mxray sends one random-mailbox RCPT per domain it checks over SMTP (not for DNS failures).
  const smtpDomains = new Set(
    emails.filter((e) => !["no_such_domain", "null_mx", "no_mail_server", "no_mx_address", "dns_error"].includes(world.truth.get(e)!.reason)).map((e) => e.split("@")[1]),
  ).size;
  console.log(
    `probe benchmark: ${emails.length} addresses over ${DOMAINS} domains, ${RTT_MS} ms RTT, ` +
      `concurrency ${CONCURRENCY} for every contender, seed ${SEED}\n`,
  );
  const figures: [string, Figures][] = [];
  const names: Record<Kind, string> = { mxray: "mxray", naive: "naive baseline", peer: "deep-email-validator" };
  for (const kind of kinds) {
    const f = await measure(kind, world, emails, smtpDomains);
    figures.push([names[kind], f]);
    if (f.wrong.length) console.log(`  ${names[kind]}: first wrong answers: ${f.wrong.join("; ")}`);
  }
  console.log();
  table(figures);
  const ours = figures.find(([n]) => n === "mxray")?.[1];
  const peer = figures.find(([n]) => n === "deep-email-validator")?.[1];
  const naive = figures.find(([n]) => n === "naive baseline")?.[1];
  if (ours) {
    console.log();
    if (peer) console.log(`throughput vs deep-email-validator: ${(ours.perSecond / peer.perSecond).toFixed(1)}x (target >= 10x)`);
    if (naive) console.log(`throughput vs naive baseline:       ${(ours.perSecond / naive.perSecond).toFixed(1)}x`);
    console.log(`connections/address: ${ours.connectionsPerAddress.toFixed(4)} (target <= 0.05); RCPTs/address: ${ours.rcptsPerAddress.toFixed(3)} + ${ours.catchAllRcpts} catch-all probes (target <= 1.1 + 1 per domain); accuracy ${ours.accuracy.toFixed(2)}% (target 100%)`);
  }
} finally {
  await world.stop();
}

/**
 * The CLI as a user runs it (`mxray verify --file … --json`), its peak RSS measured from outside:
 * GNU time's maximum resident set size (wait4's ru_maxrss) when /usr/bin/time exists, else
 * VmHWM from /proc/<pid>/status, polled (which can miss a last rise just before exit).
 */
async function runCli(world: World, emails: string[]) {
  const list = join(work, "cli-in.txt");
  const out = join(work, "cli-out.jsonl");
  const timeFile = join(work, "cli-time.txt");
  const file = createWriteStream(list);
  for (const e of emails) if (!file.write(`${e}\n`)) await new Promise<void>((r) => file.once("drain", () => r()));
  await new Promise<void>((r) => file.end(() => r()));
  const args = [cli, "verify", "--file", list, "--json", "--dns", world.dnsServer, "--port", String(world.smtpPort),
    "--concurrency", String(CONCURRENCY), "--helo", "bench.mxray.test"];
  const gnuTime = existsSync("/usr/bin/time");
  const outFd = openSync(out, "w");
  const started = performance.now();
  const env = { ...process.env, MXRAY_ALLOW_PRIVATE_TARGETS: "1" }; // the world is on loopback
  const child = gnuTime
    ? spawn("/usr/bin/time", ["-v", "-o", timeFile, process.execPath, ...args], { stdio: ["ignore", outFd, "pipe"], env })
    : spawn(process.execPath, args, { stdio: ["ignore", outFd, "pipe"], env });
  closeSync(outFd);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  let polledKb = 0;
  const poll = gnuTime
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
          if (m) polledKb = Math.max(polledKb, Number(m[1]));
        } catch {
          // gone already
        }
      }, 20);
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  const wallMs = performance.now() - started;
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`mxray verify exited ${code}: ${stderr}`);
  const peakKb = gnuTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, "utf8"))?.[1]) : polledKb;
  // Output lines must follow the input order, one per input.
  let i = 0;
  let right = 0;
  let misplaced = 0;
  for await (const line of createInterface({ input: createReadStream(out) })) {
    if (!line) continue;
    const r = JSON.parse(line) as { email: string; verdict: string };
    if (r.email !== emails[i]) misplaced++;
    else if (r.verdict === world.truth.get(r.email)!.verdict) right++;
    i++;
  }
  return { wallMs, peakMb: peakKb / 1024, lines: i, right, misplaced, method: gnuTime ? "/usr/bin/time -v" : "VmHWM polled" };
}

if (RSS_SIZES.length > 0 && kinds.includes("mxray")) {
  // Memory at scale: no latency, no greylisting, no error-limit delays, so this measures what
  // the CLI holds, not how long it waits.
  console.log();
  for (const size of RSS_SIZES) {
    const big = await startWorld({ rttMs: 0, bulk: { domains: DOMAINS, addresses: size, seed: SEED + 1, immediate: true } });
    try {
      const emails = big.bulkAddresses;
      const r = await runCli(big, emails);
      const label = size >= 1_000_000 && size % 1_000_000 === 0 ? `${size / 1_000_000}M` : size >= 1000 && size % 1000 === 0 ? `${size / 1000}k` : String(size);
      console.log(
        `peak RSS ${label}: ${r.peakMb.toFixed(0)} MB (target ≤ ${RSS_TARGET_MB} MB)  — mxray CLI, ${emails.length} addresses, ` +
          `${(r.wallMs / 1000).toFixed(1)} s, ${(emails.length / (r.wallMs / 1000)).toFixed(0)} addresses/s, ` +
          `${r.lines} lines, ${r.misplaced} out of order, accuracy ${((100 * r.right) / emails.length).toFixed(2)}% [${r.method}]`,
      );
    } finally {
      await big.stop();
    }
  }
}
rmSync(work, { recursive: true, force: true });
