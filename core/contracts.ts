// Wire contracts between the edge, the probe and the browser. Field names are a public contract
// (the CLI's --json output and the API's results use the same record): extend, never rename.
import { z } from "zod";
import { JOB_KINDS, JOB_STATUSES, RELAY_SECURITIES } from "./enums.ts";
import { REASONS, VERDICTS } from "./verdict.ts";

/** What a result keeps of a server's reply text: evidence, not a transcript. */
export const MAX_SMTP_MESSAGE = 512;
/** What a result keeps of a transcript (`trace`): lines, and characters per line. */
export const MAX_TRACE_LINES = 200;
export const MAX_TRACE_LINE = 1024;

/** `s` cut to at most `max` characters ("…" included), never inside a surrogate pair. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return `${s.slice(0, end)}…`;
}

export const SmtpReplySchema = z.object({
  code: z.number().int(),
  enhanced: z.string().nullable(),
  // Cut, never refused: one hostile server's long reply must not make a whole result chunk fail.
  message: z.string().overwrite((m) => clip(m, MAX_SMTP_MESSAGE)),
});

export const ResultSchema = z.object({
  email: z.string(),
  normalized: z.string().nullable(),
  verdict: z.enum(VERDICTS),
  reason: z.enum(REASONS as [string, ...string[]]),
  catch_all: z.boolean().nullable(),
  disposable: z.boolean(),
  role: z.boolean(),
  free: z.boolean(),
  greylisted: z.boolean(),
  suggestion: z.string().nullable(),
  score: z.number().int().min(0).max(100),
  mx: z.string().nullable(),
  smtp: SmtpReplySchema.nullable(),
  duration_ms: z.number().int().nonnegative(),
  /** ISO time after which a greylisted address is worth asking again. */
  retry_after: z.string().nullable(),
  trace: z.array(z.string()).optional(),
});
export type Result = z.infer<typeof ResultSchema>;

export const MAX_BATCH_EMAILS = 5_000;
export const MAX_EMAIL_LENGTH = 512; // longer than any valid address (254); stops abuse, not mail

/** Most candidates one person gets (core/finder `candidates` makes 12 by default). */
export const MAX_FIND_CANDIDATES = 16;

/** One of a person's candidate addresses (core/finder), with what is known before asking. */
export const FindCandidateSchema = z.object({
  email: z.string().max(MAX_EMAIL_LENGTH),
  pattern: z.string().max(32),
  /** How likely this is the person's address when the domain accepts every address (0–100). */
  confidence: z.number().int().min(0).max(100),
});
export type FindCandidate = z.infer<typeof FindCandidateSchema>;

/** A single find: a person's candidates, most likely first, answered in the response. */
export const FindRequestSchema = z.object({
  candidates: z.array(FindCandidateSchema).min(1).max(MAX_FIND_CANDIDATES),
  budget_ms: z.number().int().positive().max(120_000).optional(),
  trace: z.boolean().optional(),
});
export type FindRequest = z.infer<typeof FindRequestSchema>;

/** A candidate that was asked about, with its evidence. */
export const TriedCandidateSchema = z.object({
  email: z.string(),
  pattern: z.string(),
  verdict: z.enum(VERDICTS),
  reason: z.enum(REASONS as [string, ...string[]]),
  mx: z.string().nullable(),
  smtp: SmtpReplySchema.nullable(),
});

/**
 * What finding a person's address answered (POST /api/v1/find; contract of issue 14). `email` is
 * the address found, or null; `verdict` is that address's verdict (deliverable, or risky with
 * reason catch_all on a domain that accepts anything), or when none was found the verdict that
 * explains why (undeliverable: every candidate refused; unknown: the server would not tell).
 */
