// One read of a bounce mailbox (issue 24, docs/decisions/010-bounces.md): log in, open the folder
// read-write, check UIDVALIDITY against the cursor (RFC 9051 §2.3.1.1: a new one means the uids
// start over, so the folder is read again from the start), fetch the messages above the cursor in
// chunks, parse each, and post each chunk to the edge as a MailboxReport. Only after the edge's
// answer are the uids it confirmed ours moved (or flagged): the edge decides what is ours, and the
// cursor moves at the edge in the same write as the bounces below it.
//
// Nothing else is touched: messages are fetched with BODY.PEEK (RFC 9051 §6.4.5, \Seen never
// changes), only their first 256 KiB, and a message that does not look ours never leaves the
// probe. A read is bounded: each step, the whole read, and the messages per read (the rest wait
// for the next one).
import { MAX_MAILBOX_REPORT, MailboxReportAnswerSchema, ParsedMessageSchema, type MailboxReport, type MailboxReportAnswer, type MailboxWire, type ParsedMessage } from "../../core/contracts.ts";
import { SIGNATURE_HEADER, sign } from "../../core/signing.ts";
import type { Log } from "../outbox.ts";
import { ImapStepError, disposeOf, openSession, type Disposal, type ImapOptions, type ImapSession } from "./imap.ts";

export const BOUNCES_PATH = "/internal/probes/bounces";
/** Bytes of a message fetched: a bounce's head and report are near its start (the returned message may be huge). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Chunks (reports) per read; the rest waits for the next read. */
export const DEFAULT_MAX_CHUNKS = 5;
/** A whole read: connecting, every chunk's fetch, report and move, LOGOUT. */
export const DEFAULT_READ_TIMEOUT_MS = 180_000;
/** One report's round trip to the edge. */
export const REPORT_TIMEOUT_MS = 30_000;

/**
 * Reads one message's source (its first MAX_MESSAGE_BYTES) into what the edge needs, or null when
 * it does not look like ours (probe/bounces/parse.ts parseMessage).
 */
export type ParseMessage = (uid: number, source: Buffer) => Promise<ParsedMessage | null>;

/** Posts one report and returns the edge's answer; throws when there is none (the read stops). */
/** What a read reports; the reporter names the probe (every probe signs with the same secret, so the body says who). */
export type MailboxReading = Omit<MailboxReport, "probe_id">;
export type MailboxReporter = (report: MailboxReading) => Promise<MailboxReportAnswer>;

export interface MonitorDeps {
  imap: ImapOptions;
  parse: ParseMessage;
  report: MailboxReporter;
  log?: Log;
  /** Messages per report (at most MAX_MAILBOX_REPORT). */
  chunkSize?: number;
  maxChunks?: number;
  readTimeoutMs?: number;
}

/** The cursor after a read: where the next one starts. */
export interface Cursor {
  uidvalidity: number | null;
  last_uid: number;
}

/**
 * What a read did. done: everything up to the folder's end was read; more: it stopped at
 * maxChunks and the folder holds more; stale: the edge says this probe no longer holds the
 * mailbox; error: the read failed (reported to the edge as `error` when the edge could be told).
 */
export interface ReadOutcome {
  status: "done" | "more" | "stale" | "error";
  cursor: Cursor;
  /** Messages read, and confirmed ours. */
  seen: number;
  ours: number;
  /** How ours left the folder, per chunk that had any. */
  disposals: Disposal[];
  error: string | null;
}

/** The edge's side of the reports: signed as results and heartbeats are (core/signing.ts), answered in the response. */
export function createEdgeReporter(opts: { edgeUrl: string; probeSecret: string; probeId: string; fetch?: typeof fetch; timeoutMs?: number }): MailboxReporter {
  const doFetch = opts.fetch ?? fetch;
  const url = `${opts.edgeUrl.replace(/\/+$/, "")}${BOUNCES_PATH}`;
  return async (reading) => {
    const report: MailboxReport = { probe_id: opts.probeId, ...reading };
    const body = JSON.stringify(report);
    const res = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(opts.probeSecret, { method: "POST", path: BOUNCES_PATH }, body) },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? REPORT_TIMEOUT_MS),
    });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`the edge answered the report with HTTP ${res.status}`);
    }
    const parsed = MailboxReportAnswerSchema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new Error("the edge's answer to the report is not a MailboxReportAnswer");
    return parsed.data;
  };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1_000);

