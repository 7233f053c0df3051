/**
 * Reading one message of a bounce mailbox (issue 24, docs/decisions/010-bounces.md).
 *
 * What it recognises:
 * - RFC 3464 delivery status notifications (`message/delivery-status`, and RFC 6533's
 *   `message/global-delivery-status`): per recipient Final-/Original-Recipient, Action, Status,
 *   Diagnostic-Code, Remote-MTA, whoever wrote them (Postfix, Exim, Exchange Online, Gmail, …);
 * - RFC 5965 ARF feedback reports (`Feedback-Type: abuse`): complaints;
 * - non-standard text bounces by rules of their own: qmail's QSBMF and Yahoo's "Remote host said:",
 *   Exchange 2003 ("could not be reached") and 2007/2010 ("Delivery has failed to these recipients
 *   or groups"), Exim with no report part. The status comes from an enhanced code in the text;
 *   with only a basic reply code, 5xx is hard and 4xx soft (category other); with neither, the
 *   recipient stays unclassified, never guessed hard;
 * - RFC 3834 auto-replies (out-of-office) with no report: `auto_reply`, not a bounce. MTAs mark
 *   their own bounces `Auto-Submitted: auto-replied` too, so a report or a bounce's text decides
 *   before that header does. A report of successes only (delivered, relayed) is no bounce either
 *   and reads as `auto_reply`: recognised, never counted;
 * - anything else addressed to a VERP address (an unreadable bounce, a stray message) is
 *   `unclassified`, with the recipients it names readably, if any.
 *
 * What ties a message to a campaign ("looks ours"): a VERP address `bounce+{token}@…` in To,
 * Delivered-To, X-Original-To, Envelope-To or X-Envelope-To (or as the returned message's
 * Return-Path, or an ARF report's Original-Mail-From); or the returned message (message/rfc822,
 * text/rfc822-headers, a DSN's X-Original-Message-ID, or the headers a text bounce quotes) with a
 * campaign Message-ID `<{recipient id}.cmp_…@…>` (kept with its angle brackets) or a
 * List-Unsubscribe URL ending `/u/{token}`. Anything else gives null and never leaves the probe.
 *
 * The input is hostile by default: it reads at most PARSE_LIMIT_BYTES of a message, a bounded
 * number of parts, header fields and lines, at most 100 recipients, and never throws.
 */
import { simpleParser, type ParsedMail } from "mailparser";
import { classifyBounce, normalizeStatus, statusInText } from "../../core/bounces.ts";
import { MAX_BOUNCE_RAW, MAX_EMAIL_LENGTH, type BounceRecipient, type ParsedMessage } from "../../core/contracts.ts";
import { tokenFromVerp } from "../../core/unsubscribe.ts";

/** The most of a message read (the monitor fetches no more: its head and report are within it). */
export const PARSE_LIMIT_BYTES = 256 * 1024;
const MAX_HEAD_CHARS = 64 * 1024;
const MAX_FIELDS = 200;
const MAX_FIELD_CHARS = 4_096;
const MAX_PARTS = 32;
const MAX_PART_CHARS = 64 * 1024;
const MAX_TEXT_CHARS = 64 * 1024;
const MAX_TEXT_LINES = 2_000;
const MAX_LINE_CHARS = 1_000;
const MAX_RECIPIENTS = 100;
const MAX_DIAGNOSTIC = 1_000;
const MAX_REMOTE_MTA = 253;

type Kind = ParsedMessage["kind"];

interface Field {
  /** Lower-case. */
  name: string;
  /** Unfolded: continuation lines joined with one space (RFC 5322 §2.2.3). */
  value: string;
}

const FIELD_LINE = /^([!-9;-~]{1,76}):[ \t]*(.*)$/;

/** A block of header fields, unfolded, at most `max` of them. Lines that are not fields are skipped. */
function parseFields(block: string, max = MAX_FIELDS): Field[] {
  const fields: Field[] = [];
  let current: Field | null = null;
  for (const line of block.split(/\r?\n/, max * 8)) {
    if (/^[ \t]/.test(line)) {
      const more = line.trim();
      if (current && more && current.value.length < MAX_FIELD_CHARS) current.value = `${current.value} ${more}`.slice(0, MAX_FIELD_CHARS).trim();
      continue;
    }
    const m = FIELD_LINE.exec(line);
    if (!m) {
      current = null;
      continue;
    }
    if (fields.length >= max) break;
    current = { name: m[1]!.toLowerCase(), value: m[2]!.trim().slice(0, MAX_FIELD_CHARS) };
    fields.push(current);
  }
  return fields;
}

