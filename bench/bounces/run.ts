// Bounces benchmark (issue 24): a bounce mailbox of N messages (default 10,000), a share of them
// ours (default half: real-format bounces, complaints and auto-replies of a campaign's messages,
// e2e/bounce-mail.ts BOUNCE_STYLES, each for a distinct recipient) and the rest unrelated mail and
// unrelated bounces, in a local Dovecot (e2e/dovecot.ts), read through the local stack (sqld + the
// Worker under wrangler dev, e2e/stack.ts).
//
// Ours: the probe's reader (probe/bounces createBounces with parseMessage, bench/bounces/reader.ts,
// bundled in its own process) gets the mailbox from the edge in its heartbeat's answer and reads
// it in chunks; the edge applies each chunk's report (POST /internal/probes/bounces) and the
// reader moves what the edge confirmed ours. The peer (bench/bounces/naive.ts, its own process): a
// monitor of the kind many tools ship, one IMAP connection fetching each message whole, one round
// trip at a time, parsed in full with mailparser's simpleParser, and one POST /api/v1/bounces per
// bounce it recognises, on another account seeded the same way and a copy of the mailbox's first
// --peer-messages messages (the same mix: ours and the rest interleaved evenly, the styles in
// turn; one request per bounce, each waiting for the last, takes a while). Messages per second
// (first message in hand to the last answer of the edge), edge requests, CPU and peak RSS, side
// by side, per message. Speed is printed, never asserted: the run exits non-zero only when
// something is broken (a refused request, a message not accounted for, counts that do not add up).
//   npm run bench:bounces [-- --messages 10000] [-- --ours-share 0.5] [-- --chunk 100] [-- --no-peer]
//     [-- --peer-messages 2000] [-- --timeout-s 1800]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateApiKey, hashApiKey, keyPrefix } from "../../core/apikeys.ts";
import { MAX_MAILBOX_REPORT } from "../../core/contracts.ts";
import { recipientToken, verpAddress } from "../../core/unsubscribe.ts";
import { createDb } from "../../db/client.ts";
import { BOUNCE_STYLES, type OriginalMessage } from "../../e2e/bounce-mail.ts";
import { startDovecot, type RunningDovecot } from "../../e2e/dovecot.ts";
import { removeScratch, scratchDir } from "../../e2e/scratch.ts";
import { apiCall, percentiles } from "../../e2e/soak.ts";
import { startStack, type Stack } from "../../e2e/stack.ts";
import { bundleEntry, descendantsCpuMs, stopChild } from "../children.ts";
import type { NaiveJob, NaiveResult } from "./naive.ts";
import type { ReaderJob, ReaderResult } from "./reader.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    "ours-share": { type: "string", default: "0.5" },
    chunk: { type: "string", default: String(MAX_MAILBOX_REPORT) },
    "no-peer": { type: "boolean", default: false },
    "peer-messages": { type: "string", default: "2000" },
    "timeout-s": { type: "string", default: "1800" },
  },
});
const N = Number(values.messages);
const SHARE = Number(values["ours-share"]);
const CHUNK = Math.min(MAX_MAILBOX_REPORT, Math.max(1, Number(values.chunk)));
const PEER = !values["no-peer"];
const PEER_N = Math.min(N, Math.max(1, Number(values["peer-messages"])));
const TIMEOUT_MS = Number(values["timeout-s"]) * 1000;
if (!Number.isInteger(N) || N < 1) throw new Error("--messages is a positive integer");
if (!(SHARE >= 0 && SHARE <= 1)) throw new Error("--ours-share is between 0 and 1");
const log = (line: string) => console.log(line);

const FROM = "news@bench.mxray.test";
const BOUNCE_DOMAIN = "bounces.bench.mxray.test";
const PROCESSED = "mxray-processed";
/** Processes of the edge, by command name: what applying costs there. */
const EDGE_PROCESSES = ["workerd", "sqld", "node"];
const OURS_STYLES = BOUNCE_STYLES.filter((s) => s.ours);
const OTHER_STYLES = BOUNCE_STYLES.filter((s) => !s.ours);
/** The kinds the fixtures' senders meant (e2e/bounce-mail.ts), counted for the messages that are ours. */
type Kind = "hard" | "soft" | "complaint" | "unclassified" | "auto_reply";

