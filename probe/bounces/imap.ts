// One IMAP session with a customer's bounce mailbox (issue 24, docs/decisions/010-bounces.md),
// through imapflow: the password opened from its sealed wire form, the host resolved and refused
// when it is not public (as relays are, probe/sending/transport.ts: a mailbox's host is the
// customer's to write, and must not turn a probe into a way into its own network), TLS as the
// mailbox asks (implicit TLS, RFC 8314; STARTTLS required, RFC 9051 §6.2.1; or none), and every
// step bounded: connecting, the greeting, each command. Also the mailbox test (connect, log in,
// EXAMINE the folder: nothing is read or changed) and the one way recognised messages leave the
// folder: moved (MOVE, RFC 6851; COPY + UID EXPUNGE of exactly those uids with UIDPLUS, RFC 4315)
// or flagged. Never a plain EXPUNGE: it would remove every message a user marked \Deleted.
import { isIP } from "node:net";
import { ImapFlow, type ImapFlowError, type ImapFlowOptions } from "imapflow";
import type { MailboxTestAnswer, MailboxWire } from "../../core/contracts.ts";
import { addressScope } from "../../core/netaddr.ts";
import { openString, type KeySet } from "../../core/secrets.ts";
import { trustedContext } from "../sending/transport.ts";

/** The sealed password's purpose (as the edge seals it: db/schema.ts bounce_mailboxes.password). */
export const MAILBOX_PASSWORD_PURPOSE = "mailbox.password";
/** The keyword a recognised message gets when it cannot be moved (no processed_folder, or neither MOVE nor UIDPLUS). */
export const PROCESSED_KEYWORD = "$MxrayProcessed";

