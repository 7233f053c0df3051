// The customer's relays as a send batch uses them (issue 23): per batch, one nodemailer pooled
// transport per relay (a few connections, many messages each), and every answer a relay gives
// sorted into what the batch does next. The probe only ever talks to the customer's relay (a
// submission server that authenticates it), never to a recipient's MX.
//
// Before connecting, the relay's name is resolved here and an address that is not public is
// refused (as MX addresses are, probe/smtp/connection.ts): a relay's host is the customer's to
// write, and must not turn a probe into a way into its own network. nodemailer connects to the
// address checked here, so no second DNS answer can swap it; TLS still checks the certificate
// against the relay's name (SNI and identity).
import { isIP } from "node:net";
import { Readable } from "node:stream";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import nodemailer, { type SendMailOptions, type SMTPPoolOptions, type SMTPTransportOptions, type Transporter } from "nodemailer";
import type { RelayTestAnswer, RelayWire } from "../../core/contracts.ts";
import { addressScope } from "../../core/netaddr.ts";
import { openString, probeTransportKey, type KeySet } from "../../core/secrets.ts";
import type { SmtpReply } from "../../core/verdict.ts";
import { Semaphore } from "../concurrency.ts";
import type { Resolver } from "../dns.ts";
import { joinReply, parseReplyLine } from "../smtp/reply.ts";

/**
 * What became of one message handed to a relay, and so what the batch does:
 * accepted → `sent`; refused (5xx to RCPT or to the end of DATA) → `failed`; deferred (any 4xx)
 * and connection_failed (before the message was handed over) → the next relay; auth_failed →
 * pause `relay_auth_failed`; sender_refused (5xx to MAIL FROM: the relay will take nothing from
 * this sender) → pause `relay_refused_sender`; lost (the connection ended after DATA's 354 and
 * before the final reply: the relay may have it) → `unknown_outcome`, never sent again;
 * canceled (the batch stopped before the message's turn came: the relay never saw it) → released.
 */
export type RelayOutcome =
  | { kind: "accepted"; queueId: string; reply: SmtpReply }
  | { kind: "refused"; reply: SmtpReply; detail: string }
  | { kind: "deferred"; reply: SmtpReply; detail: string }
  | { kind: "connection_failed"; reply: SmtpReply | null; detail: string }
  | { kind: "auth_failed"; reply: SmtpReply | null; detail: string }
  | { kind: "sender_refused"; reply: SmtpReply; detail: string }
  | { kind: "lost"; reply: null; detail: string }
  | { kind: "canceled"; reply: null; detail: string };
export type RelayOutcomeKind = RelayOutcome["kind"];
/** Every outcome but acceptance: each says what happened. */
export type RelayFailure = Exclude<RelayOutcome, { kind: "accepted" }>;

export interface RelayTransportOptions {
  /** PROBE_SECRET: relay passwords ride sealed under a key derived from it (core/secrets.ts probeTransportKey). */
  probeSecret: string;
  /** MXRAY_ALLOW_PRIVATE_TARGETS: relays on loopback and private networks (the local relay sink). */
  allowPrivateTargets: boolean;
  /** A relay name's addresses (the probe's resolver: hostResolver); IP literals are not asked about. */
  resolveHost(name: string): Promise<string[]>;
  /** Our EHLO name (MXRAY_HELO). */
  helo: string;
  /** CAs trusted beside the system's (MXRAY_RELAY_CA_FILE: the local relay sink's test CA). */
  extraCa?: string[];
  /** Connections per relay and batch; each carries many messages (nodemailer's pool). */
  connections?: number;
  /** Messages per connection before it is replaced (nodemailer's maxMessages). */
  messagesPerConnection?: number;
  /** One message, from its turn on a connection to the relay's final reply. */
  messageTimeoutMs?: number;
  /** Connecting, greeting and upgrading to TLS. */
  connectTimeoutMs?: number;
  /** Every message's outcome, for metrics. */
  observe?(kind: RelayOutcomeKind): void;
}

export const DEFAULT_CONNECTIONS = 3;
export const DEFAULT_MESSAGES_PER_CONNECTION = 100;
export const DEFAULT_MESSAGE_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** What an outcome keeps of a queue id (SendOutcomeSchema: 256 characters). */
const MAX_QUEUE_ID = 256;
const PASSWORD_PURPOSE = "relay.password";