const recipientAddress = (i: number) => `r${i}@inbox.bench.test`;
/** Ours is the k-th message when the share's running count steps there: ours and not ours interleaved evenly. */
const isOurs = (k: number) => Math.floor((k + 1) * SHARE) > Math.floor(k * SHARE);
const oursCount = Math.floor(N * SHARE);

/** `INSERT … SELECT` over the integers [from, to): rows made inside sqld (as bench/campaign/edgeside.ts seeds); the client binds numbers as reals, hence the cast. */
const SEQ = "WITH RECURSIVE seq(i) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?2)";
const SEED_STEP = 50_000;

interface Seeded {
  accountId: string;
  apiKey: string;
  jobId: string;
  campaignId: string;
  /** Recipient ids by row (0 … ours − 1). */
  recipientIds: number[];
}

/**
 * An account with an API key, a completed verification job that called its `recipients`
 * addresses deliverable an hour before the campaign, and a completed campaign that sent to every
 * one of them: written straight into sqld (bench:soak and bench:campaign measure getting there).
 */
async function seedAccount(stack: Stack, tag: string, recipients: number, verifiedAt: number, sentAt: number): Promise<Seeded> {
  const { client } = createDb({ url: stack.sqld.url });
  try {
    const apiKey = generateApiKey("test");
    const [accountId, jobId, campaignId] = [`acc_bench_${tag}`, `job_bench_${tag}`, `cmp_bench${tag}`];
    await client.batch(
      [
        { sql: "INSERT INTO accounts (id, name, kind, credit_balance) VALUES (?, ?, 'team', 0)", args: [accountId, `bench:bounces ${tag}`] },
        { sql: "INSERT INTO api_keys (id, account_id, name, mode, prefix, hash) VALUES (?, ?, 'bench', 'test', ?, ?)", args: [`key_bench_${tag}`, accountId, keyPrefix(apiKey), await hashApiKey(apiKey)] },
        {
          sql: `INSERT INTO jobs (id, account_id, name, kind, status, total, unique_count, processed, deliverable, columns, email_column, created_at, finished_at)
                VALUES (?1, ?2, 'bench-bounces.csv', 'verify', 'completed', ?3, ?3, ?3, ?3, '["email"]', 'email', ?4, ?4)`,
          args: [jobId, accountId, recipients, verifiedAt],
        },
        {
          sql: `INSERT INTO campaigns (id, account_id, name, job_id, sender_id, template_id, status, consent_basis, consent_source, created_by,
                  materialized, audience, sent, created_at, started_at, finished_at, updated_at)
                VALUES (?1, ?2, 'bench', ?3, 'snd_bench', 'tpl_bench', 'completed', 'opt_in', 'bench:bounces', 'bench', 1, ?4, ?4, ?5, ?5, ?5, ?5)`,
          args: [campaignId, accountId, jobId, recipients, sentAt],
        },
      ],
      "write",
    );
    for (let from = 0; from < recipients; from += SEED_STEP) {
      const range = [from, Math.min(recipients, from + SEED_STEP)];
      await client.batch(
        [
          {
            sql: `INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at)
                  ${SEQ} SELECT ?3, 'r' || i || '@inbox.bench.test', 'r' || i || '@inbox.bench.test', i, json_array('r' || i || '@inbox.bench.test'),
                    'bat_bench_seed', 'deliverable', 'accepted', '{"verdict":"deliverable","mx":"mx.inbox.bench.test"}', ?4 FROM seq`,
            args: [...range, jobId, verifiedAt],
          },
          {
            sql: `INSERT INTO campaign_recipients (campaign_id, normalized, email, row_index, status, batch_id, relay_id, queue_id, updated_at)
                  ${SEQ} SELECT ?3, 'r' || i || '@inbox.bench.test', 'r' || i || '@inbox.bench.test', i, 'sent', 'sbt_bench', 'rly_bench', 'Q' || i, ?4 FROM seq`,
            args: [...range, campaignId, sentAt],
          },
        ],
        "write",
      );
    }
    const { rows } = await client.execute({ sql: "SELECT id FROM campaign_recipients WHERE campaign_id = ? ORDER BY row_index", args: [campaignId] });
    return { accountId, apiKey, jobId, campaignId, recipientIds: rows.map((r) => Number(r.id)) };
  } finally {
    client.close();
  }
}