/** TCP and TLS handshake. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** The server's greeting after the connection is up. */
export const DEFAULT_GREETING_TIMEOUT_MS = 15_000;
/** One command's answer (LOGIN, SELECT, a chunk's FETCH, MOVE…), whatever trickles in meanwhile. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
/** Bytes of one server line, literal and response a session accepts (a FETCH of 256 KiB fits many times over). */
const MAX_LINE_BYTES = 8 * 1024 * 1024;
const MAX_LITERAL_BYTES = 4 * 1024 * 1024;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface ImapOptions {
  /** The probe transport key (core/secrets.ts probeTransportKey): the wire's password opens under it. */
  keys: Promise<KeySet>;
  /** MXRAY_ALLOW_PRIVATE_TARGETS: mailboxes on loopback and private networks (the local Dovecot). */
  allowPrivateTargets: boolean;
  /** A host name's addresses (the probe's resolver: hostResolver); IP literals are not asked about. */
  resolveHost(name: string): Promise<string[]>;
  /** CAs trusted beside the system's (MXRAY_IMAP_CA_FILE: the local Dovecot's test CA). */
  extraCa?: string[];
  connectTimeoutMs?: number;
  greetingTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** How far a session got: what a failed test or read names. */
export type ImapStage = "connect" | "tls" | "auth" | "folder";

/** Why a step failed, with the stage it failed at. */
export class ImapStepError extends Error {
  constructor(
    readonly stage: ImapStage,
    message: string,
  ) {
    super(message);
    this.name = "ImapStepError";
  }
}

export interface ImapSession {
  readonly client: ImapFlow;
  /** Runs one step under the command timeout: past it the connection is closed and the step fails. */
  step<T>(what: string, work: () => Promise<T>, timeoutMs?: number): Promise<T>;
  /** LOGOUT (bounded), then the connection is closed whatever the answer. */
  close(): Promise<void>;
}

const describe = (err: unknown): string => {
  const e = err as ImapFlowError;
  const text = [e?.message ?? String(err), e?.responseText && e.responseText !== e.message ? e.responseText : null].filter(Boolean).join(": ");
  return text.slice(0, 1_000);
};

/** TLS refused or failed: no STARTTLS offered, a certificate nobody vouches for, the wrong name. */
const isTlsFailure = (err: ImapFlowError) => err.tlsFailed === true || /CERT|SSL|TLS|SIGNATURE|ISSUER|HOSTNAME|ALTNAME/.test(err.code ?? "") || /STARTTLS/.test(err.message ?? "");

/** Where a failed connect() stopped: imapflow connects, upgrades and logs in in one call. */
export function connectStage(err: unknown): ImapStage {
  const e = err as ImapFlowError;
  if (err instanceof ImapStepError) return err.stage;
  if (e?.authenticationFailed) return "auth";
  if (isTlsFailure(e ?? {})) return "tls";
  return "connect";
}

/** The host's address to connect to, refused when it is not public (unless allowed). */
async function targetAddress(mailbox: MailboxWire, opts: ImapOptions): Promise<string> {
  let address: string;
  if (isIP(mailbox.host)) address = mailbox.host;
  else {
    try {
      address = (await opts.resolveHost(mailbox.host))[0]!;
    } catch (e) {
      throw new ImapStepError("connect", `resolving ${mailbox.host}: ${(e as Error).message}`);
    }
  }
  const scope = addressScope(address);
  if (!opts.allowPrivateTargets && scope !== "public") {
    throw new ImapStepError("connect", `not connecting to ${mailbox.host} [${address}]: ${scope} address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)`);
  }
  return address;
}

/** Whatever comes first: the work, or the timeout (which also runs onTimeout). */
function bounded<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Connects, upgrades as the mailbox asks and logs in. Throws ImapStepError naming the stage
 * (connect, tls, auth) when it cannot; the caller closes the session it gets. `deadline` (a
 * whole read's or test's) closes the connection when it aborts, whatever step is in flight; its
 * reason's message says why.
 */
export async function openSession(mailbox: MailboxWire, opts: ImapOptions, deadline?: AbortSignal): Promise<ImapSession> {
  let pass: string;
  try {
    pass = await openString(await opts.keys, { purpose: MAILBOX_PASSWORD_PURPOSE, recordId: mailbox.id }, mailbox.password);
  } catch (e) {
    throw new ImapStepError("auth", `the mailbox's password does not open here: ${(e as Error).message}`);
  }
  const address = await targetAddress(mailbox, opts);
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const greetingTimeoutMs = opts.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS;
  const commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const options: ImapFlowOptions = {
    host: address,
    port: mailbox.port,
    // "tls": implicit TLS (993); "starttls": upgrade or give up, never LOGIN in clear (143);
    // "none": plain IMAP (a mailbox on the customer's own network).
    secure: mailbox.security === "tls",
    doSTARTTLS: mailbox.security === "starttls" ? true : mailbox.security === "none" ? false : undefined,
    // SNI and the certificate's name are the host's name; an IP literal is checked as itself.
    ...(isIP(mailbox.host) ? {} : { servername: mailbox.host }),
    tls: { minVersion: "TLSv1.2", ...(opts.extraCa?.length ? { secureContext: trustedContext(opts.extraCa) } : {}) },
    auth: { user: mailbox.username, pass },
    logger: false,
    // One short session per read: no IDLE between commands, no compression state to keep.
    disableAutoIdle: true,
    disableCompression: true,
    // The message as stored (BODY.PEEK), never BINARY's decoded parts.
    disableBinary: true,
    connectionTimeout: connectTimeoutMs,
    greetingTimeout: greetingTimeoutMs,
    // Inactivity between steps (the edge's answer to a report comes meanwhile); each step has its own bound.
    socketTimeout: Math.max(commandTimeoutMs, 5 * 60_000),
    maxLineLength: MAX_LINE_BYTES,
    maxLiteralSize: MAX_LITERAL_BYTES,
    maxResponseSize: MAX_RESPONSE_BYTES,
    clientInfo: { name: "mxray-probe" },
  };
  const client = new ImapFlow(options);
  let aborted: string | null = null;
  // imapflow reports a dropped connection as an 'error' event too; the step that was waiting fails on its own.
  client.on("error", () => {});
  const abort = (why: string) => {
    aborted ??= why;
    client.close();
  };
  const onDeadline = () => abort(deadline?.reason instanceof Error ? deadline.reason.message : String(deadline?.reason));
  if (deadline?.aborted) onDeadline();
  deadline?.addEventListener("abort", onDeadline, { once: true });
  const step = <T>(what: string, work: () => Promise<T>, timeoutMs = commandTimeoutMs): Promise<T> => {
    if (aborted !== null) return Promise.reject(new Error(`${what}: ${aborted}`));
    return bounded(work(), timeoutMs, () => {
      const why = `${what}: no answer within ${timeoutMs} ms`;
      abort(why);
      return new Error(why);
    }).catch((err: unknown) => {
      // A step failed because the session was closed under it: say why it was.
      if (aborted !== null && !(err instanceof Error && err.message.startsWith(`${what}:`))) throw new Error(`${what}: ${aborted}`);
      throw err;
    });
  };
  const session: ImapSession = {
    client,
    step,
    async close() {
      deadline?.removeEventListener("abort", onDeadline);
      if (aborted === null && client.usable) await step("LOGOUT", () => client.logout()).catch(() => {});
      client.close();
    },
  };
  try {
    // connect() is the TCP/TLS handshake, the greeting, STARTTLS and LOGIN: their bounds added up.
    await step(`connecting to ${mailbox.host}:${mailbox.port}`, () => client.connect(), connectTimeoutMs + greetingTimeoutMs + 2 * commandTimeoutMs);
  } catch (err) {
    deadline?.removeEventListener("abort", onDeadline);
    client.close();
    const stage = connectStage(err);
    const detail = stage === "auth" ? `${mailbox.username} was refused: ${describe(err)}` : describe(err);
    throw new ImapStepError(stage, detail);
  }
  return session;
}

/**
 * Connects, upgrades, logs in and opens the folder read-only (EXAMINE, RFC 9051 §6.3.3): no
 * message is read, no flag changes. `stage` is where it stopped; done when everything went.
 */
export async function testMailbox(mailbox: MailboxWire, opts: ImapOptions, budgetMs: number): Promise<MailboxTestAnswer> {
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(new Error(`the test's budget of ${budgetMs} ms ran out`)), budgetMs);
  let session: ImapSession;
  try {
    session = await openSession(mailbox, opts, budget.signal);
  } catch (err) {
    clearTimeout(timer);
    const stage = connectStage(err);
    return { ok: false, stage, detail: describe(err), messages: null };
  }
  try {
    const opened = await session.step(`EXAMINE ${mailbox.folder}`, () => session.client.mailboxOpen(mailbox.folder, { readOnly: true }));
    const tls = session.client.secureConnection ? " over TLS" : "";
    return { ok: true, stage: "done", detail: `logged in to ${mailbox.host}:${mailbox.port}${tls} as ${mailbox.username}; ${mailbox.folder} holds ${opened.exists} messages`, messages: opened.exists };
  } catch (err) {
    return { ok: false, stage: "folder", detail: `${mailbox.folder} does not open: ${describe(err)}`, messages: null };
  } finally {
    clearTimeout(timer);
    await session.close();
  }
}

