// Test helpers for the bounce monitor (no production code imports them): a mailbox's wire form
// for a local Dovecot, a stand-in parser that knows only the VERP address, a fake edge that
// records reports and confirms the tokens a test chooses, and messages to deliver.
import { MAX_BOUNCE_RAW, type MailboxReportAnswer, type MailboxWire, type ParsedMessage } from "../../core/contracts.ts";
import { probeTransportKey, seal } from "../../core/secrets.ts";
import type { RunningDovecot } from "../../e2e/dovecot.ts";
import type { ImapOptions } from "./imap.ts";
import type { MailboxReading, ParseMessage } from "./monitor.ts";

export const SECRET = "probe-secret-for-bounce-tests-0123";

let mailboxNo = 0;

/** A mailbox of the Dovecot instance as the edge hands it over: its password sealed under the probe transport key. */
export async function mailboxWire(dovecot: Pick<RunningDovecot, "host" | "port" | "tlsPort" | "users">, user: string, over: Partial<MailboxWire> & { clearPassword?: string } = {}): Promise<MailboxWire> {
  const { clearPassword, ...rest } = over;
  const id = rest.id ?? `bmx_test${++mailboxNo}`;
  const security = rest.security ?? "none";
  return {
    id,
    host: dovecot.host,
    port: security === "tls" ? dovecot.tlsPort : dovecot.port,
    security,
    username: user,
    password: await seal(await probeTransportKey(SECRET), { purpose: "mailbox.password", recordId: id }, clearPassword ?? dovecot.users[user]!),
    folder: "INBOX",
    processed_folder: "mxray-processed",
    epoch: 1,
    uidvalidity: null,
    last_uid: 0,
    poll_requested_at: null,
    ...rest,
  };
}

/** Loopback targets allowed, the test CA trusted, short bounds. */
export function imapOptions(caPem: string, over: Partial<ImapOptions> = {}): ImapOptions {
  return {
    keys: probeTransportKey(SECRET),
    allowPrivateTargets: true,
    resolveHost: async (name) => (name === "localhost" ? ["127.0.0.1"] : Promise.reject(new Error(`${name}: not in the test's resolver`))),
    extraCa: [caPem],
    connectTimeoutMs: 5_000,
    greetingTimeoutMs: 5_000,
    commandTimeoutMs: 10_000,
    ...over,
  };
}

/**
 * Stands in for probe/bounces/parse.ts: a message is "ours" when its To: is a VERP address
 * (bounce+{token}@…), and every such message is a hard bounce. Enough to drive the monitor.
 */
export const stubParse: ParseMessage = async (uid, source) => {
  const text = source.toString("utf8");
  const head = text.split(/\r?\n\r?\n/, 1)[0]!;
  const token = /^to:.*\bbounce\+([A-Za-z0-9_-]{1,40})@/im.exec(head)?.[1] ?? null;
  if (token === null) return null;
  const messageId = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head)?.[1] ?? null;
  const parsed: ParsedMessage = {
    uid,
    message_id: messageId,
    date: null,
    kind: "hard",
    recipients: [{ email: `${token}@example.test`, action: "failed", status: "5.1.1", diagnostic: null, remote_mta: null }],
    token,
    original_message_id: null,
    original_token: null,
    raw: text.slice(0, MAX_BOUNCE_RAW),
    raw_truncated: text.length > MAX_BOUNCE_RAW,
  };
  return parsed;
};

/** The edge's side of the reports: records each, confirms as ours the messages whose token is in `ours`. */
export function fakeEdge(opts: { ours?: Iterable<string>; stale?: (report: MailboxReading) => boolean } = {}) {
  const ours = new Set(opts.ours ?? []);
  const reports: MailboxReading[] = [];
  const report = async (r: MailboxReading): Promise<MailboxReportAnswer> => {
    reports.push(structuredClone(r));
    if (opts.stale?.(r)) return { ours: [], stale: true };
    return { ours: r.messages.filter((m) => m.token !== null && ours.has(m.token)).map((m) => m.uid), stale: false };
  };
  return { report, reports, ours };
}

let messageNo = 0;

/** A bounce to the VERP address of `token` (what the stub parser recognises). */
export function bounceTo(token: string, subject = "Undelivered Mail Returned to Sender"): string {
  const n = ++messageNo;
  return [
    "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)",
    `To: bounce+${token}@bounce.sender.test`,
    `Subject: ${subject}`,
    `Message-ID: <bounce.${n}@mx.example.test>`,
    "Date: Mon, 1 Jan 2024 10:00:00 +0000",
    "",
    `This is bounce ${n}.`,
    "",
  ].join("\r\n");
}

/** A message that is nobody's bounce: the customer's own mail in the same folder. */
export function unrelated(subject: string): string {
  const n = ++messageNo;
  return [`From: alice@customer.example.test`, `To: billing@customer.example.test`, `Subject: ${subject}`, `Message-ID: <own.${n}@customer.example.test>`, "Date: Mon, 1 Jan 2024 09:00:00 +0000", "", "Please find the invoice attached.", ""].join("\r\n");
}