export const FindAnswerSchema = z.object({
  email: z.string().nullable(),
  verdict: z.enum(VERDICTS),
  reason: z.enum(REASONS as [string, ...string[]]),
  /** 0–100: the answer's score when the address was accepted by a server that refuses unknown
   *  mailboxes; on a catch-all domain, how likely the pattern is to be the person's. */
  confidence: z.number().int().min(0).max(100),
  pattern: z.string().nullable(),
  catch_all: z.boolean().nullable(),
  /** The candidates asked about, in the order they were tried; the rest were not needed. */
  candidates: z.array(TriedCandidateSchema),
  duration_ms: z.number().int().nonnegative(),
  trace: z.array(z.string()).optional(),
});
export type FindAnswer = z.infer<typeof FindAnswerSchema>;

/**
 * A batch the edge sends a probe (through QStash, or directly in local runs). An address has no
 * length limit here (the body's size bounds it): a bad one gets its own result from the probe and
 * never sinks the addresses beside it.
 */
export const BatchSchema = z.object({
  batch_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  /** Addresses to verify; empty in a batch of people to find. */
  emails: z.array(z.string()).max(MAX_BATCH_EMAILS),
  /**
   * People to find (a job of kind `find`), each under its key in the job: with its candidates,
   * likeliest first, or as the person (name parts and mail domain) whose candidates the probe
   * makes itself (core/finder `findCandidates`) with `known`. The edge sends persons: a thousand
   * of them are a small body, where their candidates would be a megabyte.
   */
  people: z
    .array(
      z
        .object({
          key: z.string().max(MAX_EMAIL_LENGTH),
          candidates: z.array(FindCandidateSchema).min(1).max(MAX_FIND_CANDIDATES).optional(),
          person: z.object({ first: z.string().max(200), middle: z.string().max(200), last: z.string().max(200), domain: z.string().max(255) }).optional(),
        })
        .refine((p) => p.candidates !== undefined || p.person !== undefined, "a person needs candidates or a person"),
    )
    .max(MAX_BATCH_EMAILS)
    .optional(),
  /** The address patterns each person's domain is known to use (name and count), for the candidates the probe makes. */
  known: z.record(z.string().max(255), z.array(z.object({ pattern: z.string().max(32), count: z.number().int().nonnegative() })).max(32)).optional(),
  /** Where to post result chunks; if given, it must be the probe's EDGE_URL + /internal/probes/results. */
  callback_url: z.url().optional(),
  /** Milliseconds the probe may spend, greylisting retries included. */
  budget_ms: z.number().int().positive().max(30 * 60_000).optional(),
  /**
   * The first batch of an account with nothing in flight, sent while the probe is full: the
   * probe takes it in one slot beyond its capacity, so a small list never waits for a big one's
   * batch to finish (issue 13). The edge sends at most one such batch beyond capacity.
   */
  reserve: z.boolean().optional(),
}).refine((b) => b.emails.length + (b.people?.length ?? 0) > 0, "a batch needs emails or people");
export type Batch = z.infer<typeof BatchSchema>;

/** A single real-time check: answered in the response within the budget. */
export const VerifyRequestSchema = z.object({
  /** Any length (the body's size bounds it): a bad address is a verdict, not an error. */
  email: z.string(),
  budget_ms: z.number().int().positive().max(120_000).optional(),
  trace: z.boolean().optional(),
});
export type VerifyRequest = z.infer<typeof VerifyRequestSchema>;

/**
 * Why a batch's last addresses have no answer yet (issue 26: the job page says why its tail
 * waits instead of freezing its estimate). Each part is absent when nothing waits for it;
 * `{}` says nothing waits. Times are ISO 8601.
 */
export const TailWaitingSchema = z.object({
  /** Asked again when the server's greylisting lets them (RFC 6647 §2.1); the soonest retry. */
  greylisted: z.object({ count: z.number().int().positive(), next_try_at: z.string() }).optional(),
  /** Asked and not answered for a while: a slow banner or reply (a tarpit, a silent MX). */
  slow_server: z.object({ count: z.number().int().positive() }).optional(),
});
export type TailWaiting = z.infer<typeof TailWaitingSchema>;