/** How recognised messages left the folder. */
export type Disposal = "moved" | "copied_and_expunged" | "flagged" | "not_marked";

/**
 * Takes recognised messages (uids of the selected folder) out of the way: moved to `processedFolder`
 * (created when missing) with MOVE, or COPY then UID EXPUNGE of exactly those uids where the server
 * has UIDPLUS but not MOVE; flagged $MxrayProcessed when there is no folder to move to, the server
 * has neither, or the move failed. Flags travel with a moved message, so \Seen stays as it was.
 */
export async function disposeOf(session: ImapSession, uids: number[], folder: string, processedFolder: string | null): Promise<Disposal> {
  if (uids.length === 0) return "moved";
  const { client } = session;
  const range = uids.join(",");
  if (processedFolder !== null && processedFolder !== folder) {
    const hasMove = client.capabilities.has("MOVE");
    const hasUidplus = client.capabilities.has("UIDPLUS");
    if (hasMove || hasUidplus) {
      // CREATE answers ALREADYEXISTS (imapflow: created false) when it is there.
      const created = await session.step(`CREATE ${processedFolder}`, () => client.mailboxCreate(processedFolder)).then(
        () => true,
        () => false,
      );
      if (created && hasMove) {
        const moved = await session.step(`UID MOVE to ${processedFolder}`, () => client.messageMove(range, processedFolder, { uid: true }));
        if (moved) return "moved";
      } else if (created) {
        const copied = await session.step(`UID COPY to ${processedFolder}`, () => client.messageCopy(range, processedFolder, { uid: true }));
        // imapflow's delete is STORE +FLAGS \Deleted then, by uid with UIDPLUS (checked above), UID EXPUNGE of these uids only.
        if (copied && (await session.step("UID EXPUNGE", () => client.messageDelete(range, { uid: true })))) return "copied_and_expunged";
      }
    }
  }
  const flagged = await session.step(`UID STORE +FLAGS ${PROCESSED_KEYWORD}`, () => client.messageFlagsAdd(range, [PROCESSED_KEYWORD], { uid: true, silent: true }));
  return flagged ? "flagged" : "not_marked";
}
