// bench:bounces, the peer, in its own process (bundled, on plain node): a bounce monitor of the
// kind many tools ship. One IMAP connection; each message fetched whole (BODY.PEEK[], no partial)
// one round trip at a time; parsed in full with mailparser's simpleParser; a bounce recognised by
// its report part (RFC 3464 delivery-status, RFC 5965 feedback-report) or, failing that, by a
// MAILER-DAEMON / postmaster sender and the first address and status code in its text; and one
// POST /api/v1/bounces per bounce, with an API key, waiting for each answer. It leaves the mailbox
// as it was (no moving or flagging: fewer round trips than ours makes). argv[2]: a JSON NaiveJob.
// Prints one JSON line, a NaiveResult.
import { ImapFlow } from "imapflow";
import { simpleParser, type ParsedMail } from "mailparser";

export interface NaiveJob {
  host: string;
  port: number;
  user: string;
  password: string;
  ca: string;
  edgeUrl: string;
  apiKey: string;
}

export interface NaiveResult {
  /** From the first message in hand to the last answer of the edge (ms). */
  windowMs: number;
  messages: number;
  fetches: number;
  /** POST /api/v1/bounces sent, and answered 201 (stored), 200 (seen before) or otherwise. */
  posts: number;
  created: number;
  repeated: number;
  refused: number;
  firstRefusal: string | null;
  byKind: Record<string, number>;
  /** Each POST's round trip (ms). */
  postMs: number[];
  cpuMs: number;
  /** Resident set once logged in, before reading anything, and at its peak. */
  startRssKb: number;
  maxRssKb: number;
}

interface NaiveBounce {
  email: string;
  kind: "hard" | "soft" | "complaint";
  status: string | null;
  diagnostic: string | null;
  occurred_at: string;
}

const job = JSON.parse(process.argv[2]!) as NaiveJob;
const STATUS = /\b([245])\.\d{1,3}\.\d{1,3}\b/;
const ADDRESS = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** `Name: value` lines of a report part (continuation lines folded in). */
function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m && !out.has(m[1]!.toLowerCase())) out.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return out;
}

const addressIn = (value: string | undefined) => (value ? (value.replace(/^rfc822;\s*/i, "").match(ADDRESS)?.[0] ?? null) : null);

function readBounce(mail: ParsedMail): NaiveBounce | null {
  const occurred_at = (mail.date ?? new Date()).toISOString();
  const part = (type: string) => mail.attachments.find((a) => a.contentType.toLowerCase() === type);
  const feedback = part("message/feedback-report");
  if (feedback) {
    const f = fields(feedback.content.toString("utf8"));
    const returned = part("message/rfc822")?.content.toString("utf8") ?? "";
    const email = addressIn(f.get("original-rcpt-to")) ?? addressIn(/^To:\s*(.*)$/im.exec(returned)?.[1]);
    return email ? { email, kind: "complaint", status: null, diagnostic: null, occurred_at } : null;
  }
  const report = part("message/delivery-status");
  if (report) {
    // Per-message fields first, then the first recipient's (Final-Recipient, Action, Status…): first one wins.
    const f = fields(report.content.toString("utf8"));
    const email = addressIn(f.get("final-recipient")) ?? addressIn(f.get("original-recipient"));
    if (!email) return null;
    const status = STATUS.exec(f.get("status") ?? "")?.[0] ?? null;
    const hard = (f.get("action") ?? "").toLowerCase() === "failed" && status?.startsWith("5");
    return { email, kind: hard ? "hard" : "soft", status, diagnostic: f.get("diagnostic-code")?.slice(0, 1_000) ?? null, occurred_at };
  }
  const from = mail.from?.value[0]?.address ?? "";
  if (!/mailer-daemon|postmaster/i.test(from)) return null;
  const text = mail.text ?? "";
  const failed = mail.headers.get("x-failed-recipients");
  const email = addressIn(typeof failed === "string" ? failed : undefined) ?? (text.match(ADDRESS) ?? []).find((a) => a.toLowerCase() !== from.toLowerCase() && !/^bounce\+/i.test(a)) ?? null;
  if (!email) return null;
  const status = STATUS.exec(text)?.[0] ?? null;
  return { email, kind: status?.startsWith("4") ? "soft" : "hard", status, diagnostic: text.slice(0, 500), occurred_at };
}

const client = new ImapFlow({
  host: job.host,
  port: job.port,
  secure: true,
  tls: { ca: [job.ca] },
  auth: { user: job.user, pass: job.password },
  logger: false,
  disableAutoIdle: true,
});
client.on("error", () => {});
const cpuBefore = process.cpuUsage();
await client.connect();
await client.mailboxOpen("INBOX");
const startRssKb = process.memoryUsage().rss / 1024;
const uids = (await client.search({ all: true }, { uid: true })) || [];
const result: NaiveResult = { windowMs: 0, messages: uids.length, fetches: 0, posts: 0, created: 0, repeated: 0, refused: 0, firstRefusal: null, byKind: {}, postMs: [], cpuMs: 0, startRssKb, maxRssKb: 0 };
let firstMessageAt: number | null = null;
let lastAnswerAt = 0;
for (const uid of uids) {
  const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
  result.fetches++;
  firstMessageAt ??= performance.now();
  if (!message || !message.source) throw new Error(`no source for uid ${uid}`);
  const bounce = readBounce(await simpleParser(message.source));
  if (!bounce) continue;
  result.byKind[bounce.kind] = (result.byKind[bounce.kind] ?? 0) + 1;
  const sent = performance.now();
  const res = await fetch(`${job.edgeUrl}/api/v1/bounces`, {
    method: "POST",
    headers: { authorization: `Bearer ${job.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(bounce),
  });
  const text = await res.text();
  lastAnswerAt = performance.now();
  result.postMs.push(lastAnswerAt - sent);
  result.posts++;
  if (res.status === 201) result.created++;
  else if (res.status === 200) result.repeated++;
  else {
    result.refused++;
    result.firstRefusal ??= `${res.status} ${text.slice(0, 300)} for ${JSON.stringify(bounce).slice(0, 300)}`;
  }
}
await client.logout();
const cpu = process.cpuUsage(cpuBefore);
result.windowMs = lastAnswerAt - (firstMessageAt ?? lastAnswerAt);
result.cpuMs = (cpu.user + cpu.system) / 1000;
result.maxRssKb = process.resourceUsage().maxRSS;
process.stdout.write(`${JSON.stringify(result)}\n`);