/** Reads the mailbox from its cursor; never throws (a failure is the outcome's `error`). */
export async function readMailbox(mailbox: MailboxWire, deps: MonitorDeps): Promise<ReadOutcome> {
  const log: Log = deps.log ?? (() => {});
  const chunkSize = Math.min(MAX_MAILBOX_REPORT, Math.max(1, deps.chunkSize ?? MAX_MAILBOX_REPORT));
  const maxChunks = Math.max(1, deps.maxChunks ?? DEFAULT_MAX_CHUNKS);
  const readTimeoutMs = deps.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const outcome: ReadOutcome = { status: "done", cursor: { uidvalidity: mailbox.uidvalidity, last_uid: mailbox.last_uid }, seen: 0, ours: 0, disposals: [], error: null };
  const base = { mailbox_id: mailbox.id, epoch: mailbox.epoch };
  /** Whether the edge has answered any report of this read (its error report must not move its cursor back). */
  let edgeReached = false;

  /** A report to the edge; false when the edge could not be asked or said stop. */
  async function post(report: MailboxReading): Promise<MailboxReportAnswer | null> {
    let answer: MailboxReportAnswer;
    try {
      answer = await deps.report(report);
    } catch (err) {
      outcome.status = "error";
      outcome.error = `reporting to the edge: ${message(err)}`;
      log("bounce mailbox report failed", { mailbox_id: mailbox.id, error: outcome.error });
      return null;
    }
    edgeReached = true;
    if (answer.stale) {
      outcome.status = "stale";
      log("bounce mailbox is no longer this probe's", { mailbox_id: mailbox.id, epoch: mailbox.epoch });
      return null;
    }
    outcome.cursor = { uidvalidity: report.uidvalidity, last_uid: report.last_uid };
    return answer;
  }

  let session: ImapSession | null = null;
  const whole = new AbortController();
  const timer = setTimeout(() => whole.abort(new Error(`the read took longer than ${readTimeoutMs} ms`)), readTimeoutMs);
  try {
    session = await openSession(mailbox, deps.imap, whole.signal);
    const s = session;
    // SELECT (read-write): recognised messages are moved or flagged in this session.
    const opened = await s.step(`SELECT ${mailbox.folder}`, () => s.client.mailboxOpen(mailbox.folder)).catch((err: unknown) => {
      throw new ImapStepError("folder", `${mailbox.folder} does not open: ${message(err)}`);
    });
    const uidvalidity = Number(opened.uidValidity);
    // A new UIDVALIDITY (or none known yet): the old uids mean nothing here, start from the first message.
    const from = mailbox.uidvalidity === uidvalidity ? mailbox.last_uid : 0;
    if (mailbox.uidvalidity !== null && mailbox.uidvalidity !== uidvalidity) {
      log("bounce mailbox UIDVALIDITY changed: reading it again from the start", { mailbox_id: mailbox.id, was: mailbox.uidvalidity, now: uidvalidity });
    }
    let pending: number[] = [];
    if (opened.exists > 0) {
      // UID SEARCH n:* answers the highest uid even when it is below n (RFC 9051 §6.4.4, "*"), so the list is filtered.
      const found = await s.step("UID SEARCH", () => s.client.search({ uid: `${from + 1}:*` }, { uid: true }));
      if (found === false || found === undefined) throw new Error("UID SEARCH was refused");
      pending = found.filter((uid) => uid > from).sort((a, b) => a - b);
    }
    const limit = chunkSize * maxChunks;
    if (pending.length > limit) {
      outcome.status = "more";
      pending = pending.slice(0, limit);
    }
    if (pending.length === 0) {
      // Nothing new: the report still records the read (and a new UIDVALIDITY) at the edge.
      await post({ ...base, uidvalidity, last_uid: from, seen: 0, messages: [], error: null });
      return outcome;
    }
    for (let i = 0; i < pending.length; i += chunkSize) {
      const chunk = pending.slice(i, i + chunkSize);
      const wanted = new Set(chunk);
      const messages: ParsedMessage[] = [];
      await s.step(`UID FETCH ${chunk.length} messages`, async () => {
        for await (const m of s.client.fetch(chunk.join(","), { uid: true, source: { maxLength: MAX_MESSAGE_BYTES } }, { uid: true })) {
          if (!wanted.has(m.uid) || !m.source) continue;
          const parsed = await deps.parse(m.uid, m.source).catch((err: unknown) => {
            log("bounce message not parsed", { mailbox_id: mailbox.id, uid: m.uid, error: message(err) });
            return null;
          });
          if (parsed === null) continue;
          // A message outside the contract would have the edge refuse the whole report, every read.
          const valid = ParsedMessageSchema.safeParse({ ...parsed, uid: m.uid });
          if (valid.success) messages.push(valid.data);
          else log("bounce message dropped: outside ParsedMessageSchema", { mailbox_id: mailbox.id, uid: m.uid, error: valid.error.message.slice(0, 500) });
        }
      });
      const answer = await post({ ...base, uidvalidity, last_uid: chunk[chunk.length - 1]!, seen: chunk.length, messages, error: null });
      if (answer === null) return outcome;
      outcome.seen += chunk.length;
      // Only uids of this chunk that it reported: the edge cannot have a message moved that it was not shown.
      const reported = new Set(messages.map((m) => m.uid));
      const ours = [...new Set(answer.ours)].filter((uid) => reported.has(uid)).sort((a, b) => a - b);
      if (ours.length > 0) {
        outcome.ours += ours.length;
        const disposal = await disposeOf(s, ours, mailbox.folder, mailbox.processed_folder);
        outcome.disposals.push(disposal);
        if (disposal === "not_marked") log("bounce messages left unmarked: the server refused the keyword", { mailbox_id: mailbox.id, uids: ours.length });
      }
    }
    return outcome;
  } catch (err) {
    outcome.status = "error";
    outcome.error = err instanceof ImapStepError ? `${err.stage}: ${err.message}` : message(err);
    log("bounce mailbox read failed", { mailbox_id: mailbox.id, error: outcome.error });
    // The edge shows why on the mailbox's page; the cursor stays where the last answered report left it.
    const cursor = edgeReached ? outcome.cursor : { uidvalidity: mailbox.uidvalidity, last_uid: mailbox.last_uid };
    await deps
      .report({ ...base, uidvalidity: cursor.uidvalidity ?? 0, last_uid: cursor.last_uid, seen: 0, messages: [], error: outcome.error })
      .then((answer) => {
        if (answer.stale) outcome.status = "stale";
      })
      .catch((e: unknown) => log("bounce mailbox error report failed", { mailbox_id: mailbox.id, error: message(e) }));
    return outcome;
  } finally {
    clearTimeout(timer);
    await session?.close();
  }
}
