// Probe benchmark: mxray beside a naive one-connection-per-address verifier and the npm peer
// deep-email-validator, on the same simulated world with a 50 ms round trip, at equal
// concurrency. Then mxray alone on 100k addresses for peak RSS.
//
//   npm run bench:probe [-- --addresses 5000 --domains 40 --rtt 50 --concurrency 16 --rss 100000]
//
// Each contender runs in its own process (bench/probe/contender.ts). Connections and RCPTs are
// counted by the world's servers, accuracy against the world's truth.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { startWorld, type World } from "../../e2e/world/index.ts";

const { values } = parseArgs({
  options: {
    addresses: { type: "string", default: "5000" },
    domains: { type: "string", default: "40" },
    rtt: { type: "string", default: "50" },
    concurrency: { type: "string", default: "16" },
    rss: { type: "string", default: "100000" },
    only: { type: "string" }, // comma-separated contenders, for quick runs
  },
});
const ADDRESSES = Number(values.addresses);
const DOMAINS = Number(values.domains);
const RTT_MS = Number(values.rtt);
const CONCURRENCY = Number(values.concurrency);
const RSS_ADDRESSES = Number(values.rss);
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

const work = mkdtempSync(join(tmpdir(), "mxray-bench-"));
// Every contender runs from an esbuild bundle on plain node, as the probe ships (dist/), so no
// TypeScript loader sits in anyone's memory or start-up.
const contender = join(work, "contender.mjs");
await build({
  entryPoints: ["bench/probe/contender.ts"],
  outfile: contender,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  logLevel: "error",
});

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

if (RSS_ADDRESSES > 0 && kinds.includes("mxray")) {
  // Memory at scale: no latency, so this measures what the engine holds, not how long it waits.
  const big = await startWorld({ rttMs: 0, bulk: { domains: DOMAINS, addresses: RSS_ADDRESSES, seed: SEED + 1 } });
  try {
    const f = await measure("mxray", big, big.bulkAddresses, 0);
    console.log(
      `\nmxray on ${RSS_ADDRESSES} addresses (0 ms RTT): peak RSS ${f.maxRssMb.toFixed(0)} MB (target < 200 MB), ` +
        `${f.perSecond.toFixed(0)} addresses/s, accuracy ${f.accuracy.toFixed(2)}%`,
    );
  } finally {
    await big.stop();
  }
}
rmSync(work, { recursive: true, force: true });