/** A relay's pooled transport for one batch. */
export interface RelayPool {
  readonly relay: RelayWire;
  /**
   * Hands one message to the relay; never throws: every failure is an outcome. When `cancel` has
   * aborted by the time the message's turn on a connection comes, it is not sent ("canceled").
   */
  send(message: SendMailOptions, cancel?: AbortSignal): Promise<RelayOutcome>;
  /** Closes the pool: idle connections at once, busy ones once their message is done. */
  close(): void;
}

/** A relay name's addresses through the probe's resolver: IPv4 first, IPv6 when there is none. */
export function hostResolver(resolver: Resolver): (name: string) => Promise<string[]> {
  return async (name) => {
    for (const type of ["A", "AAAA"] as const) {
      const answer = await resolver.lookup(name, type);
      if (!answer.ok) throw new Error(`${type} ${name}: ${answer.detail}`);
      if (answer.records.length > 0) return answer.records;
    }
    throw new Error(`${name} has no address`);
  };
}

/** A reply as nodemailer hands it over ("250 2.0.0 Ok: queued as X", lines joined by "\n"). */
export function parseReply(text: string): SmtpReply | null {
  const lines = text.split(/\r?\n/).map((l) => parseReplyLine(l.trim())).filter((l) => l !== null);
  const first = lines[0];
  return first ? joinReply(first.code, lines.map((l) => l.text)) : null;
}

/**
 * The relay's id for an accepted message, from its final reply:
 * "250 2.0.0 Ok: queued as 4BxYz" (Postfix, the relay sink) → "4BxYz";
 * "250 2.0.0 OK <id@host.prod.outlook.com> [Hostname=…]" (Microsoft 365) → the id in brackets;
 * "250 Ok 0100018b5c3c0a4f-…-000000" (Amazon SES, the local part of its Message-ID) → that;
 * anything else → the reply's text.
 */
export function queueIdOf(reply: SmtpReply): string {
  const text = reply.message.slice(0, 1_024);
  const id =
    /queued as ([^\s;,]{1,200})/i.exec(text)?.[1] ??
    /<([^<>\s]{1,250})>/.exec(text)?.[1] ??
    /^ok ([0-9a-f]{1,64}(?:-[0-9a-f]{1,64}){1,8})$/i.exec(text)?.[1] ??
    text;
  return id.slice(0, MAX_QUEUE_ID);
}