interface Mailbox {
  raws: string[];
  /** Message-IDs of the messages that are not ours: what must be left in INBOX, untouched. */
  otherIds: Set<string>;
  /** What the edge should store for ours, by kind (auto-replies are ours but never stored). */
  expected: Record<Kind, number>;
}

/** N messages, ours interleaved with the rest; ours for recipient rows 0, 1, 2… of the seeded campaign, through every style in turn. */
async function buildMailbox(seeded: Seeded, sessionSecret: string, unsubscribeBase: string, sentAt: Date): Promise<Mailbox> {
  const raws: string[] = [];
  const otherIds = new Set<string>();
  const expected: Record<Kind, number> = { hard: 0, soft: 0, complaint: 0, unclassified: 0, auto_reply: 0 };
  let ours = 0;
  let other = 0;
  for (let k = 0; k < N; k++) {
    if (isOurs(k)) {
      const i = ours++;
      const id = seeded.recipientIds[i]!;
      const token = await recipientToken(sessionSecret, { accountId: seeded.accountId, campaignId: seeded.campaignId, recipientId: id });
      const orig: OriginalMessage = {
        from: FROM,
        to: recipientAddress(i),
        verp: verpAddress(token, BOUNCE_DOMAIN),
        messageId: `<${id}.${seeded.campaignId}@bench.mxray.test>`,
        unsubscribeUrl: `${unsubscribeBase}/u/${token}`,
        subject: "What changed this month",
        date: sentAt,
      };
      const style = OURS_STYLES[i % OURS_STYLES.length]!;
      raws.push(style.build(orig));
      expected[style.kind as Kind]++;
    } else {
      const j = other++;
      // Someone the customer wrote to from their own mail client: not a recipient of any campaign.
      const orig: OriginalMessage = {
        from: FROM,
        to: `friend${j}@elsewhere.bench.test`,
        verp: `alice@bench.mxray.test`,
        messageId: `<personal.${j}@bench.mxray.test>`,
        unsubscribeUrl: "https://bench.mxray.test/",
        subject: "Lunch",
        date: sentAt,
      };
      const raw = OTHER_STYLES[j % OTHER_STYLES.length]!.build(orig);
      raws.push(raw);
      const messageId = /^Message-ID:\s*(.+)$/im.exec(raw)?.[1]?.trim();
      if (!messageId) throw new Error("an unrelated message without a Message-ID");
      otherIds.add(messageId);
    }
  }
  return { raws, otherIds, expected };
}

/** The messages into a user's INBOX over a few connections at once (APPEND, as delivery would). */
async function deliver(dovecot: RunningDovecot, user: string, raws: string[], connections = 8): Promise<void> {
  const per = Math.ceil(raws.length / connections);
  await Promise.all(Array.from({ length: connections }, (_, c) => dovecot.deliverMany(user, raws.slice(c * per, (c + 1) * per))));
}

/** Runs a bundled script with a JSON job; its last stdout line, parsed. */
function runBundled<T>(entry: string, job: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [entry, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => void stopChild(child), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout.trim().split("\n").pop()!) as T);
      else reject(new Error(`${entry} exited ${code}: ${stderr}`));
    });
  });
}

/** CPU ms the edge's processes used while `work` ran. */
async function edgeCpu<T>(work: () => Promise<T>): Promise<{ result: T; edgeCpuMs: number; byProcess: Record<string, number> }> {
  const before = descendantsCpuMs();
  const result = await work();
  const after = descendantsCpuMs();
  const byProcess = Object.fromEntries(EDGE_PROCESSES.map((p) => [p, (after.get(p) ?? 0) - (before.get(p) ?? 0)]));
  return { result, edgeCpuMs: Object.values(byProcess).reduce((a, b) => a + b, 0), byProcess };
}

