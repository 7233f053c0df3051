// bench:bounces, ours, in its own process (bundled, on plain node, so its peak RSS is the
// reader's own): the probe's bounce side as the daemon composes it (probe/bounces/bounces.ts
// createBounces with parseMessage and the signed edge reporter), heartbeating the real edge as the
// daemon does (probe/serve.ts postHeartbeat) and reading the mailbox the edge assigns in its
// answer, until the read reaches the folder's end. What the daemon adds around it (the HTTP server,
// the verification engine) is not here. argv[2]: a JSON ReaderJob. Prints one JSON line, a
// ReaderResult.
import type { Heartbeat, MailboxWire } from "../../core/contracts.ts";
import { createBounces } from "../../probe/bounces/bounces.ts";
import { createEdgeReporter, type MailboxReporter, type ParseMessage } from "../../probe/bounces/monitor.ts";
import { parseMessage } from "../../probe/bounces/parse.ts";
import { createResolver } from "../../probe/dns.ts";
import type { Log } from "../../probe/outbox.ts";
import { postHeartbeat } from "../../probe/serve.ts";

export interface ReaderJob {
  edgeUrl: string;
  probeSecret: string;
  probeId: string;
  /** The mailbox the edge should assign (the only one there is). */
  mailboxId: string;
  /** The local Dovecot's CA (MXRAY_IMAP_CA_FILE in the daemon). */
  ca: string;
  /** Messages per report (the monitor's chunkSize, at most MAX_MAILBOX_REPORT). */
  chunk: number;
  /** The number of messages in the folder: the read is over when the reports have seen them all. */
  messages: number;
  heartbeatMs: number;
  timeoutMs: number;
}

export interface ReaderResult {
  /** From the first message in hand to the last answer of the edge (ms). */
  windowMs: number;
  /** From the assignment (the heartbeat's answer) to the last answer: login, SELECT and SEARCH included. */
  assignedToLastMs: number;
  /** Reports posted (edge requests other than heartbeats), messages they carried, messages seen, uids the edge said were ours. */
  reports: number;
  heartbeats: number;
  carried: number;
  seen: number;
  ours: number;
  /** Each report's round trip to the edge (ms). */
  reportMs: number[];
  cpuMs: number;
  /** Resident set once assigned, before reading anything (the probe's code loaded), and at its peak. */
  startRssKb: number;
  maxRssKb: number;
  /** What the monitor logged as a failure (a read, a report, a message not parsed or not marked). */
  problems: string[];
}

const job = JSON.parse(process.argv[2]!) as ReaderJob;
const problems: string[] = [];
const log: Log = (message, fields = {}) => {
  if (/fail|not parsed|dropped|unmarked|threw|stale|no longer/i.test(message) && problems.length < 20) problems.push(`${message} ${JSON.stringify(fields).slice(0, 300)}`);
};

let firstMessageAt: number | null = null;
let assignedAt: number | null = null;
let lastAnswerAt = 0;
const counts = { reports: 0, heartbeats: 0, carried: 0, seen: 0, ours: 0 };
const reportMs: number[] = [];
let allSeen: () => void = () => {};
const done = new Promise<void>((resolve) => (allSeen = resolve));

const parse: ParseMessage = (uid, source) => {
  firstMessageAt ??= performance.now();
  return parseMessage(uid, source);
};
const edgeReporter = createEdgeReporter({ edgeUrl: job.edgeUrl, probeSecret: job.probeSecret, probeId: job.probeId });
const report: MailboxReporter = async (reading) => {
  counts.reports++;
  counts.carried += reading.messages.length;
  const sent = performance.now();
  const answer = await edgeReporter(reading);
  lastAnswerAt = performance.now();
  reportMs.push(lastAnswerAt - sent);
  counts.seen += reading.seen;
  counts.ours += answer.ours.length;
  if (reading.error !== null) problems.push(`read failed: ${reading.error}`);
  if (counts.seen >= job.messages) allSeen();
  return answer;
};

const bounces = createBounces({
  edgeUrl: job.edgeUrl,
  probeSecret: job.probeSecret,
  probeId: job.probeId,
  // The mailbox's host is an IP literal: nothing is resolved (a resolver that could only fail on loopback).
  resolver: createResolver({ servers: ["127.0.0.1:9"] }),
  allowPrivateTargets: true,
  extraCa: [job.ca],
  parse,
  // One read, followed at once while the folder holds more ("more"); no scheduled read within the run.
  pollMs: 24 * 3_600_000,
  report,
  monitor: { chunkSize: job.chunk },
  log,
});

const config = { EDGE_URL: job.edgeUrl, PROBE_SECRET: job.probeSecret, MXRAY_HEARTBEAT_MS: job.heartbeatMs };
const heartbeat = (): Heartbeat => ({ probe_id: job.probeId, url: "http://127.0.0.1:9", version: "bench", in_flight: 0, capacity: 0, draining: false, sent_at: new Date().toISOString() });
/** The daemon's heartbeat: its answer is the set of mailboxes read here. */
async function beat(): Promise<MailboxWire[] | null> {
  counts.heartbeats++;
  const answer = await postHeartbeat(config, heartbeat(), log);
  if (answer?.mailboxes) bounces.setAssignments(answer.mailboxes);
  return answer?.mailboxes ?? null;
}

const cpuBefore = process.cpuUsage();
const first = await beat();
if (!first?.some((m) => m.id === job.mailboxId)) throw new Error(`the edge's heartbeat answer did not assign ${job.mailboxId}: ${JSON.stringify(first)}`);
assignedAt = performance.now();
const startRssKb = process.memoryUsage().rss / 1024;
const heartbeats = setInterval(() => void beat(), job.heartbeatMs);
let timer: NodeJS.Timeout | undefined;
await Promise.race([
  done,
  new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`${counts.seen} of ${job.messages} messages seen within ${job.timeoutMs} ms: ${problems.join("; ")}`)), job.timeoutMs))),
]).finally(() => {
  clearTimeout(timer);
  clearInterval(heartbeats);
});
// The last chunk's move happens after its answer: the read is over when the manager is idle.
await bounces.manager.idle();
await bounces.stop();
const cpu = process.cpuUsage(cpuBefore);
const result: ReaderResult = {
  windowMs: lastAnswerAt - (firstMessageAt ?? lastAnswerAt),
  assignedToLastMs: lastAnswerAt - assignedAt,
  ...counts,
  reportMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  startRssKb,
  maxRssKb: process.resourceUsage().maxRSS,
  problems,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