interface MailError {
  code?: string;
  /** The socket's own code under nodemailer's (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE under ESOCKET). */
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

const errorText = (err: MailError) => String(err.message ?? err).slice(0, 1_000);

/** The outcome of a failed send, from nodemailer's error and whether the message was handed over. */
export function classifyError(err: MailError, handedOver: boolean): RelayFailure {
  const reply = err.response ? parseReply(err.response) : null;
  const detail = errorText(err);
  const command = (err.command ?? "").toUpperCase();
  // 4xx, whenever it comes (AUTH's 454, MAIL's 451, a 421 closing, a 4xx to the end of DATA):
  // the relay said it did not take the message now, so another relay may.
  if (reply && reply.code >= 400 && reply.code < 500) return { kind: "deferred", reply, detail };
  // 535 5.7.8 (bad credentials), 530 5.7.0 (authentication required), or nodemailer's own EAUTH.
  if (err.code === "EAUTH" || err.code === "ENOAUTH" || command.startsWith("AUTH") || reply?.code === 535) return { kind: "auth_failed", reply, detail };
  if (reply && reply.code >= 500) {
    if (command === "MAIL FROM") return { kind: "sender_refused", reply, detail };
    if (command === "RCPT TO" || command === "DATA") return { kind: "refused", reply, detail };
    // A 5xx greeting or EHLO: this relay will not talk to us; another may.
    return { kind: "connection_failed", reply, detail };
  }
  // No reply to go by: after the message was handed over the relay may have it; before, it has not.
  if (handedOver) return { kind: "lost", reply: null, detail };
  return { kind: "connection_failed", reply: null, detail };
}

/**
 * The message stream as the SMTP connection reads it, calling onFirstRead when the first byte is
 * asked for. nodemailer starts reading the message only once DATA is answered 354, so from that
 * moment on the relay may end up with the message whatever happens to the connection.
 */
function markFirstRead(input: Readable, onFirstRead: () => void): Readable {
  let started = false;
  const out: Readable = new Readable({
    read() {
      if (started) {
        input.resume();
        return;
      }
      started = true;
      onFirstRead();
      input.on("data", (chunk: Buffer) => {
        if (!out.push(chunk)) input.pause();
      });
      input.once("end", () => out.push(null));
    },
    destroy(err, callback) {
      input.destroy();
      callback(err);
    },
  });
  input.once("error", (err) => out.destroy(err));
  return out;
}

/** The message option that carries a send's handover callback to the stream plugin. */
const HANDOVER = "mxrayHandedOver";

interface ConnectTarget {
  host: string;
  tls: { servername?: string; secureContext?: SecureContext; minVersion: "TLSv1.2" };
  auth?: { user: string; pass: string };
}

const trustedContexts = new Map<string, SecureContext>();

/**
 * The system's CAs and the extra ones as one TLS context, made once per set of extra CAs (one per
 * process: MXRAY_RELAY_CA_FILE). Building a context parses every root certificate, about 50 ms of
 * CPU, which per connection was the probe's largest cost per message in bench:campaign.
 */
export function trustedContext(extraCa: string[]): SecureContext {
  const key = extraCa.join("\n");
  let context = trustedContexts.get(key);
  if (!context) trustedContexts.set(key, (context = createSecureContext({ ca: [...rootCertificates, ...extraCa], minVersion: "TLSv1.2" })));
  return context;
}

/** What connecting to a relay needs, or the outcome every message gets when it cannot be had. */
async function prepareTarget(relay: RelayWire, opts: RelayTransportOptions, keys: Promise<KeySet>): Promise<{ ok: true; target: ConnectTarget } | { ok: false; outcome: RelayFailure }> {
  let pass: string | null = null;
  if (relay.password !== null) {
    try {
      pass = await openString(await keys, { purpose: PASSWORD_PURPOSE, recordId: relay.id }, relay.password);
    } catch (e) {
      return { ok: false, outcome: { kind: "auth_failed", reply: null, detail: `the relay's password does not open here: ${(e as Error).message}` } };
    }
  }
  let address: string;
  if (isIP(relay.host)) address = relay.host;
  else {
    try {
      const found = await opts.resolveHost(relay.host);
      address = found[0]!;
    } catch (e) {
      return { ok: false, outcome: { kind: "connection_failed", reply: null, detail: `resolving ${relay.host}: ${(e as Error).message}` } };
    }
  }
  const scope = addressScope(address);
  if (!opts.allowPrivateTargets && scope !== "public") {
    return { ok: false, outcome: { kind: "connection_failed", reply: null, detail: `not connecting to ${relay.host} [${address}]: ${scope} address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)` } };
  }
  const tls: ConnectTarget["tls"] = { minVersion: "TLSv1.2" };
  // SNI and the certificate's name are the relay's name; an IP literal is checked as itself (RFC 6066 §3: no SNI).
  if (!isIP(relay.host)) tls.servername = relay.host;
  if (opts.extraCa?.length) tls.secureContext = trustedContext(opts.extraCa);
  return { ok: true, target: { host: address, tls, ...(relay.username !== null ? { auth: { user: relay.username, pass: pass ?? "" } } : {}) } };
}

function transportOptions(relay: RelayWire, target: ConnectTarget, opts: RelayTransportOptions): SMTPTransportOptions {
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return {
    host: target.host,
    port: relay.port,
    name: opts.helo,
    // "tls": implicit TLS (465); "starttls": upgrade or give up, never AUTH in clear (587);
    // "none": plain SMTP (a relay on the customer's own network).
    secure: relay.security === "tls",
    requireTLS: relay.security === "starttls",
    ignoreTLS: relay.security === "none",
    tls: target.tls,
    ...(target.auth ? { auth: target.auth } : {}),
    connectionTimeout: connectTimeoutMs,
    greetingTimeout: connectTimeoutMs,
    socketTimeout: opts.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  };
}

/** One relay's pool for a batch; it connects on the first message. */
export function createRelayPool(relay: RelayWire, opts: RelayTransportOptions, keys: Promise<KeySet> = probeTransportKey(opts.probeSecret)): RelayPool {
  const connections = opts.connections ?? DEFAULT_CONNECTIONS;
  const messageTimeoutMs = opts.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
  // As many messages in flight as connections: each message's timeout then runs from its turn
  // on a connection, not from a wait in nodemailer's queue behind the others.
  const turns = new Semaphore(connections);
  let closed = false;
  let transport: Transporter | null = null;
  const ready = prepareTarget(relay, opts, keys).then((prepared) => {
    if (!prepared.ok) return prepared;
    const poolOptions: SMTPPoolOptions & { pool: true } = {
      ...transportOptions(relay, prepared.target, opts),
      pool: true,
      maxConnections: connections,
      maxMessages: opts.messagesPerConnection ?? DEFAULT_MESSAGES_PER_CONNECTION,
      // A message on a connection that closed before it was handed over goes on another, once.
      maxRequeues: 1,
    };
    transport = nodemailer.createTransport(poolOptions);
    transport.use("stream", (mail, done) => {
      const handedOver = (mail.data as Record<string, unknown>)[HANDOVER];
      if (typeof handedOver === "function") mail.message.processFunc((input) => markFirstRead(input as Readable, handedOver as () => void));
      done();
    });
    if (closed) transport.close();
    return { ok: true as const };
  });

  async function send(message: SendMailOptions, cancel?: AbortSignal): Promise<RelayOutcome> {
    const prepared = await ready;
    if (!prepared.ok) return prepared.outcome;
    if (closed || !transport) return { kind: "connection_failed", reply: null, detail: "the relay's pool is closed" };
    await turns.acquire();
    let handedOver = false;
    try {
      if (cancel?.aborted) return { kind: "canceled", reply: null, detail: "the batch stopped before this message's turn" };
      const info = await transport.sendMail({
        ...message,
        [HANDOVER]: () => void (handedOver = true),
        signal: AbortSignal.timeout(messageTimeoutMs),
      } as SendMailOptions);
      const reply = parseReply(String(info.response ?? "")) ?? { code: 250, enhanced: null, message: String(info.response ?? "") };
      return { kind: "accepted", queueId: queueIdOf(reply), reply };
    } catch (err) {
      return classifyError(err as MailError, handedOver);
    } finally {
      turns.release();
    }
  }

  return {
    relay,
    async send(message, cancel) {
      const outcome = await send(message, cancel);
      opts.observe?.(outcome.kind);
      return outcome;
    },
    close() {
      closed = true;
      transport?.close();
    },
  };
}

/** STARTTLS refused, or the handshake failed: a certificate nobody vouches for, the wrong name, no common protocol. */
const isTlsFailure = (err: MailError) =>
  err.code === "ETLS" || (err.command ?? "").toUpperCase() === "STARTTLS" || /CERT|SSL|TLS|SIGNATURE|ISSUER|HOSTNAME/.test(err.originalCode ?? "");

/**
 * Connects, upgrades to TLS, authenticates and says QUIT (nodemailer's verify): never MAIL, RCPT
 * or DATA. `stage` is where it stopped: connect, tls or auth; done when all went through.
 */
export async function testRelay(relay: RelayWire, opts: RelayTransportOptions, budgetMs: number): Promise<RelayTestAnswer> {
  const prepared = await prepareTarget(relay, opts, probeTransportKey(opts.probeSecret));
  if (!prepared.ok) {
    const stage = prepared.outcome.kind === "auth_failed" ? "auth" : "connect";
    return { ok: false, stage, detail: prepared.outcome.detail, reply: null };
  }
  const base = transportOptions(relay, prepared.target, { ...opts, connectTimeoutMs: Math.min(budgetMs, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS), messageTimeoutMs: budgetMs });
  const transport = nodemailer.createTransport(base);
  try {
    await transport.verify();
    return { ok: true, stage: "done", detail: `connected to ${relay.host}:${relay.port}${relay.security === "none" ? "" : " over TLS"}${relay.username !== null ? ` and authenticated as ${relay.username}` : ""}`, reply: null };
  } catch (e) {
    const err = e as MailError;
    const reply = err.response ? parseReply(err.response) : null;
    const command = (err.command ?? "").toUpperCase();
    const stage = err.code === "EAUTH" || err.code === "ENOAUTH" || command.startsWith("AUTH") ? "auth" : isTlsFailure(err) ? "tls" : "connect";
    return { ok: false, stage, detail: errorText(err), reply };
  } finally {
    transport.close();
  }
}