interface EdgeCounts {
  byKind: Record<string, number>;
  bounces: number;
  refunds: number;
  ledgerRefunds: number;
  creditBalance: number;
  /** Hard bounces with a 5.1.x status (each contradicts a `deliverable` verdict seeded for it). */
  contradicting: number;
  suppressions: number;
  /** Stored bounces of addresses that are no campaign's recipients. */
  strangers: number;
}

async function edgeCounts(stack: Stack, accountId: string): Promise<EdgeCounts> {
  const { client } = createDb({ url: stack.sqld.url });
  try {
    const [kinds, totals, ledger, account, suppressed] = await client.batch(
      [
        { sql: "SELECT kind, count(*) AS n FROM bounces WHERE account_id = ? GROUP BY kind", args: [accountId] },
        {
          sql: `SELECT count(*) AS n, count(refund_job_id) AS refunds, sum(kind = 'hard' AND status LIKE '5.1.%') AS contradicting,
                  sum(email NOT LIKE '%@inbox.bench.test') AS strangers FROM bounces WHERE account_id = ?`,
          args: [accountId],
        },
        { sql: "SELECT count(*) AS n FROM credit_ledger WHERE account_id = ? AND reason = 'bounce_refund' AND delta = 1", args: [accountId] },
        { sql: "SELECT credit_balance FROM accounts WHERE id = ?", args: [accountId] },
        { sql: "SELECT count(*) AS n FROM suppressions WHERE account_id = ?", args: [accountId] },
      ],
      "read",
    );
    const t = totals!.rows[0]!;
    return {
      byKind: Object.fromEntries(kinds!.rows.map((r) => [String(r.kind), Number(r.n)])),
      bounces: Number(t.n),
      refunds: Number(t.refunds),
      contradicting: Number(t.contradicting ?? 0),
      strangers: Number(t.strangers ?? 0),
      ledgerRefunds: Number(ledger!.rows[0]!.n),
      creditBalance: Number(account!.rows[0]!.credit_balance),
      suppressions: Number(suppressed!.rows[0]!.n),
    };
  } finally {
    client.close();
  }
}

interface SideReport {
  messages: number;
  seconds: number;
  perSecond: number;
  edgeRequests: number;
  imapFetches: number;
  edge: EdgeCounts;
  movedOut: number;
  edgeCpuMsPerMessage: number;
  clientCpuMsPerMessage: number;
  startRssMb: number;
  peakRssMb: number;
  /** Ours: reports, and the heartbeats that carried the assignment. */
  requestsDetail: string;
  /** Round trips of the edge requests that carried bounces (ms). */
  requestMs: number[];
}

const broken: string[] = [];
const kindList = (byKind: Record<string, number>) => ["hard", "soft", "complaint", "unclassified"].map((k) => `${byKind[k] ?? 0}`).join(" / ");

