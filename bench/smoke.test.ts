// Every benchmark in bench/ at a smoke size, so none stops working unseen (issue 22: bench:fanout
// had stopped at "socket 29 failed" and nobody knew). Each runs as `npm run bench:<name>` does, in
// a process of its own, and must exit 0 and print its key figures beside the peer's or the
// target. Speed is printed, never asserted: a bench exits non-zero only when something is broken
// (an error, a refused request, counts that do not add up); a missed target is only printed.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");

interface Smoke {
  name: string;
  args: string[];
  /** The bench's own bound on its run; the test allows a little more. */
  timeoutS: number;
  /** Lines that must be printed: its figures beside the peer's or the target, and what must be zero. */
  figures: RegExp[];
}

const NUMBER = String.raw`[\d.]+`;
const row = (label: string, ...columns: string[]) => new RegExp(`${label}\\s+${columns.join(String.raw`\s+`)}`);

const SMOKES: Smoke[] = [
  {
    name: "probe",
    args: ["--addresses", "200", "--domains", "10", "--rtt", "5", "--rss", "1000"],
    timeoutS: 120,
    figures: [
      /mxray\s+naive baseline\s+deep-email-validator/,
      row("addresses/s", NUMBER, NUMBER, NUMBER),
      row("DATA commands sent", "0", "0", "0"),
      new RegExp(`throughput vs deep-email-validator: ${NUMBER}x \\(target >= 10x\\)`),
      new RegExp(`peak RSS 1k: ${NUMBER} MB \\(target ≤ 200 MB\\).*1000 lines, 0 out of order`),
    ],
  },
  {
    name: "writepath",
    args: ["--addresses", "2000", "--writers", "4"],
    timeoutS: 120,
    figures: [row(String.raw`interactive \(replaced\)`, NUMBER), row(String.raw`batch \(chosen\)`, NUMBER), new RegExp(`batch vs interactive: ${NUMBER}x`)],
  },
  {
    name: "ingest",
    args: ["--rows", "2000"],
    // Three stacks: CSV, XLSX and ZIP each get a fresh Worker.
    timeoutS: 300,
    figures: [
      row("rows/s", NUMBER, NUMBER, NUMBER, NUMBER),
      row("rows per CPU second", NUMBER, NUMBER, NUMBER, NUMBER),
      /2000 rows, 1901 unique/,
      row(String.raw`upload to queued job \(s\)`, NUMBER, NUMBER, NUMBER, "< 60"),
      row(String.raw`workerd peak RSS \(MB\)`, NUMBER, NUMBER, NUMBER, String.raw`\(whole process\)`),
    ],
  },
  {
    name: "fanout",
    args: ["--subscribers", "20", "--posts", "5", "--phase2-s", "1"],
    timeoutS: 240,
    figures: [
      row(String.raw`p99 post → receipt \(ms\), 3 posts/s`, NUMBER, NUMBER, "< 100"),
      new RegExp(String.raw`post → receipt p50 / p99 \(ms\): \d+ / \d+ via wrangler dev, \d+ / \d+ workerd direct; target p99 < 100 ms \((met|MISSED)\)`),
      row("messages/s per socket in phase 2", NUMBER, NUMBER, "<= 4"),
    ],
  },
  {
    name: "fairness",
    args: ["--rows", "2000", "--small", "20", "--orders", "fair", "--timeout-s", "120"],
    timeoutS: 240,
    figures: [new RegExp(String.raw`fair\s+\d+, \d+ ms\s+\d+ ms\s+${NUMBER}x \(${NUMBER}x\)\s+<= 2x \((met|MISSED)\)`)],
  },
  {
    name: "fleet",
    args: ["--addresses", "300", "--budget-s", "5"],
    timeoutS: 120,
    figures: [/per-probe\s+shared\s+per-probe ÷ shared/, row("random-mailbox RCPTs / 10k", NUMBER, NUMBER), row("verdict matches truth", `${NUMBER}%`, `${NUMBER}%`)],
  },
  {
    name: "finder",
    args: ["--domains", "5", "--greylist-ms", "100"],
    timeoutS: 120,
    figures: [
      row(String.raw`RCPTs per person, pattern known \(target ≤ 1\.5\)`, NUMBER, NUMBER),
      row(String.raw`wrong addresses on non-catch-all domains \(target 0\)`, "0", "0"),
      row("DATA commands", "0", "0"),
    ],
  },
  {
    name: "cost",
    args: ["--addresses", "200", "--timeout-s", "120"],
    timeoutS: 180,
    figures: [row("QStash messages", "\\d+", "\\d+", "<= 12000"), row("database rows written", "\\d+", "\\d+", "<= 1200000")],
  },
  {
    // e2e/soak.test.ts runs the same driver at 20,000 addresses; this keeps the bench's own parts
    // (the ceiling, the report, cancel and delete) running.
    name: "soak",
    args: ["--addresses", "300", "--timeout-s", "120"],
    timeoutS: 180,
    figures: [
      new RegExp(String.raw`results/s absorbed\s+\d+\s+\d+ \(sqld alone\)`),
      row("counts match the world", "yes"),
      /GET \/api\/v1\/account meanwhile .* 5xx 0 \(target 0\)/,
    ],
  },
  {
    name: "campaign",
    args: ["--recipients", "2000", "--batch-size", "250", "--naive", "500", "--edge-recipients", "5000", "--timeout-s", "300"],
    timeoutS: 480,
    figures: [
      /mxray probe\s+naive sender/,
      row("messages/s", NUMBER, NUMBER),
      row("connections / message", NUMBER, NUMBER),
      new RegExp(`mxray vs naive sender: ${NUMBER}x the messages/s`),
      /every message accounted for: yes/,
      new RegExp(String.raw`recipients claimed\+recorded/s\s+\d+\s+\d+ \(sqld alone\)`),
      row("percent of the ceiling", String.raw`\d+%`),
      /every recipient accounted for: yes/,
    ],
  },
  {
    name: "bounces",
    args: ["--messages", "200", "--timeout-s", "180"],
    timeoutS: 300,
    figures: [
      /mxray probe reader\s+naive monitor/,
      row(String.raw`messages/s \(first message to last answer\)`, NUMBER, NUMBER),
      new RegExp(`mxray vs naive: ${NUMBER}x the messages/s, ${NUMBER}x fewer edge requests`),
      /every message accounted for: yes/,
    ],
  },
  {
    name: "export",
    args: ["--rows", "5000", "--formats", "csv,jsonl,json,xlsx"],
    timeoutS: 120,
    figures: [
      row("csv", "5000 / 5000"),
      row("jsonl", "5000 / 5000"),
      row("json", "5000 / 5000"),
      row("xlsx", String.raw`\(zip\)`),
      new RegExp(`beside a Worker's memory limit of 128 MB: csv ${NUMBER} MB, jsonl ${NUMBER} MB, json ${NUMBER} MB, xlsx ${NUMBER} MB`),
    ],
  },
];

/** `npm run bench:<name> -- <args>` in its own process group (killed whole if it overstays). */
function runBench(name: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench", name, "run.ts"), ...args], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const timer = setTimeout(() => {
      out += `\n(smoke: killed after ${timeoutMs / 1000} s)`;
      process.kill(-child.pid!, "SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, out });
    });
  });
}

for (const smoke of SMOKES) {
  it(
    `bench:${smoke.name} ${smoke.args.join(" ")} exits 0 and prints its figures beside the peer's or the target`,
    async () => {
      const { code, out } = await runBench(smoke.name, smoke.args, (smoke.timeoutS + 20) * 1000);
      expect(code, out.slice(-4000)).toBe(0);
      for (const figure of smoke.figures) expect(out, `bench:${smoke.name} printed no line matching ${figure}`).toMatch(figure);
    },
    (smoke.timeoutS + 30) * 1000,
  );
}