/** A chunk of results the probe posts back, signed. (batch_id, seq) makes a retry harmless. */
export const ResultChunkSchema = z.object({
  probe_id: z.string(),
  batch_id: z.string(),
  job_id: z.string(),
  seq: z.number().int().nonnegative(),
  final: z.boolean(),
  results: z.array(ResultSchema),
  /** A find batch's answers, one per person, by the person's key. */
  finds: z.array(FindAnswerSchema.extend({ key: z.string() })).optional(),
  /** What the batch's unanswered addresses wait on now (absent from older probes). A probe posts
   *  a chunk when it changes, results or not, at most one per CHUNK_INTERVAL_MS. */
  waiting: TailWaitingSchema.optional(),
});
export type ResultChunk = z.infer<typeof ResultChunkSchema>;

/** One `mxray doctor` check as a heartbeat carries it; `ok` null: could not tell. */
export const SelfCheckSchema = z.object({
  checked_at: z.string(),
  ok: z.boolean(),
  checks: z.array(z.object({ name: z.string().max(200), ok: z.boolean().nullable(), detail: z.string().max(1_000) })).max(50),
});
export type SelfCheck = z.infer<typeof SelfCheckSchema>;

export const HeartbeatSchema = z.object({
  probe_id: z.string().min(1).max(128),
  // The edge sends this probe batches and checks here: a web origin, never credentials.
  url: z
    .url({ protocol: /^https?$/ })
    .max(2_048)
    .refine((u) => URL.canParse(u) && !new URL(u).username && !new URL(u).password, "no credentials in the URL"),
  version: z.string().max(64),
  in_flight: z.number().int().nonnegative(),
  capacity: z.number().int().nonnegative(),
  draining: z.boolean(),
  sent_at: z.string(),
  /** The probe's latest `mxray doctor` run (at start, then daily); absent until the first one ends. */
  self_check: SelfCheckSchema.optional(),
  /** Where the probe keeps fleet-shared MX state, and how many MX circuit breakers are open now. */
  shared_state: z.object({ mode: z.enum(["redis", "local"]), open_breakers: z.number().int().nonnegative() }).optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/**
 * Why an input row got no result (issue 9: every row is a result or a counted reject).
 * no_address: the row's email cell is empty (or only invisible characters); too_long: the cell is
 * longer than MAX_EMAIL_LENGTH, or the row longer than MAX_ROW_CHARS (core/emailfile.ts: a runaway
 * quote's row, read no further than that); invalid_person: a row of a people list (a job of kind
 * `find`) without a usable name and domain (core/finder parsePerson refused it).
 */
export const REJECT_REASONS = ["no_address", "too_long", "invalid_person"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export type RejectCounts = Record<RejectReason, number>;
export const noRejects = (): RejectCounts => ({ no_address: 0, too_long: 0, invalid_person: 0 });

const count = () => z.number().int();

/**
 * Why a file of an archive, or a sheet of a workbook, was not read (issue 25): a folder, a system
 * file (__MACOSX/, dotfiles), a type that holds no list, a spreadsheet format not read here
 * (.xls, .xlsb, .ods), an archive inside the archive, no email column (find: no name or domain
 * column), nothing in it, a hidden sheet, a sheet other than the one asked for, a chart sheet.
 */
export const FILE_SKIP_REASONS = [
  "directory", "system_file", "unsupported_type", "format_unsupported", "nested_archive",
  "no_email_column", "no_people_columns", "empty", "hidden_sheet", "not_selected", "not_a_worksheet",
] as const;
export type FileSkipReason = (typeof FILE_SKIP_REASONS)[number];

/** One file of an archive upload, or one sheet of a workbook: its rows accounted for as a job's are. */
export const FileAccountSchema = z.object({
  /** The file's path in the archive, or the workbook's file name. */
  name: z.string(),
  /** The sheet, for a workbook's. */
  sheet: z.string().optional(),
  total: count(),
  /** Addresses (find: people) first met in this file; one met in an earlier file is a duplicate here. */
  unique: count(),
  rejects: z.record(z.enum(REJECT_REASONS), count()),
  skipped: z.enum(FILE_SKIP_REASONS).optional(),
});
export type FileAccount = z.infer<typeof FileAccountSchema>;

/**
 * A job as the API shows it (a contract: extend, never rename). The API's `Job` schema is this one
 * with its OpenAPI descriptions (edge/api/schemas.ts); the live messages carry a part of it
 * (core/live.ts JobProgress).
 */
export const JobSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** verify: a list of addresses; find: a list of people whose addresses are found (issue 14). */
  kind: z.enum(JOB_KINDS),
  status: z.enum(JOB_STATUSES),
  /** Rows with an address cell (find: rows naming a person); the file's rows are total + the sum of rejects. */
  total: count(),
  /** Addresses (find: people) after case-insensitive dedupe; each gets a result. */
  unique: count(),
  processed: count(),
  counts: z.object({ deliverable: count(), undeliverable: count(), risky: count(), unknown: count() }),
  /** processed / unique, 0–1. */
  progress: z.number().min(0).max(1),
  /** Rows that got no result, by reason. */
  rejects: z.record(z.enum(REJECT_REASONS), count()),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  /** When the account's retention removed its results (issue 25): the job is its summary since; null while they are kept. */
  results_expired_at: z.string().nullable(),
  /** An archive's files or a workbook's sheets, each accounted for (their sums are the job's); null for a single list. */
  files: z.array(FileAccountSchema).nullable(),
});
export type JobView = z.infer<typeof JobSchema>;

// ---- Sending (issue 23): edge ⇄ probe. docs/decisions/009-campaigns.md ----

/** Recipients a send batch carries at most (the probe's body limit holds 2 MiB). */
export const MAX_SEND_BATCH = 1_000;

/** A customer's relay as a probe needs it: the password sealed under the probe transport key (core/secrets.ts probeTransportKey, ref purpose "relay.password", recordId the relay id). */
export const RelayWireSchema = z.object({
  id: z.string(),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  security: z.enum(RELAY_SECURITIES),
  username: z.string().nullable(),
  password: z.string().nullable(),
  max_per_minute: z.number().int().positive(),
  max_per_day: z.number().int().positive(),
});
export type RelayWire = z.infer<typeof RelayWireSchema>;

/** The message as the customer wrote it (Liquid, core/template.ts), rendered by the probe per recipient. */
export const TemplateWireSchema = z.object({ subject: z.string(), html: z.string(), text: z.string().nullable() });
export type TemplateWire = z.infer<typeof TemplateWireSchema>;

export const SenderWireSchema = z.object({ from_email: z.string(), from_name: z.string(), reply_to: z.string().nullable() });

export const SendRecipientSchema = z.object({
  /** campaign_recipients.id: what claims and outcomes name. */
  id: z.number().int().positive(),
  email: z.string().max(MAX_EMAIL_LENGTH),
  /** Signed by the edge (core/unsubscribe.ts): the unsubscribe URL's last part and the VERP tag. */
  token: z.string().max(40),
  /** The recipient's row of the verified list: the template's variables. */
  vars: z.record(z.string(), z.string()),
});
export type SendRecipient = z.infer<typeof SendRecipientSchema>;

/** A probe's share of a campaign (QStash → POST /v1/sends), as verification batches go. */
export const SendBatchSchema = z.object({
  batch_id: z.string(),
  campaign_id: z.string(),
  /** The dispatch this is (1, 2, …): claims name it, so a stale copy's claims are refused. */
  attempt: z.number().int().positive(),
  sender: SenderWireSchema,
  /** Return-Path: bounce+{token}@{bounce_domain} (VERP), for the bounce mailbox. */
  bounce_domain: z.string(),
  /** The failover pool, first first; never a way around one relay's limits. */
  relays: z.array(RelayWireSchema).min(1).max(10),
  template: TemplateWireSchema,
  /** `${unsubscribe_base}${token}` is each recipient's one-click unsubscribe URL. */
  unsubscribe_base: z.url(),
  recipients: z.array(SendRecipientSchema).min(1).max(MAX_SEND_BATCH),
  budget_ms: z.number().int().positive().max(60 * 60_000),
  callback_url: z.url().optional(),
});
export type SendBatch = z.infer<typeof SendBatchSchema>;

/** Probe → edge before each group of messages (POST /internal/probes/sends/claim, HMAC). */
export const SendClaimSchema = z.object({
  probe_id: z.string(),
  batch_id: z.string(),
  campaign_id: z.string(),
  attempt: z.number().int().positive(),
  ids: z.array(z.number().int().positive()).min(1).max(MAX_SEND_BATCH),
});
export type SendClaim = z.infer<typeof SendClaimSchema>;

/** The ids this probe may now hand to a relay (each once, ever), or why it must stop. */
export const SendClaimAnswerSchema = z.object({
  claimed: z.array(z.number().int()),
  /** Non-null: the campaign is no longer sending (paused, canceled…): send nothing more. */
  stop: z.string().nullable(),
});
export type SendClaimAnswer = z.infer<typeof SendClaimAnswerSchema>;

/**
 * What became of one claimed recipient: `sent` (the relay accepted it; queue_id from its reply),
 * `failed` (refused for good), `unknown_outcome` (the message may have gone: never sent again),
 * or `queued` (released unsent: a relay deferred it, or the batch stopped; another attempt may send it).
 */
export const SendOutcomeSchema = z.object({
  id: z.number().int().positive(),
  status: z.enum(["sent", "failed", "unknown_outcome", "queued"]),
  relay_id: z.string().nullable(),
  queue_id: z.string().max(256).nullable(),
  reply: SmtpReplySchema.nullable(),
});
export type SendOutcome = z.infer<typeof SendOutcomeSchema>;

/**
 * Why a probe stopped a campaign: the edge pauses it with this reason. template_invalid: the
 * probe could not parse the batch's template (a probe of another version than the edge's).
 */
export const SEND_PAUSE_REASONS = ["relay_auth_failed", "relays_exhausted", "relay_refused_sender", "template_invalid"] as const;

/** Probe → edge through the durable outbox (POST /internal/probes/sends/results, HMAC), like result chunks. */
export const SendChunkSchema = z.object({
  kind: z.literal("send"),
  probe_id: z.string(),
  batch_id: z.string(),
  campaign_id: z.string(),
  /**
   * The batch's `attempt` these outcomes belong to. Releases (`queued`) and the final chunk apply
   * only while it is the batch's current dispatch, so a repeat of an old attempt's chunk never
   * releases what a later attempt claimed. Absent: only the probe that holds the batch may.
   */
  attempt: z.number().int().positive().optional(),
  seq: z.number().int().nonnegative(),
  final: z.boolean(),
  outcomes: z.array(SendOutcomeSchema).max(MAX_SEND_BATCH),
  pause: z.object({ reason: z.enum(SEND_PAUSE_REASONS), relay_id: z.string().nullable(), detail: z.string().max(1_024) }).optional(),
});
export type SendChunk = z.infer<typeof SendChunkSchema>;

/** Edge → probe (POST /v1/relays/test, HMAC): connect, upgrade, authenticate, QUIT; nothing is sent. */
export const RelayTestRequestSchema = z.object({ relay: RelayWireSchema, budget_ms: z.number().int().positive().max(120_000).optional() });
export const RelayTestAnswerSchema = z.object({
  ok: z.boolean(),
  /** How far it got: connect, tls, auth, or done. */
  stage: z.enum(["connect", "tls", "auth", "done"]),
  detail: z.string(),
  reply: SmtpReplySchema.nullable(),
});
export type RelayTestAnswer = z.infer<typeof RelayTestAnswerSchema>;

/** Edge → probe (POST /v1/messages, HMAC): one message through a pool, e.g. a sender's confirmation. */
export const MessageRequestSchema = z.object({
  relays: z.array(RelayWireSchema).min(1).max(10),
  from_email: z.string(),
  from_name: z.string(),
  to: z.string(),
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  budget_ms: z.number().int().positive().max(120_000).optional(),
});
export const MessageAnswerSchema = z.object({ ok: z.boolean(), relay_id: z.string().nullable(), queue_id: z.string().nullable(), detail: z.string(), reply: SmtpReplySchema.nullable() });
export type MessageAnswer = z.infer<typeof MessageAnswerSchema>;

/** Edge → probe (POST /v1/dns/sender-check, HMAC): a sender domain against Gmail's and Yahoo's bulk-sender rules. */
export const SenderCheckRequestSchema = z.object({
  domain: z.string().min(1).max(253),
  dkim_selector: z.string().max(63).nullable(),
  bounce_domain: z.string().min(1).max(253),
  budget_ms: z.number().int().positive().max(60_000).optional(),
});
export const SenderCheckItemSchema = z.object({
  check: z.enum(["spf", "dkim", "dmarc", "bounce_mx"]),
  /** pass: meets the rule; warn: present but weak (e.g. DMARC p=none); fail: missing or broken. */
  status: z.enum(["pass", "warn", "fail"]),
  /** The name asked and the DNS answer seen. */
  name: z.string(),
  seen: z.array(z.string()),
  detail: z.string(),
});
export const SenderCheckAnswerSchema = z.object({ items: z.array(SenderCheckItemSchema) });
export type SenderCheckAnswer = z.infer<typeof SenderCheckAnswerSchema>;

// ---- Bounces (issue 24): edge ⇄ probe. docs/decisions/010-bounces.md ----

/** A bounce's raw message is kept up to this many characters (its head and report, where the reasons are). */
export const MAX_BOUNCE_RAW = 32_768;
/** Messages in one report to the edge: a bounded, signed body, and one write at the edge. */
export const MAX_MAILBOX_REPORT = 100;

/** A bounce mailbox as a probe reads it; the password sealed under the probe transport key (as RelayWire's). */
export const MailboxWireSchema = z.object({
  id: z.string(),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  security: z.enum(RELAY_SECURITIES),
  username: z.string().max(320),
  password: z.string(),
  folder: z.string().min(1).max(200),
  /** null: recognised messages are flagged ($MxrayProcessed) and left where they are. */
  processed_folder: z.string().min(1).max(200).nullable(),
  /** The assignment this probe holds; a report with an older one is refused. */
  epoch: z.number().int().nonnegative(),
  /** The cursor: everything at or below last_uid (under this uidvalidity) was read and applied. */
  uidvalidity: z.number().int().nonnegative().nullable(),
  last_uid: z.number().int().nonnegative(),
  /** When someone asked for a read now (POST …/poll), ISO; the probe reads soon after a newer one. */
  poll_requested_at: z.string().nullable(),
});
export type MailboxWire = z.infer<typeof MailboxWireSchema>;

/** The edge's answer to a heartbeat: the bounce mailboxes this probe reads now (none: stop reading all). */
export const HeartbeatAnswerSchema = z.object({ ok: z.literal(true), mailboxes: z.array(MailboxWireSchema).max(1_000).optional() });
export type HeartbeatAnswer = z.infer<typeof HeartbeatAnswerSchema>;

/** One recipient of a delivery status notification (RFC 3464 §2.3), as the report gave it. */
export const BounceRecipientSchema = z.object({
  email: z.string().max(MAX_EMAIL_LENGTH),
  /** failed | delayed | delivered | relayed | expanded; null when the report had none (non-standard bounces). */
  action: z.string().max(32).nullable(),
  /** RFC 3463 enhanced status, e.g. "5.1.1". */
  status: z.string().max(16).nullable(),
  diagnostic: z.string().max(1_000).nullable(),
  remote_mta: z.string().max(253).nullable(),
});
export type BounceRecipient = z.infer<typeof BounceRecipientSchema>;

/**
 * A message of a bounce mailbox that looks like ours: addressed to a VERP address, or carrying a
 * campaign message's headers inside. The probe reads and classifies; the edge decides whether it
 * is ours (the token's MAC, the recipient's account) and what it does.
 */
export const ParsedMessageSchema = z.object({
  uid: z.number().int().positive(),
  message_id: z.string().max(998).nullable(),
  /** The message's Date (or arrival), ISO. */
  date: z.string().nullable(),
  /** What it is: a bounce of some kind, a complaint, or an auto-reply (RFC 3834: not a bounce, never stored). */
  kind: z.enum(["hard", "soft", "complaint", "unclassified", "auto_reply"]),
  recipients: z.array(BounceRecipientSchema).max(100),
  /** The recipient token of the VERP address it was sent to (core/unsubscribe.ts tokenFromVerp). */
  token: z.string().max(40).nullable(),
  /** The returned message's Message-ID (<recipient id>.<campaign id>@…) and its List-Unsubscribe token, when included. */
  original_message_id: z.string().max(998).nullable(),
  original_token: z.string().max(40).nullable(),
  raw: z.string().max(MAX_BOUNCE_RAW),
  raw_truncated: z.boolean(),
});
export type ParsedMessage = z.infer<typeof ParsedMessageSchema>;

/** Probe → edge (POST /internal/probes/bounces, signed): what one read found, and the cursor after it. */
export const MailboxReportSchema = z.object({
  /** The probe that read it (its PROBE_ID): the edge applies a report only from the mailbox's assigned probe. */
  probe_id: z.string().min(1).max(128),
  mailbox_id: z.string(),
  epoch: z.number().int().nonnegative(),
  uidvalidity: z.number().int().nonnegative(),
  /** Every message at or below this uid has been read: the ones not in `messages` were not ours. */
  last_uid: z.number().int().nonnegative(),
  /** Messages read in this step, ours or not (the mailbox's counter). */
  seen: z.number().int().nonnegative(),
  messages: z.array(ParsedMessageSchema).max(MAX_MAILBOX_REPORT),
  /** The read failed (connect, login, folder): why, for the mailbox page; nothing else moves. */
  error: z.string().max(1_000).nullable(),
});
export type MailboxReport = z.infer<typeof MailboxReportSchema>;

/** The edge's answer: the uids confirmed ours (move them to processed_folder, or flag them); `stale`: not yours any more, stop. */
export const MailboxReportAnswerSchema = z.object({ ours: z.array(z.number().int().positive()), stale: z.boolean() });
export type MailboxReportAnswer = z.infer<typeof MailboxReportAnswerSchema>;

/** Edge → probe (POST /v1/mailboxes/test, HMAC): connect, upgrade, log in, open the folder; read nothing. */
export const MailboxTestRequestSchema = z.object({ mailbox: MailboxWireSchema, budget_ms: z.number().int().positive().max(120_000).optional() });
export const MailboxTestAnswerSchema = z.object({
  ok: z.boolean(),
  stage: z.enum(["connect", "tls", "auth", "folder", "done"]),
  detail: z.string(),
  /** Messages in the folder, when it opened. */
  messages: z.number().int().nonnegative().nullable(),
});
export type MailboxTestAnswer = z.infer<typeof MailboxTestAnswerSchema>;

/** Edge → probe (POST /v1/mailboxes/poll, HMAC): read this mailbox now; answered when the read is queued. */
export const MailboxPollRequestSchema = z.object({ mailbox: MailboxWireSchema });