const work = scratchDir("bench-bounces");
const cleanups: (() => Promise<void>)[] = [];
let ours: SideReport | null = null;
let naive: SideReport | null = null;
let expected: Record<Kind, number> | null = null;
let naiveByKind: Record<string, number> = {};
try {
  const passwords = { mxray: randomBytes(12).toString("hex"), naive: randomBytes(12).toString("hex") };
  const dovecot = await startDovecot({ users: passwords, log });
  cleanups.push(() => dovecot.stop());
  log(`imap      Dovecot at 127.0.0.1:${dovecot.tlsPort} (TLS), users mxray${PEER ? ` and naive (a copy of the first ${PEER_N} messages)` : ""}`);
  const stack = await startStack({ dataDir: join(work, "stack"), probes: 0, sweepMs: 0, vars: { MXRAY_RATE_LIMIT_PER_MIN: "1000000" }, log });
  cleanups.push(() => stack.stop());

  const now = Date.now();
  const verifiedAt = now - 2 * 3_600_000;
  const sentAt = now - 3_600_000;
  const seedStarted = performance.now();
  const mine = await seedAccount(stack, "mxray", oursCount, verifiedAt, sentAt);
  const theirs = PEER ? await seedAccount(stack, "naive", oursCount, verifiedAt, sentAt) : null;
  const mailbox = await buildMailbox(mine, stack.secrets.sessionSecret, stack.url, new Date(sentAt));
  expected = mailbox.expected;
  await Promise.all([deliver(dovecot, "mxray", mailbox.raws), ...(PEER ? [deliver(dovecot, "naive", mailbox.raws.slice(0, PEER_N))] : [])]);
  const bytes = mailbox.raws.reduce((n, r) => n + r.length, 0);
  log(`seed      ${N} messages (${oursCount} ours, ${(bytes / N / 1024).toFixed(1)} KiB each on average) delivered${PEER ? `, the first ${PEER_N} again` : ""}; ${oursCount} verified deliverable and sent per account, in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

  const ca = readFileSync(dovecot.caFile, "utf8");
  const [readerEntry, naiveEntry] = await Promise.all([
    bundleEntry("bench/bounces/reader.ts", join(work, "reader.mjs")),
    bundleEntry("bench/bounces/naive.ts", join(work, "naive.mjs")),
  ]);

  // Ours: the mailbox made through the API, assigned to the reader in its heartbeat's answer.
  const created = await apiCall({ ...stack, devApiKey: mine.apiKey }, "/api/v1/bounce-mailboxes", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", host: "127.0.0.1", port: dovecot.tlsPort, security: "tls", username: "mxray", password: passwords.mxray, folder: "INBOX", processed_folder: PROCESSED }),
  });
  if (created.status !== 201) throw new Error(`POST /api/v1/bounce-mailboxes answered ${created.status}: ${JSON.stringify(created.body)}`);
  const mailboxId = (created.body as { id: string }).id;
  log(`mxray     mailbox ${mailboxId}: the reader reads it in reports of ${CHUNK}`);
  const readerJob: ReaderJob = {
    edgeUrl: stack.url, probeSecret: stack.secrets.probeSecret, probeId: `prb_bench_bounces_${randomBytes(3).toString("hex")}`, mailboxId, ca,
    chunk: CHUNK, messages: N, heartbeatMs: 10_000, timeoutMs: TIMEOUT_MS,
  };
  const read = await edgeCpu(() => runBundled<ReaderResult>(readerEntry, readerJob, TIMEOUT_MS + 30_000));
  const r = read.result;
  for (const p of r.problems) broken.push(`mxray reader: ${p}`);
  const mineCounts = await edgeCounts(stack, mine.accountId);
  const [left, moved] = await Promise.all([dovecot.messages("mxray", "INBOX"), dovecot.messages("mxray", PROCESSED)]);
  ours = {
    messages: N,
    seconds: r.windowMs / 1000,
    perSecond: N / (r.windowMs / 1000),
    edgeRequests: r.reports + r.heartbeats,
    requestsDetail: `${r.reports} reports + ${r.heartbeats} heartbeat${r.heartbeats === 1 ? "" : "s"}`,
    requestMs: r.reportMs,
    imapFetches: Math.ceil(N / CHUNK),
    edge: mineCounts,
    movedOut: moved.length,
    edgeCpuMsPerMessage: read.edgeCpuMs / N,
    clientCpuMsPerMessage: r.cpuMs / N,
    startRssMb: r.startRssKb / 1024,
    peakRssMb: r.maxRssKb / 1024,
  };
  log(`mxray     ${N} messages in ${ours.seconds.toFixed(1)} s: ${r.reports} reports (${r.carried} messages carried, ${r.ours} confirmed ours), ${r.heartbeats} heartbeats`);

  // Every message accounted for: ours moved and stored by kind, the rest left exactly as it was.
  const storedExpected = expected.hard + expected.soft + expected.complaint + expected.unclassified;
  if (r.seen !== N) broken.push(`mxray: the reports saw ${r.seen} messages, not ${N}`);
  if (r.ours !== oursCount) broken.push(`mxray: the edge confirmed ${r.ours} messages ours, not ${oursCount}`);
  if (moved.length !== oursCount) broken.push(`mxray: ${moved.length} messages in ${PROCESSED}, not ${oursCount}`);
  if (left.length !== N - oursCount) broken.push(`mxray: ${left.length} messages left in INBOX, not ${N - oursCount}`);
  const touched = left.filter((m) => m.flags.length > 0 || !mailbox.otherIds.has(m.messageId ?? ""));
  if (touched.length > 0) broken.push(`mxray: ${touched.length} messages left in INBOX are flagged or not the unrelated ones, e.g. ${JSON.stringify(touched[0])}`);
  if (mineCounts.bounces !== storedExpected) broken.push(`mxray: ${mineCounts.bounces} bounce rows, not ${storedExpected}`);
  for (const k of ["hard", "soft", "complaint", "unclassified"] as const) {
    if ((mineCounts.byKind[k] ?? 0) !== expected[k]) broken.push(`mxray: ${mineCounts.byKind[k] ?? 0} ${k} bounces stored, not ${expected[k]}`);
  }
  if (mineCounts.refunds !== mineCounts.contradicting || mineCounts.ledgerRefunds !== mineCounts.refunds || mineCounts.creditBalance !== mineCounts.refunds || (oursCount > 0 && mineCounts.refunds === 0)) {
    broken.push(`mxray: ${mineCounts.refunds} refunds, ${mineCounts.ledgerRefunds} in the ledger, balance ${mineCounts.creditBalance}, of ${mineCounts.contradicting} hard 5.1.x bounces`);
  }
  if (mineCounts.suppressions !== expected.hard + expected.complaint) broken.push(`mxray: ${mineCounts.suppressions} suppressions, not ${expected.hard + expected.complaint}`);
  const { client } = createDb({ url: stack.sqld.url });
  try {
    const [box, campaign] = await client.batch(
      [
        { sql: "SELECT messages_seen, messages_ours, last_uid, last_error FROM bounce_mailboxes WHERE id = ?", args: [mailboxId] },
        { sql: "SELECT bounced, (SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?1 AND bounced_at IS NOT NULL) AS marked FROM campaigns WHERE id = ?1", args: [mine.campaignId] },
      ],
      "read",
    );
    const b = box!.rows[0]!;
    if (Number(b.messages_seen) !== N || Number(b.messages_ours) !== oursCount || b.last_error !== null) {
      broken.push(`mxray: the mailbox row counts ${b.messages_seen} seen and ${b.messages_ours} ours (last error ${b.last_error}), not ${N} and ${oursCount}`);
    }
    const c = campaign!.rows[0]!;
    if (Number(c.bounced) !== expected.hard + expected.complaint || Number(c.marked) !== expected.hard + expected.complaint) {
      broken.push(`mxray: the campaign counts ${c.bounced} bounced and ${c.marked} recipients marked, not ${expected.hard + expected.complaint}`);
    }
  } finally {
    client.close();
  }

  if (PEER && theirs) {
    log(`naive     the first ${PEER_N} of the same messages, one FETCH and one parse each, one POST /api/v1/bounces per bounce`);
    const naiveJob: NaiveJob = { host: "127.0.0.1", port: dovecot.tlsPort, user: "naive", password: passwords.naive, ca, edgeUrl: stack.url, apiKey: theirs.apiKey };
    const ran = await edgeCpu(() => runBundled<NaiveResult>(naiveEntry, naiveJob, TIMEOUT_MS));
    const n = ran.result;
    naiveByKind = n.byKind;
    if (n.refused > 0) broken.push(`naive: ${n.refused} posts refused, the first: ${n.firstRefusal}`);
    if (n.messages !== PEER_N || n.fetches !== PEER_N) broken.push(`naive: ${n.fetches} of ${n.messages} messages fetched, not ${PEER_N}`);
    const theirCounts = await edgeCounts(stack, theirs.accountId);
    if (theirCounts.bounces !== n.created) broken.push(`naive: ${theirCounts.bounces} bounce rows at the edge, but ${n.created} posts answered 201`);
    const untouched = await dovecot.messages("naive", "INBOX");
    if (untouched.length !== PEER_N) broken.push(`naive: ${untouched.length} messages in its INBOX, not ${PEER_N}`);
    naive = {
      messages: PEER_N,
      seconds: n.windowMs / 1000,
      perSecond: PEER_N / (n.windowMs / 1000),
      edgeRequests: n.posts,
      requestMs: n.postMs,
      requestsDetail: PEER_N < N ? `${n.posts} POSTs (${Math.round((n.posts * N) / PEER_N)} for ${N})` : `${n.posts} POSTs`,
      imapFetches: n.fetches,
      edge: theirCounts,
      movedOut: 0,
      edgeCpuMsPerMessage: ran.edgeCpuMs / PEER_N,
      clientCpuMsPerMessage: n.cpuMs / PEER_N,
      startRssMb: n.startRssKb / 1024,
      peakRssMb: n.maxRssKb / 1024,
    };
    log(`naive     ${PEER_N} messages in ${naive.seconds.toFixed(1)} s: ${n.posts} posts (${n.created} stored, ${n.repeated} seen before)`);
  }
} finally {
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => log(`cleanup failed: ${String(e)}`));
  removeScratch(work);
}

const lines: string[] = [];
lines.push(`bounces: a mailbox of ${N} messages in a local Dovecot (IMAP over TLS), ${oursCount} ours (${OURS_STYLES.length} real-format styles in turn: DSNs, text bounces,`);
lines.push(`ARF complaints, auto-replies) and ${N - oursCount} unrelated mail and bounces; applied by the local stack (sqld + the Worker under wrangler dev)`);
if (expected) lines.push(`truth for ours, hard / soft / complaint / unclassified: ${kindList(expected)}, and ${expected.auto_reply} auto-replies (ours, moved, not stored)`);
lines.push("");
const rows: string[][] = [["", "mxray probe reader", ...(PEER ? ["naive monitor"] : [])]];
const add = (label: string, f: (s: SideReport) => string) => rows.push([label, ours ? f(ours) : "n/a", ...(PEER ? [naive ? f(naive) : "n/a"] : [])]);
add("messages", (s) => String(s.messages));
add("messages/s (first message to last answer)", (s) => s.perSecond.toFixed(0));
add("seconds", (s) => s.seconds.toFixed(1));
add("IMAP fetch round trips", (s) => String(s.imapFetches));
add("edge requests", (s) => s.requestsDetail);
add("  round trip p50 / p99 (ms)", (s) => {
  const p = percentiles(s.requestMs);
  return `${p.p50.toFixed(0)} / ${p.p99.toFixed(0)}`;
});
add("bounces stored: hard / soft / complaint / uncl.", (s) => kindList(s.edge.byKind));
add("  of addresses no campaign sent to", (s) => String(s.edge.strangers));
add("refunds (credits back)", (s) => String(s.edge.refunds));
add("suppressed", (s) => String(s.edge.suppressions));
add("moved out of INBOX", (s) => String(s.movedOut));
add("edge CPU ms / message (workerd+sqld+wrangler)", (s) => s.edgeCpuMsPerMessage.toFixed(2));
add("reading process: CPU ms / message", (s) => s.clientCpuMsPerMessage.toFixed(2));
add("reading process: peak RSS MB (at the start)", (s) => `${s.peakRssMb.toFixed(0)} (${s.startRssMb.toFixed(0)})`);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
for (const row of rows) lines.push(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   "));
lines.push("");
if (ours && naive) {
  const perMessage = (x: SideReport) => x.edgeRequests / x.messages;
  lines.push(`mxray vs naive: ${(ours.perSecond / naive.perSecond).toFixed(1)}x the messages/s, ${(perMessage(naive) / perMessage(ours)).toFixed(0)}x fewer edge requests, ${(naive.edgeCpuMsPerMessage / ours.edgeCpuMsPerMessage).toFixed(1)}x less edge CPU per message${naive.messages < ours.messages ? ` (naive per message of its ${naive.messages})` : ""}`);
  lines.push(`naive's own reading of the bounces it posted, hard / soft / complaint: ${["hard", "soft", "complaint"].map((k) => naiveByKind[k] ?? 0).join(" / ")}`);
}
lines.push(`every message accounted for: ${broken.length === 0 ? "yes" : "NO"}`);
for (const b of broken) lines.push(`  ${b}`);
console.log(`\n${lines.join("\n")}\n`);
if (broken.length > 0 || !ours || (PEER && !naive)) {
  console.error("bounces bench FAILED: see the figures above");
  process.exit(1);
}