const field = (fields: readonly Field[], name: string) => fields.find((f) => f.name === name)?.value ?? null;
const fieldsNamed = (fields: readonly Field[], names: readonly string[]) => fields.filter((f) => names.includes(f.name)).map((f) => f.value);

/** The header section of a message or part: up to its first empty line. */
function headOf(text: string): string {
  const m = /\r?\n\r?\n/.exec(text.length > MAX_HEAD_CHARS ? text.slice(0, MAX_HEAD_CHARS) : text);
  return m ? text.slice(0, m.index) : text.slice(0, MAX_HEAD_CHARS);
}

/** After the header section, or "" when there is none. */
function bodyOf(text: string): string {
  const m = /\r?\n\r?\n/.exec(text.length > MAX_HEAD_CHARS ? text.slice(0, MAX_HEAD_CHARS) : text);
  return m ? text.slice(m.index + m[0].length) : "";
}

// ---- What ties a message to a campaign ----

/** The headers a bounce is delivered under; the VERP address is the envelope recipient (RFC 3464 §2: a DSN goes to the MAIL FROM). */
const ADDRESSED_TO = ["to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to"];
const ADDRESS = /[^\s<>()[\]",;:]{1,64}@[^\s<>()[\]",;:]{1,253}/g;
/** probe/sending/compose.ts: `<{recipient id}.{campaign id}@{from domain}>`. */
const CAMPAIGN_MESSAGE_ID = /<(\d{1,15}\.cmp_[0-9a-z]{1,40}@[^\s<>]{1,253})>/i;
/** core/unsubscribe.ts's token shape at the end of a one-click URL. */
const UNSUBSCRIBE_TOKEN = /\/u\/([0-9a-z]{1,12}-[0-9a-f]{20})(?=$|[>?#\s,])/i;

function verpToken(values: readonly string[]): string | null {
  for (const value of values) {
    for (const address of value.match(ADDRESS) ?? []) {
      const token = tokenFromVerp(address);
      if (token) return token;
    }
  }
  return null;
}

function campaignMessageId(values: readonly (string | null)[]): string | null {
  for (const value of values) {
    const m = value ? CAMPAIGN_MESSAGE_ID.exec(value) : null;
    if (m) return `<${m[1]}>`;
  }
  return null;
}

function unsubscribeToken(values: readonly (string | null)[]): string | null {
  for (const value of values) {
    const m = value ? UNSUBSCRIBE_TOKEN.exec(value) : null;
    if (m) return m[1]!.toLowerCase();
  }
  return null;
}

/** Header lines a text bounce quotes from the returned message (qmail's copy, Exchange's "Original message headers:"), unfolded. */
function quotedHeaders(text: string): Field[] {
  const lines = text.split(/\r?\n/, MAX_TEXT_LINES);
  const out: Field[] = [];
  for (let i = 0; i < lines.length && out.length < MAX_FIELDS; i++) {
    const m = /^\s*(?:>\s*)?(message-id|list-unsubscribe|return-path)\s*:\s*(.*)$/i.exec(lines[i]!);
    if (!m) continue;
    let value = m[2]!;
    for (let j = i + 1; j < lines.length && j <= i + 3 && /^[ \t]/.test(lines[j]!); j++) value += ` ${lines[j]!.trim()}`;
    out.push({ name: m[1]!.toLowerCase(), value: value.slice(0, MAX_FIELD_CHARS) });
  }
  return out;
}

// ---- Recipients ----

const EMAIL = /^[^\s@<>()",;:]{1,64}@[^\s@<>()",;:]{1,253}$/;

/** An address from a report field ("rfc822; a@b", "<a@b>", "utf-8; a@b"), or null when it is none. */
function addressOf(value: string | null): string | null {
  if (!value) return null;
  const typed = /^[A-Za-z0-9-]{1,20}\s*;\s*(.*)$/.exec(value);
  const address = (typed ? typed[1]! : value).trim().replace(/^<(.*)>$/, "$1").trim();
  return address.length <= MAX_EMAIL_LENGTH && EMAIL.test(address) ? address : null;
}

/** "dns; mx.example.com. (142.250.27.27, …)" → "mx.example.com". */
function hostOf(value: string | null): string | null {
  if (!value) return null;
  const host = value.replace(/^[A-Za-z0-9-]{1,20}\s*;\s*/, "").trim().split(/\s/, 1)[0]!.replace(/\.$/, "");
  return host ? host.slice(0, MAX_REMOTE_MTA) : null;
}

const diagnosticOf = (text: string | null) => (text ? text.replace(/\s+/g, " ").trim().slice(0, MAX_DIAGNOSTIC) || null : null);

/**
 * The recipient's status: the Status field, unless it is a generic x.0.0 and the remote's reply
 * says more in the same class (Exim reports every failure as 5.0.0 beside the remote's 5.1.1).
 */
function statusOf(statusField: string | null, diagnostic: string | null): string | null {
  const stated = normalizeStatus(statusField?.split(/[\s(]/, 1)[0]) ?? statusInText(statusField);
  const replied = statusInText(diagnostic);
  if (!stated) return replied;
  if (replied && stated.endsWith(".0.0") && replied[0] === stated[0]) return replied;
  return stated;
}

/**
 * RFC 3464 §2.1: a per-message block, then one block per recipient, separated by blank lines. A
 * block naming a recipient is a recipient's whatever its place (some MTAs leave out the first).
 */
function deliveryStatus(body: string): { perMessage: Field[]; recipients: BounceRecipient[] } {
  const blocks = body.slice(0, MAX_PART_CHARS).split(/\r?\n[ \t]*\r?\n/, MAX_RECIPIENTS * 2 + 2);
  let perMessage: Field[] = [];
  const recipients: BounceRecipient[] = [];
  for (const block of blocks) {
    const fields = parseFields(block, 40);
    if (fields.length === 0) continue;
    const email = addressOf(field(fields, "original-recipient")) ?? addressOf(field(fields, "final-recipient"));
    if (!email) {
      if (recipients.length === 0 && perMessage.length === 0) perMessage = fields;
      continue;
    }
    if (recipients.length >= MAX_RECIPIENTS) break;
    const diagnostic = diagnosticOf(field(fields, "diagnostic-code"));
    recipients.push({
      email,
      action: field(fields, "action")?.toLowerCase().split(/\s/, 1)[0]!.slice(0, 32) || null,
      status: statusOf(field(fields, "status"), diagnostic),
      diagnostic,
      remote_mta: hostOf(field(fields, "remote-mta")),
    });
  }
  return { perMessage, recipients };
}

// ---- Non-standard text bounces ----

interface TextEntry {
  email: string;
  diagnostic: string;
}

interface TextRule {
  /** Whether the text is this style's. */
  matches: RegExp;
  /** The text from the match on, cut before the returned copy: the entries. */
  read(section: string): TextEntry[];
  /** Explicit delay warnings: the recipients are still being tried. */
  delayed?: RegExp;
}

const entryEmail = (s: string) => {
  const address = s.trim().replace(/^<(?:mailto:)?|>$/g, "");
  return address.length <= MAX_EMAIL_LENGTH && EMAIL.test(address) ? address : null;
};

/** Where a text bounce's own words end and its copy of the returned message starts. */
const RETURNED_COPY = /^(?:--- Below this line is a copy of the message|-{3,} This is a copy of the message|Original message headers:)/im;

/** A text bounce's lines; none longer than a reply could be, so no rule's pattern meets a hostile line. */
const linesOf = (text: string) => text.split(/\r?\n/, MAX_TEXT_LINES).map((line) => line.slice(0, MAX_LINE_CHARS));

/** QSBMF (qmail-send's bounce format; Yahoo writes it too): a paragraph per address, "<address>:" then the reason. */
function readParagraphs(section: string): TextEntry[] {
  const out: TextEntry[] = [];
  let current: TextEntry | null = null;
  for (const line of linesOf(section)) {
    const start = /^<([^<>\s]{3,512})>:\s*(.*)$/.exec(line);
    const email = start ? entryEmail(start[1]!) : null;
    if (email) {
      current = { email, diagnostic: start![2]! };
      out.push(current);
    } else if (!line.trim()) current = null;
    else if (current && current.diagnostic.length < MAX_DIAGNOSTIC) current.diagnostic += ` ${line.trim()}`;
  }
  return out;
}

/** Exim: the address indented two spaces, the reason below it indented four. */
function readIndented(section: string): TextEntry[] {
  const out: TextEntry[] = [];
  let current: TextEntry | null = null;
  for (const line of linesOf(section)) {
    const start = /^ {1,3}(\S+)\s*$/.exec(line);
    const email = start ? entryEmail(start[1]!.replace(/:$/, "")) : null;
    if (email) {
      current = { email, diagnostic: "" };
      out.push(current);
    } else if (current && /^ {4,}\S/.test(line)) {
      if (current.diagnostic.length < MAX_DIAGNOSTIC) current.diagnostic += ` ${line.trim()}`;
    } else current = null;
  }
  return out;
}

/** Exchange 2003: "      address on date", the reason indented deeper, ending "<host #5.1.1>". */
function readExchange2003(section: string): TextEntry[] {
  const out: TextEntry[] = [];
  let current: TextEntry | null = null;
  for (const line of linesOf(section)) {
    const start = /^\s+(\S+)\s+on\s+\d/.exec(line);
    const email = start ? entryEmail(start[1]!) : null;
    if (email) {
      current = { email, diagnostic: "" };
      out.push(current);
    } else if (current && /^\s{8,}\S/.test(line)) {
      if (current.diagnostic.length < MAX_DIAGNOSTIC) current.diagnostic += ` ${line.trim()}`;
    } else if (line.trim()) current = null;
  }
  return out;
}

/**
 * Exchange 2007/2010: the addresses (bare, "Name (address)" or "<address>") under "Delivery has
 * failed…", and for each a line "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##" under
 * "Diagnostic information for administrators:".
 */
function readExchange2010(section: string): TextEntry[] {
  const lines = linesOf(section);
  const admin = lines.findIndex((l) => /^Diagnostic information for administrators:/i.test(l.trim()));
  const listed = admin === -1 ? lines : lines.slice(0, admin);
  const out: TextEntry[] = [];
  for (const line of listed) {
    const m = /(?:^|[(<])((?:mailto:)?[^\s<>()]+@[^\s<>()]+?)[)>]?\s*$/.exec(line.trim());
    const email = m ? entryEmail(m[1]!.replace(/^mailto:/i, "")) : null;
    if (email && !out.some((e) => e.email.toLowerCase() === email.toLowerCase())) out.push({ email, diagnostic: "" });
  }
  if (admin !== -1) {
    for (let i = admin + 1; i < lines.length - 1; i++) {
      const entry = out.find((e) => e.email.toLowerCase() === lines[i]!.trim().toLowerCase());
      const next = lines[i + 1]!.trim();
      if (entry && next.startsWith("#")) entry.diagnostic = next.replace(/^#|\s*##$/g, "");
    }
  }
  return out;
}

const TEXT_RULES: readonly TextRule[] = [
  // qmail-send
  { matches: /^Hi\. This is the qmail-send program|I'm afraid I wasn't able to deliver your message to the following addresses/im, read: readParagraphs },
  // Yahoo's "Failure Notice"
  { matches: /Sorry, we were unable to deliver your message to the following address/i, read: readParagraphs },
  { matches: /The following recipient\(s\) could not be reached:/i, read: readExchange2003 },
  { matches: /Delivery has failed to these recipients or groups:/i, read: readExchange2010 },
  // Exim's failure and its delay warning
  {
    matches: /(?:could not be delivered to|has not yet been delivered to) one or more of its\s+recipients/i,
    read: readIndented,
    delayed: /has not yet been delivered to one or more of its\s+recipients/i,
  },
];

/** "(#5.1.1)", "<host #5.1.1>": qmail and Exchange put a '#' before their enhanced codes. */
const unhash = (text: string) => text.replace(/#(\d\.\d{1,3}\.\d{1,3})/g, " $1 ");
/** A basic SMTP reply code (RFC 5321 §4.2) where a reply starts: a line's start, after "said:", "]:" or '#'. */
const BASIC_REPLY = /(?:^|[:#]\s*)([45][0-5]\d)(?=[\s-]|$)/m;

/**
 * A text bounce's recipient. Its action is the one its reply code implies (5 failed, 4 delayed),
 * so classifyBounce(action, status) gives every reader of the row the same verdict as here: a
 * basic 5xx alone is hard with category other, nothing readable stays unclassified.
 */
function textRecipient(entry: TextEntry, delayed: boolean): BounceRecipient {
  const diagnostic = diagnosticOf(entry.diagnostic);
  const status = statusInText(unhash(diagnostic ?? ""));
  const klass = status?.[0] ?? BASIC_REPLY.exec(diagnostic ?? "")?.[1]?.[0] ?? null;
  const action = delayed || klass === "4" ? "delayed" : klass === "5" ? "failed" : null;
  return { email: entry.email, action, status, diagnostic, remote_mta: null };
}

function readTextBounce(text: string): BounceRecipient[] | null {
  for (const rule of TEXT_RULES) {
    const m = rule.matches.exec(text);
    if (!m) continue;
    const after = text.slice(m.index);
    const cut = RETURNED_COPY.exec(after);
    const entries = rule.read(cut ? after.slice(0, cut.index) : after);
    const delayed = rule.delayed?.test(text) ?? false;
    return dedupe(entries.map((e) => textRecipient(e, delayed)));
  }
  return null;
}

function dedupe(recipients: BounceRecipient[]): BounceRecipient[] {
  const seen = new Set<string>();
  return recipients.filter((r) => !seen.has(r.email.toLowerCase()) && seen.add(r.email.toLowerCase())).slice(0, MAX_RECIPIENTS);
}

// ---- Auto-replies and MTAs ----

const AUTO_REPLY_SUBJECT =
  /^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|auto:|autosvar|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica)/i;

/** RFC 3834 §5 (Auto-Submitted other than "no"), the common vendor headers, and the subjects mail clients write. */
function looksAutoReply(top: readonly Field[]): boolean {
  const submitted = field(top, "auto-submitted")?.toLowerCase().split(/[\s;(]/, 1)[0];
  if (submitted && submitted !== "no") return true;
  if (field(top, "x-autoreply") !== null || field(top, "x-autorespond") !== null) return true;
  if (field(top, "precedence")?.toLowerCase() === "auto_reply") return true;
  return AUTO_REPLY_SUBJECT.test(field(top, "subject") ?? "");
}

const MTA_SENDER = /(?:^|[\s<"])(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;
const BOUNCE_SUBJECT =
  /^\s*(?:undeliver|undelivered mail|delivery status notification|delivery failure|delivery has failed|mail delivery failed|returned mail|failure notice|non[- ]?delivery|warning: message .* delayed|delayed mail|mail system error)/i;

/** An MTA's notice whatever its format: the sender, the subject, or the headers MTAs add to their bounces. */
function looksBounce(top: readonly Field[]): boolean {
  if (MTA_SENDER.test(field(top, "from") ?? "")) return true;
  if (BOUNCE_SUBJECT.test(field(top, "subject") ?? "")) return true;
  return field(top, "x-failed-recipients") !== null || field(top, "x-ms-exchange-message-is-ndr") !== null;
}

// ---- The message ----

const KIND_RANK: Record<Kind, number> = { hard: 4, complaint: 3, soft: 2, unclassified: 1, auto_reply: 0 };

/** The message's kind: the worst of its recipients' (hard > soft > unclassified). */
function worstKind(recipients: readonly BounceRecipient[]): Kind {
  let worst: Kind = "unclassified";
  for (const r of recipients) {
    const kind = classifyBounce(r.action, r.status)?.kind ?? "unclassified";
    if (KIND_RANK[kind] > KIND_RANK[worst]) worst = kind;
  }
  return worst;
}

/** Enough of an HTML-only human part to read its words (Exchange Online's NDR). */
function htmlText(html: string): string {
  return html
    .slice(0, MAX_TEXT_CHARS)
    .replace(/<(?:br|\/p|\/div|\/tr|\/h\d|\/li)\b[^>]{0,200}>/gi, "\n")
    .replace(/<[^>]{0,2000}>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/** Clocks disagree by minutes, not by a day: a Date later than that after arrival is not believed. */
const MAX_CLOCK_SKEW_MS = 86_400_000;

/** The message's Date (RFC 5322 §3.3), or its arrival when the Date is missing, unreadable or after the arrival. */
function isoDate(value: string | null, arrivedAt: Date | undefined): string | null {
  const arrived = arrivedAt && !Number.isNaN(arrivedAt.getTime()) ? arrivedAt.getTime() : null;
  const stated = value ? Date.parse(value.replace(/\([^()]*\)/g, " ").trim()) : NaN;
  const year = Number.isNaN(stated) ? NaN : new Date(stated).getUTCFullYear();
  const believable = year >= 1970 && year <= 9999 && (arrived === null || stated <= arrived + MAX_CLOCK_SKEW_MS);
  if (believable) return new Date(stated).toISOString();
  return arrived === null ? null : new Date(arrived).toISOString();
}

const PARSER_OPTIONS = {
  // The report is data to read here, not text to show; a returned message stays one opaque part
  // whose headers are read below (and whose parts are never walked).
  keepDeliveryStatus: true,
  ignoreEmbedded: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  checksumAlgo: false,
  maxHeadSize: MAX_HEAD_CHARS,
  maxChildNodes: 64,
} as const;

interface Parts {
  text: string;
  deliveryStatus: string | null;
  feedbackReport: string | null;
  returned: Field[];
}

async function partsOf(source: Buffer | string, fallbackText: string): Promise<Parts> {
  let mail: ParsedMail;
  try {
    mail = await simpleParser(source, PARSER_OPTIONS);
  } catch {
    // More parts or a bigger head than we read: what the top-level body says is all we use.
    return { text: fallbackText.slice(0, MAX_TEXT_CHARS), deliveryStatus: null, feedbackReport: null, returned: [] };
  }
  const parts: Parts = { text: "", deliveryStatus: null, feedbackReport: null, returned: [] };
  for (const part of mail.attachments.slice(0, MAX_PARTS)) {
    const type = part.contentType.toLowerCase();
    const body = () => part.content.subarray(0, MAX_PART_CHARS).toString("utf8");
    if ((type === "message/delivery-status" || type === "message/global-delivery-status") && parts.deliveryStatus === null) parts.deliveryStatus = body();
    else if (type === "message/feedback-report" && parts.feedbackReport === null) parts.feedbackReport = body();
    else if (["message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"].includes(type) && parts.returned.length === 0) {
      parts.returned = parseFields(headOf(body()));
    }
  }
  const text = mail.text || (typeof mail.html === "string" ? htmlText(mail.html) : "");
  parts.text = text.slice(0, MAX_TEXT_CHARS);
  return parts;
}

interface Reading {
  kind: Kind;
  recipients: BounceRecipient[];
  /** Whether an MTA or a feedback loop wrote it (a report, a bounce's text, a bounce's headers): only then do headers quoted in its text count. */
  fromMta: boolean;
  perMessage: Field[];
  feedback: Field[];
}

/** What the message is and whom it names, before the question whether it is ours. */
function classify(top: readonly Field[], parts: Parts): Reading {
  // RFC 5965: a feedback report is a complaint whatever else the message says.
  if (parts.feedbackReport !== null) {
    const feedback = parseFields(parts.feedbackReport, 60);
    const type = field(feedback, "feedback-type")?.toLowerCase() ?? null;
    const named = fieldsNamed(feedback, ["original-rcpt-to"]).map(addressOf);
    const emails = named.some(Boolean) ? named : fieldsNamed(parts.returned, ["to"]).flatMap((v) => v.match(ADDRESS) ?? []).map(addressOf);
    const diagnostic = type ? `Feedback-Type: ${type}`.slice(0, MAX_DIAGNOSTIC) : null;
    const remote = hostOf(field(feedback, "reporting-mta"));
    const recipients = dedupe(emails.filter((e): e is string => e !== null).map((email) => ({ email, action: null, status: null, diagnostic, remote_mta: remote })));
    // Other feedback types (not-spam, auth-failure: RFC 6591) are not the recipient complaining.
    return { kind: type === "abuse" ? "complaint" : "unclassified", recipients, fromMta: true, perMessage: [], feedback };
  }
  if (parts.deliveryStatus !== null) {
    const report = deliveryStatus(parts.deliveryStatus);
    const failures = report.recipients.filter((r) => classifyBounce(r.action, r.status) !== null);
    const reading = { fromMta: true, perMessage: report.perMessage, feedback: [] };
    // A report of successes only (delivered, relayed, expanded: RFC 3464 §2.3.3) is no bounce:
    // like an auto-reply, recognised and never counted.
    if (report.recipients.length > 0 && failures.length === 0) return { kind: "auto_reply", recipients: [], ...reading };
    const recipients = failures.length > 0 ? failures : (readTextBounce(parts.text) ?? []);
    return { kind: worstKind(recipients), recipients, ...reading };
  }
  const none = { perMessage: [], feedback: [] };
  const fromText = readTextBounce(parts.text);
  if (fromText?.length) return { kind: worstKind(fromText), recipients: fromText, fromMta: true, ...none };
  if (fromText || looksBounce(top)) {
    // Exim names its failed addresses in a header even when its text says nothing we read.
    const failed = fieldsNamed(top, ["x-failed-recipients"]).flatMap((v) => v.match(ADDRESS) ?? []).map(addressOf);
    const recipients = dedupe(failed.filter((e): e is string => e !== null).map((email) => ({ email, action: null, status: null, diagnostic: null, remote_mta: null })));
    return { kind: "unclassified", recipients, fromMta: true, ...none };
  }
  if (looksAutoReply(top)) return { kind: "auto_reply", recipients: [], fromMta: false, ...none };
  return { kind: "unclassified", recipients: [], fromMta: false, ...none };
}

async function parse(uid: number, source: Buffer | string, opts: { arrivedAt?: Date }): Promise<ParsedMessage | null> {
  const limited = typeof source === "string" ? source.slice(0, PARSE_LIMIT_BYTES) : source.subarray(0, PARSE_LIMIT_BYTES);
  const text = typeof limited === "string" ? limited : new TextDecoder("utf-8").decode(limited);
  const top = parseFields(headOf(text));
  const parts = await partsOf(limited, bodyOf(text));
  const { kind, recipients, fromMta, perMessage, feedback } = classify(top, parts);

  // Headers quoted in a text bounce count only when an MTA wrote it: a person's mail quoting a
  // campaign's headers is not a bounce of it.
  const quoted = fromMta && parts.returned.length === 0 ? quotedHeaders(parts.text) : [];
  const returned = parts.returned.length ? parts.returned : quoted;

  const token = verpToken([...fieldsNamed(top, ADDRESSED_TO), ...fieldsNamed(feedback, ["original-mail-from"]), ...fieldsNamed(returned, ["return-path"])]);
  const inReplyTo = kind === "auto_reply" ? fieldsNamed(top, ["in-reply-to", "references"]) : [];
  const originalMessageId = campaignMessageId([...fieldsNamed(returned, ["message-id"]), field(perMessage, "x-original-message-id"), ...inReplyTo]);
  const originalToken = unsubscribeToken(fieldsNamed(returned, ["list-unsubscribe"]));
  if (!token && !originalMessageId && !originalToken) return null;

  const raw = text.slice(0, MAX_BOUNCE_RAW);
  return {
    uid,
    message_id: field(top, "message-id")?.slice(0, 998) || null,
    date: isoDate(field(top, "date"), opts.arrivedAt),
    kind,
    recipients,
    token,
    original_message_id: originalMessageId,
    original_token: originalToken,
    raw: raw.replace(/\0/g, "\uFFFD"),
    raw_truncated: text.length > MAX_BOUNCE_RAW,
  };
}

/**
 * The message as the edge needs it, or null when it does not look ours (then it never leaves the
 * probe). Never throws: a message that breaks the reader is left in the mailbox as it is.
 */
export async function parseMessage(uid: number, source: Buffer | string, opts: { arrivedAt?: Date } = {}): Promise<ParsedMessage | null> {
  try {
    return await parse(uid, source, opts);
  } catch {
    return null;
  }
}
