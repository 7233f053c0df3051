// The per-MX scheduler: addresses grouped by mail host set, few connections per host, many
// pipelined RCPTs per connection, one catch-all probe per domain, greylisting retries inside the
// budget, reconnects on 421 and drops. Circuit breakers per MX address and provider pauses and
// budgets come from the fleet-shared state (probe/shared.ts).
import type { RcptClass, SmtpFacts, SmtpReply } from "../../core/verdict.ts";
import type { Semaphore } from "../concurrency.ts";
import type { MxHost } from "../dns.ts";
import type { EngineObserver } from "../observer.ts";
import { providerOf } from "../providers.ts";
import type { SharedMxState } from "../shared.ts";
import { SessionFailure, SmtpConnection, type Phase, type SessionError } from "./connection.ts";
import { classifyRcpt, classifySessionFailure, formatReply, greylistHintMs, isDeferral, isRecipientLimit } from "./reply.ts";

/** Most MTAs punish a client for many rejections (Postfix: smtpd_soft_error_limit 10, then a
 *  1 s sleep per reply; smtpd_hard_error_limit 20, then 421). Stay below and reconnect. */
export const REJECTIONS_PER_CONNECTION = 8;
/** RFC 5321 §4.5.3.1.8: servers must take 100 recipients per transaction; use fewer. */
export const MAX_RCPTS_PER_TRANSACTION = 50;
/** Addresses one connection should carry before a second one to the same host is worth it. */
export const ADDRESSES_PER_EXTRA_CONNECTION = 40;
/** First greylisting retry delay when the server gives no hint; doubles each time. It is also
 *  the shortest wait: "try again in 0 seconds" must not become a loop. */
export const GREYLIST_FIRST_RETRY_MS = 1_000;
export const GREYLIST_MAX_RETRY_MS = 60_000;

// Bounded work per address (issue 21): whatever a server answers, an address costs it at most a
// fixed number of RCPTs, its MX group a fixed number of connections and commands per address, and
// a retry needs progress or a new connection. When a bound is reached the address gets the last
// thing the server said (reason rate_limited, temporary_failure, timeout…: unknown).

/** Tries an address gets when the server will not answer about its mailbox (a recipient limit,
 *  a 421, a deferral, a refused MAIL, the connection lost while it was asked); then unknown. */
export const MAX_ATTEMPTS = 3;
/** Greylisting retries of one address. Without a hint the waits are 1, 2, 4… 60 s, so the
 *  default three-minute greylisting budget holds seven. */
export const MAX_GREYLIST_RETRIES = 7;
/** RCPT commands one address can cost: its answer, each try and each greylisting retry. */
export const MAX_RCPTS_PER_ADDRESS = 1 + MAX_ATTEMPTS + MAX_GREYLIST_RETRIES;
/** Sessions in a row of one MX group that bring no answer about any mailbox (a 421 greeting, a
 *  limit on the first recipient, a refused MAIL, a dropped connection) before the addresses
 *  waiting for it get their last answer: a server that greets every connection with 421 is asked
 *  this many times, not until the budget ends. */
export const MAX_STALLED_SESSIONS = 3;
/** Postfix's smtp_mx_address_limit and smtp_mx_session_limit: MX addresses tried, and of them
 *  sessions that got as far as a greeting, per attempt to open a session. */
export const MX_ADDRESS_LIMIT = 5;
export const MX_SESSION_LIMIT = 2;
/** Transactions (RSET, MAIL FROM) per session: Postfix counts RSETs past smtpd_junk_command_limit
 *  (100) as errors, and Exchange ends a connection after 20 messages. */
export const MAX_TRANSACTIONS_PER_SESSION = 20;
export const MAX_RCPTS_PER_SESSION = 250;
/** Commands one session sends at most: EHLO, HELO, STARTTLS and EHLO again, RSET and MAIL per
 *  transaction, its RCPTs, QUIT. */
export const MAX_COMMANDS_PER_SESSION = 4 + 2 * MAX_TRANSACTIONS_PER_SESSION + MAX_RCPTS_PER_SESSION + 1;
/** TCP connections, and commands, an MX group may spend per address queued to it (the domain's
 *  catch-all test counts as one), whatever the replies: past them what waits is answered. One
 *  greylisted address retried seven times takes eight sessions of six commands. */
export const MAX_CONNECTIONS_PER_ADDRESS = 12;
export const MAX_COMMANDS_PER_ADDRESS = 64;

export interface Recipient {
  local: string;
  domain: string; // A-label
  smtputf8: boolean;
  /** A random mailbox to learn whether the domain accepts everything. */
  catchAllProbe: boolean;
  trace: string[] | null;
  /** A follow-up of recipients already asked: it continues the open transaction of its domain
   *  when a session has one (MAIL FROM answered), with the follow-up rejection limit
   *  (SchedulerOptions.followUpRejectionLimit), instead of waiting for a transaction of its own. */
  followUp?: boolean;
  /** Told when the server greylists this recipient: when it is asked again, or null when it
   *  is not (its greylisting budget is spent). */
  onGreylisted?: (retryAt: number | null) => void;
  /** False once its answer is no longer needed: it is then settled with what it has instead of
   *  asked (again). */
  needed?: () => boolean;
  /** When (ms since the epoch) its answer is due, whatever it has by then (VerifyCall.addressBudgetMs). */
  deadline?: number;
}

export type RecipientOutcome = { smtp: SmtpFacts; greylistedUntil: number | null };

export interface SchedulerOptions {
  from: string;
  helo: string;
  port: number;
  timeoutMs: number;
  perHostConnections: number;
  greylistBudgetMs: number;
  tls: boolean;
  /** Connect to non-public addresses too (EngineOptions.allowPrivateTargets). */
  allowPrivateTargets: boolean;
  /** Keep transcripts (only when a caller asked for them: they cost memory). */
  trace: boolean;
  /** Rejections a session may reach while follow-ups continue its open transaction (those of
   *  earlier transactions count too), unless the server taught a lower limit;
   *  REJECTIONS_PER_CONNECTION when not given. */
  followUpRejectionLimit?: number;
  observer?: EngineObserver;
}

interface Pending {
  rcpt: Recipient;
  /** Tries spent without an answer about the mailbox (MAX_ATTEMPTS). */
  attempts: number;
  /** RCPT commands written for it (MAX_RCPTS_PER_ADDRESS). */
  rcpts: number;
  greylistRetries: number;
  firstGreylistAt: number | null;
  greylistDelayMs: number;
  readyAt: number;
  /** Its answer is due then: the call's deadline, or its own (Recipient.deadline). */
  deadline: number;
  last: SmtpFacts | null;
}

/** What one session has done so far: it is held to the learned and fixed limits. */
interface SessionState {
  transactions: number;
  /** RCPTs written, RCPTs answered about a mailbox, and of those the 5xx. */
  rcpts: number;
  answered: number;
  rejections: number;
  /** Answered, and accepted, in the open transaction. */
  answeredInTx: number;
  acceptedInTx: number;
  /** A mailbox was answered about: the session was worth its connection. */
  progress: boolean;
  /** Ends the connection when the addresses it carries are due (their budget). */
  cover(ps: Pending[]): void;
  signal: AbortSignal;
}

type Line = { line: string; phase: Phase; sent?: () => void };

function facts(err: SessionError, mx: string | null): SmtpFacts {
  switch (err.kind) {
    case "timeout":
      return { kind: "timeout", mx, phase: err.phase };
    case "refused":
      return { kind: "unreachable", detail: err.detail };
    case "rejected":
      return { kind: "reply", rcpt: classifySessionFailure(err.reply), reply: err.reply, mx: mx ?? "" };
    case "closed":
      return err.reply
        ? { kind: "reply", rcpt: classifySessionFailure(err.reply), reply: err.reply, mx: mx ?? "" }
        : { kind: "protocol_error", mx: mx ?? "", detail: `connection closed in ${err.phase}`, reply: null };
    case "protocol":
      return { kind: "protocol_error", mx: mx ?? "", detail: err.detail, reply: err.reply };
    case "private_target":
      return { kind: "private_target", mx: mx ?? "", address: err.address };
  }
}

/** RCPT lines that count themselves, per address and per session, as they are written. */
const rcptLines = (ps: Pending[], s: SessionState): Line[] =>
  ps.map((p) => ({
    line: `RCPT TO:<${p.rcpt.local}@${p.rcpt.domain}>`,
    phase: "rcpt",
    sent: () => {
      p.rcpts++;
      s.rcpts++;
    },
  }));

/** A reply after which the commands behind it in the transaction are not worth sending. */
function endsTransaction(r: SmtpReply, phase: Phase): boolean {
  if (phase !== "rcpt") return r.code >= 300; // a refused RSET or MAIL
  return isRecipientLimit(r) || r.code === 421 || isDeferral(r, false);
}

/** Sends the lines, pipelined when the server offers it. Without PIPELINING each command waits
 *  for its reply (RFC 5321 §4.3), and after a failure, or a reply that ends the transaction, the
 *  rest are not sent and share it. */
async function send(conn: SmtpConnection, lines: Line[]): Promise<Promise<SmtpReply>[]> {
  if (conn.pipelining) {
    for (const l of lines) l.sent?.();
    return conn.send(lines);
  }
  const replies: Promise<SmtpReply>[] = [];
  for (const l of lines) {
    l.sent?.();
    const r = conn.command(l.line, l.phase);
    replies.push(r);
    const stop = await r.then((reply) => endsTransaction(reply, l.phase), () => true);
    if (stop) {
      while (replies.length < lines.length) replies.push(r);
      break;
    }
  }
  return replies;
}

function failureOf(e: unknown): SessionError {
  if (e instanceof SessionFailure) return e.error;
  return { kind: "protocol", phase: "rcpt", detail: String(e), reply: null };
}

const budgetEnded: SmtpFacts = { kind: "timeout", mx: null, phase: "budget" };

/**
 * All recipients whose domains share one MX host set. Runs up to `perHostConnections` sessions,
 * each carrying many transactions, until every recipient has an outcome.
 */
export class MxGroup {
  private queue: Pending[] = [];
  private workers = 0;
  /** Lowered when the server refuses a second session while one runs (per-client limits). */
  private maxWorkers: number;
  private wake: NodeJS.Timeout | null = null;
  private wakeAt = Number.POSITIVE_INFINITY;
  private idle: (() => void)[] = [];
  private rejectRate = new Map<string, number>(); // per domain, smoothed, to size transactions
  /** Set once a session could not be opened while no other worker was running. */
  private groupFailure: SmtpFacts | null = null;
  /** Providers are rate-limited as a whole: its first host names it. */
  private readonly provider: string;

  // What the group may still spend, and what the server has taught it (issue 21).
  /** Recipients ever queued: the connections and commands allowed grow with them. */
  private added = 0;
  private connections = 0;
  private readonly sent = { commands: 0 };
  /** Sessions in a row without an answer about any mailbox (MAX_STALLED_SESSIONS). */
  private stalls = 0;
  /** Learned from limits: RCPTs a transaction, RCPTs and rejections a session. */
  private txRcptLimit = MAX_RCPTS_PER_TRANSACTION;
  private sessionRcptLimit = MAX_RCPTS_PER_SESSION;
  private rejectionLimit = REJECTIONS_PER_CONNECTION;
  /** MX addresses whose STARTTLS failed: later sessions go in plain text at once. */
  private readonly plainOnly = new Set<string>();
  /** The earliest deadline in the queue (maybe earlier: a hint to look), and the latest queued. */
  private nextExpiry = Number.POSITIVE_INFINITY;
  private latest = Number.NEGATIVE_INFINITY;
  /** The last thing the server said instead of an answer: what a recipient never asked gets. */
  private lastRefusal: SmtpFacts | null = null;

  constructor(
    readonly hosts: MxHost[],
    private readonly opts: SchedulerOptions,
    private readonly slots: Semaphore,
    private readonly shared: SharedMxState,
    private readonly deadline: () => number,
    private readonly onOutcome: (rcpt: Recipient, outcome: RecipientOutcome) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.maxWorkers = opts.perHostConnections;
    this.provider = providerOf(hosts[0]?.name ?? "");
    signal?.addEventListener("abort", () => this.pump(), { once: true });
  }

  add(rcpts: Recipient[]): void {
    const now = Date.now();
    for (const rcpt of rcpts) {
      const deadline = Math.min(rcpt.deadline ?? Number.POSITIVE_INFINITY, this.deadline());
      this.added++;
      this.latest = Math.max(this.latest, deadline);
      this.enqueue({ rcpt, attempts: 0, rcpts: 0, greylistRetries: 0, firstGreylistAt: null, greylistDelayMs: 0, readyAt: now, deadline, last: null });
    }
    this.pump();
  }

  /** Resolves when every recipient added so far has an outcome. */
  done(): Promise<void> {
    if (this.queue.length === 0 && this.workers === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private enqueue(p: Pending, front = false): void {
    if (front) this.queue.unshift(p);
    else this.queue.push(p);
    if (p.deadline < this.nextExpiry) {
      this.nextExpiry = p.deadline;
      // Requeued mid-session: its deadline is kept even while the session runs on.
      if (this.nextExpiry < this.wakeAt) this.arm(Date.now());
    }
  }

  /** Comes back when the first recipient is due (its budget), or, with no session running, when
   *  the first greylisted one is ready again. */
  private arm(now: number): void {
    if (this.wake) clearTimeout(this.wake);
    this.wake = null;
    this.wakeAt = Number.POSITIVE_INFINITY;
    if (this.queue.length === 0) return;
    let next = this.nextExpiry;
    if (this.workers === 0) for (const p of this.queue) if (p.readyAt < next) next = p.readyAt;
    if (!Number.isFinite(next)) return;
    this.wakeAt = next;
    this.wake = setTimeout(() => this.pump(), Math.max(0, next - now));
  }

  private settle(p: Pending, smtp: SmtpFacts, greylistedUntil: number | null = null): void {
    this.onOutcome(p.rcpt, { smtp, greylistedUntil });
  }

  /** Answers a recipient with what it has (the last reply, or what the server last said instead
   *  of one), saying in its transcript why it was not asked (again). */
  private giveUpOn(p: Pending, why: string): void {
    p.rcpt.trace?.push(`smtp: not asked again: ${why}`);
    this.settle(p, p.last ?? this.lastRefusal ?? budgetEnded, p.firstGreylistAt ? p.readyAt : null);
  }

  /** Answers every queued recipient with what it has. */
  private giveUp(why: string): void {
    // Emptied first: settling may queue more recipients (the caller's follow-ups).
    for (const p of this.queue.splice(0)) this.giveUpOn(p, why);
    this.nextExpiry = Number.POSITIVE_INFINITY;
  }

  /** Answers the recipients whose time is up. */
  private expire(now: number): void {
    if (now < this.nextExpiry) return;
    const due: Pending[] = [];
    let next = Number.POSITIVE_INFINITY;
    let kept = 0;
    for (const p of this.queue) {
      if (p.deadline <= now) due.push(p);
      else {
        this.queue[kept++] = p;
        if (p.deadline < next) next = p.deadline;
      }
    }
    this.queue.length = kept;
    this.nextExpiry = next;
    for (const p of due) this.giveUpOn(p, "its time budget ended");
  }

  /** Connections and commands the group may still spend (MAX_*_PER_ADDRESS per recipient). */
  private connectionsLeft(): number {
    return MAX_CONNECTIONS_PER_ADDRESS * this.added - this.connections;
  }
  private commandsLeft(): number {
    return MAX_COMMANDS_PER_ADDRESS * this.added - this.sent.commands;
  }

  /** Ready recipients, counted up to `limit`: pump runs per add, so it must not walk a long queue. */
  private readyCount(now: number, limit = Number.POSITIVE_INFINITY): number {
    let n = 0;
    for (const p of this.queue) if (p.readyAt <= now && ++n >= limit) break;
    return n;
  }

  private pump(): void {
    const now = Date.now();
    // Past the budget nothing more is asked: what waits gets its last answer.
    if (this.signal?.aborted) this.giveUp("the budget ended");
    else this.expire(now);
    if (this.groupFailure) {
      for (const p of this.queue.splice(0)) this.settle(p, this.groupFailure);
    }
    const ready = this.readyCount(now, this.maxWorkers * ADDRESSES_PER_EXTRA_CONNECTION);
    const workersNeeded = Math.min(
      this.maxWorkers,
      Math.ceil(ready / ADDRESSES_PER_EXTRA_CONNECTION),
    );
    while (this.workers < workersNeeded) {
      this.workers++;
      void this.work().finally(() => {
        this.workers--;
        this.pump();
      });
    }
    this.arm(now);
    if (this.queue.length === 0 && this.workers === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** One session: open (with failover), run transactions while work is ready, QUIT. */
  private async work(): Promise<void> {
    // A provider's pause and connection budget are waited out before taking a connection slot,
    // as long as some waiting recipient still has time.
    if (!(await this.shared.beforeConnect(this.provider, this.latest, this.signal))) {
      this.giveUp("the provider's pause outlasts the budget");
      return;
    }
    try {
      await this.session();
    } finally {
      this.shared.connectionDone(this.provider);
    }
  }

  private async session(): Promise<void> {
    await this.slots.acquire();
    let conn: SmtpConnection | null = null;
    let mx = "";
    let failed = false;
    let spent: string | null = null;
    // Ends the connection when every address it carries is due: no reply, however slow, keeps
    // an address past its budget.
    const cut = new AbortController();
    let cutTimer: NodeJS.Timeout | null = null;
    const cutAt = (at: number) => {
      if (cutTimer) clearTimeout(cutTimer);
      cutTimer = Number.isFinite(at) ? setTimeout(() => cut.abort(), Math.max(0, at - Date.now())) : null;
    };
    const signal = this.signal ? AbortSignal.any([this.signal, cut.signal]) : cut.signal;
    const s: SessionState = {
      transactions: 0,
      rcpts: 0,
      answered: 0,
      rejections: 0,
      answeredInTx: 0,
      acceptedInTx: 0,
      progress: false,
      cover: (ps) => cutAt(Math.max(...ps.map((p) => p.deadline))),
      signal,
    };
    try {
      if (this.readyCount(Date.now(), 1) === 0) return;
      if (this.connectionsLeft() <= 0 || this.commandsLeft() < 8) {
        spent = "the server's share of connections and commands for this list is spent";
        return;
      }
      cutAt(this.latest);
      const trace: string[] | undefined = this.opts.trace ? [] : undefined;
      const opened = await this.open(trace, signal);
      if ("spent" in opened) {
        spent = "the server's share of connections and commands for this list is spent";
        return;
      }
      if ("error" in opened) {
        failed = true;
        const f = facts(opened.error, opened.mx);
        this.lastRefusal = f;
        if (opened.deferral) {
          // The provider asked us to come back later: the next session waits for the fleet's
          // pause, and this is the answer if the budget or the stalled sessions end first.
          for (const p of this.queue) p.last = f;
          return;
        }
        // Our own budget ended it: what waits is due, and answered as such; nothing is learned.
        if (signal.aborted) return;
        // Another session to this host may be running fine (the server limits connections
        // per client): leave the work to it. Otherwise the whole group shares this failure.
        if (this.workers === 1) this.groupFailure = f;
        else this.maxWorkers = Math.max(1, this.workers - 1);
        return;
      }
      ({ conn, mx } = opened);
      conn.stopTracing();
      this.opts.observer?.connectionOpened?.(mx);
      while (conn.alive && s.transactions < MAX_TRANSACTIONS_PER_SESSION) {
        const rejectionRoom = this.rejectionLimit - s.rejections;
        const rcptRoom = Math.min(this.sessionRcptLimit, MAX_RCPTS_PER_SESSION) - s.rcpts;
        // RSET and MAIL, then the RCPTs, and QUIT after them.
        const commandRoom = this.commandsLeft() - (s.transactions > 0 ? 2 : 1) - 1;
        if (rejectionRoom <= 0 || rcptRoom <= 0) break;
        if (commandRoom <= 0) {
          spent = "the server's share of commands for this list is spent";
          break;
        }
        const batch = this.take(rejectionRoom, Math.min(rcptRoom, commandRoom));
        if (batch.length === 0) break;
        s.cover(batch);
        if (!(await this.shared.beforeRcpts(this.provider, batch.length, Math.max(...batch.map((p) => p.deadline)), signal))) {
          // The provider's RCPT budget outlasts their time: a new session would not help.
          for (const p of batch) this.giveUpOn(p, "the provider's pause outlasts the budget");
          break;
        }
        if (!conn.alive) {
          for (const p of batch.reverse()) this.enqueue(p, true);
          break;
        }
        const end = await this.transaction(conn, mx, trace, batch, s);
        if (end) break;
      }
    } finally {
      if (cutTimer) clearTimeout(cutTimer);
      if (conn) {
        await conn.quit();
        this.opts.observer?.connectionClosed?.(mx);
      }
      this.slots.release();
      if (spent) this.giveUp(spent);
      else if ((failed || s.transactions > 0) && !s.progress && ++this.stalls >= MAX_STALLED_SESSIONS) {
        // Nothing the server does makes this group go round for ever: after sessions in a
        // row without an answer about a mailbox, what waits is answered with what it has.
        this.stalls = 0;
        this.giveUp(`${MAX_STALLED_SESSIONS} sessions in a row brought no answer about any mailbox`);
      }
    }
  }

  private async open(
    trace: string[] | undefined,
    signal: AbortSignal,
  ): Promise<{ conn: SmtpConnection; mx: string } | { error: SessionError; mx: string | null; deferral?: boolean } | { spent: true }> {
    // The answer is the last real failure; a private address refused unasked is the answer only
    // when no public address was there to try.
    let last: { error: SessionError; mx: string | null; deferral?: boolean } | null = null;
    let refusedPrivate: { error: SessionError; mx: string | null } | null = null;
    let deferring: string | null = null;
    let tried = 0;
    let greeted = 0;
    for (const host of this.hosts) {
      // A provider that deferred us defers us on all its hosts.
      if (deferring && providerOf(host.name) === deferring) continue;
      for (const ip of host.addresses) {
        // The group's share of connections, then Postfix's smtp_mx_address_limit and
        // smtp_mx_session_limit: what was tried is the answer.
        if (this.connectionsLeft() <= 0 || this.commandsLeft() < 8) {
          if (last) this.lastRefusal = facts(last.error, last.mx);
          return { spent: true };
        }
        if (last && (tried >= MX_ADDRESS_LIMIT || greeted >= MX_SESSION_LIMIT)) return last;
        const open = await this.shared.admit(ip);
        if (open) {
          last = { error: open, mx: host.name };
          continue;
        }
        try {
          const conn = await this.connect(host, ip, trace, signal);
          void this.shared.connected(ip);
          return { conn, mx: host.name };
        } catch (e) {
          const err = failureOf(e);
          if (err.kind === "private_target") {
            refusedPrivate ??= { error: err, mx: host.name };
            continue;
          }
          tried++;
          if (!(err.kind === "refused" || (err.kind === "timeout" && err.phase === "connect"))) greeted++;
          last = { error: err, mx: host.name };
          // A 4xx/5xx greeting is an answer, not a broken host: don't trip the breaker on it.
          const hostFault = err.kind === "refused" || err.kind === "timeout";
          if (hostFault && !signal.aborted) void this.shared.failed(ip, err);
          if (signal.aborted) return last;
          const reply = "reply" in err ? err.reply : null;
          if (reply && isDeferral(reply, true)) {
            deferring = providerOf(host.name);
            void this.shared.deferred(deferring);
            last.deferral = true;
            break;
          }
          // Postfix's smtp_skip_5xx_greeting: a refusing MX is skipped for the next one.
        }
      }
    }
    return last ?? refusedPrivate ?? { error: { kind: "refused", detail: "no address for any MX host" }, mx: null };
  }

  /** One connection, counted; in plain text again when STARTTLS fails, as real senders do (and
   *  from then on for this MX address, so each session does not pay for the broken TLS twice). */
  private async connect(host: MxHost, ip: string, trace: string[] | undefined, signal: AbortSignal): Promise<SmtpConnection> {
    const tls = this.opts.tls && !this.plainOnly.has(ip);
    this.connections++;
    try {
      return await SmtpConnection.open({ ...this.connOpts(host, ip, trace, signal), tls });
    } catch (e) {
      const err = failureOf(e);
      if (!(tls && err.kind === "protocol" && err.phase === "starttls") || this.connectionsLeft() <= 0) throw e;
      this.plainOnly.add(ip);
      trace?.push("*: TLS failed, retrying without STARTTLS");
      this.connections++;
      return await SmtpConnection.open({ ...this.connOpts(host, ip, trace, signal), tls: false });
    }
  }

  private connOpts(host: MxHost, ip: string, trace: string[] | undefined, signal: AbortSignal) {
    return {
      host: ip,
      port: this.opts.port,
      mxName: host.name,
      helo: this.opts.helo,
      timeoutMs: this.opts.timeoutMs,
      allowPrivate: this.opts.allowPrivateTargets,
      sent: this.sent,
      signal,
      ...(trace ? { trace } : {}),
    };
  }

  /** Settles the recipients nobody needs an answer for any more, without asking. */
  prune(): void {
    const unneeded: Pending[] = [];
    let kept = 0;
    for (const p of this.queue) {
      if (p.rcpt.needed && !p.rcpt.needed()) unneeded.push(p);
      else this.queue[kept++] = p;
    }
    this.queue.length = kept;
    // After the queue is whole again: settling may queue more recipients.
    for (const p of unneeded) this.settle(p, p.last ?? budgetEnded, p.firstGreylistAt ? p.readyAt : null);
    if (unneeded.length) this.pump();
  }

  /**
   * Next ready recipients, one domain at a time, sized so rejections stay under the limit and
   * the transaction under what the server takes (`room`, and what it taught us).
   */
  private take(rejectionBudget: number, room: number): Pending[] {
    this.prune();
    const now = Date.now();
    this.expire(now);
    const first = this.queue.find((p) => p.readyAt <= now);
    if (!first) return [];
    const domain = first.rcpt.domain;
    const rate = Math.max(this.rejectRate.get(domain) ?? 0.1, 0.02);
    const size = Math.max(1, Math.min(MAX_RCPTS_PER_TRANSACTION, this.txRcptLimit, room, Math.floor(rejectionBudget / rate)));
    const taken: Pending[] = [];
    let probe: Pending | null = null;
    for (const p of this.queue) {
      if (p.readyAt > now || p.rcpt.domain !== domain) continue;
      if (p.rcpt.catchAllProbe) probe = p;
      else if (taken.length < size) taken.push(p);
    }
    // The catch-all probe rides along with the first real recipients, after them: Microsoft 365
    // and others start refusing every recipient after an unknown one, which must not spoil the
    // real addresses. It takes one of the transaction's places, or waits for the next.
    if (probe && taken.length >= size) {
      if (size > 1) taken.length = size - 1;
      else probe = null;
    }
    if (probe) taken.push(probe);
    // Remove the taken ones in place: big groups would otherwise copy their queue per transaction.
    const chosen = new Set(taken);
    let kept = 0;
    for (const p of this.queue) if (!chosen.has(p)) this.queue[kept++] = p;
    this.queue.length = kept;
    return taken;
  }

  /**
   * Back to the queue for another try, unless its tries or RCPTs are spent. `charged`: the
   * server refused this address itself an answer (not one asked after it in the same pipeline,
   * which only spends the RCPT written for it).
   */
  private requeue(p: Pending, last: SmtpFacts, charged: boolean, front = false): void {
    if (charged) p.attempts++;
    // A reply says more than a connection lost after it.
    if (last.kind === "reply" || !p.last || p.last.kind !== "reply") p.last = last;
    if (p.attempts >= MAX_ATTEMPTS) return this.giveUpOn(p, `${p.attempts} tries brought no answer about the mailbox`);
    if (p.rcpts >= MAX_RCPTS_PER_ADDRESS) return this.giveUpOn(p, `${p.rcpts} RCPTs brought no answer about the mailbox`);
    this.enqueue(p, front);
  }

  /** MAIL FROM (after RSET in a session's later transactions), then RCPTs (pipelined when
   *  offered). True when the session should end: its connection is gone or no longer useful. */
  private async transaction(
    conn: SmtpConnection,
    mx: string,
    setup: readonly string[] | undefined,
    batch: Pending[],
    s: SessionState,
  ): Promise<boolean> {
    // RFC 6531 §3.4: a UTF-8 mailbox may only be named to a server that offers SMTPUTF8.
    const sendable = batch.filter((p) => {
      if (!p.rcpt.smtputf8 || conn.smtputf8) return true;
      const reply: SmtpReply = { code: 553, enhanced: "5.6.7", message: `${mx} does not offer SMTPUTF8 (not sent)` };
      this.settle(p, { kind: "reply", rcpt: "smtputf8_unsupported", reply, mx });
      return false;
    });
    if (sendable.length === 0) return false;
    const reset = s.transactions > 0;
    s.transactions++;
    s.answeredInTx = 0;
    s.acceptedInTx = 0;
    const utf8 = sendable.some((p) => p.rcpt.smtputf8);
    const mailLine = `MAIL FROM:<${this.opts.from}>${utf8 ? " SMTPUTF8" : ""}`;
    const lines: Line[] = [];
    if (reset) lines.push({ line: "RSET", phase: "rset" });
    lines.push({ line: mailLine, phase: "mail" });
    lines.push(...rcptLines(sendable, s));
    const replies = await send(conn, lines);
    const offset = reset ? 1 : 0;
    let refusal: { reply: SmtpReply; phase: Phase } | null = null;
    let mailReply: SmtpReply;
    try {
      if (reset) {
        const r = await replies[0]!;
        if (r.code >= 300) refusal = { reply: r, phase: "rset" };
      }
      mailReply = await replies[offset]!;
      if (!refusal && mailReply.code !== 250) refusal = { reply: mailReply, phase: "mail" };
    } catch (e) {
      // The session died before MAIL was answered: the first recipient spends a try (a server
      // that dies at once is then not asked for ever), the rest only the RCPT written for them.
      const f = facts(failureOf(e), mx);
      this.lastRefusal = f;
      sendable.forEach((p, i) => this.requeue(p, f, i === 0));
      return true;
    }
    if (refusal) {
      // Pipelined RCPTs after a refused MAIL get 503s; nothing they say is about the mailbox.
      await Promise.allSettled(replies);
      const f = facts({ kind: "rejected", phase: refusal.phase, reply: refusal.reply }, mx);
      this.lastRefusal = f;
      const { reply } = refusal;
      if (refusal.phase === "rset") {
        // A server that cannot reset: the next session starts with a fresh MAIL.
        for (const p of sendable.reverse()) this.requeue(p, f, false, true);
        return true;
      }
      const deferred = isDeferral(reply, false);
      if (deferred) void this.shared.deferred(providerOf(mx));
      for (const p of sendable) {
        if (deferred || reply.code === 421 || reply.code < 500) this.requeue(p, f, true);
        else this.settle(p, f);
      }
      return true;
    }

    const mail = { trace: [...(setup ?? []), `C: ${mailLine}`, `S: ${formatReply(mailReply)}`], utf8 };
    const domain = sendable[0]!.rcpt.domain;
    let wave = await this.answers(mx, mail, sendable, replies.slice(offset + 1), s);
    let sent = sendable.length;
    // Follow-ups queued by the answers just settled continue this transaction.
    while (!wave.stopped && conn.alive) {
      const followUpLimit =
        this.rejectionLimit < REJECTIONS_PER_CONNECTION ? this.rejectionLimit : (this.opts.followUpRejectionLimit ?? REJECTIONS_PER_CONNECTION);
      const room = Math.min(
        MAX_RCPTS_PER_TRANSACTION - sent,
        this.txRcptLimit - sent,
        followUpLimit - s.rejections,
        Math.min(this.sessionRcptLimit, MAX_RCPTS_PER_SESSION) - s.rcpts,
        this.commandsLeft() - 1,
      );
      const more = this.takeFollowUps(domain, utf8, room);
      if (more.length === 0) break;
      s.cover(more);
      if (!(await this.shared.beforeRcpts(this.provider, more.length, Math.max(...more.map((p) => p.deadline)), s.signal))) {
        for (const p of more) this.giveUpOn(p, "the provider's pause outlasts the budget");
        break;
      }
      const moreReplies = await send(conn, rcptLines(more, s));
      wave = await this.answers(mx, mail, more, moreReplies, s);
      sent += more.length;
    }
    return wave.end;
  }

  /** Settles (or requeues) each recipient from its RCPT reply; `stopped` when the transaction
   *  cannot go on (the session died, a recipient limit, a 421 or a deferral), `end` when the
   *  session cannot either. */
  private async answers(
    mx: string,
    mail: { trace: string[]; utf8: boolean },
    sendable: Pending[],
    replies: Promise<SmtpReply>[],
    s: SessionState,
  ): Promise<{ stopped: boolean; end: boolean }> {
    let rejections = 0;
    let seen = 0;
    let result = { stopped: false, end: false };
    const domain = sendable[0]!.rcpt.domain;
    for (let i = 0; i < sendable.length; i++) {
      const p = sendable[i]!;
      let reply: SmtpReply;
      try {
        reply = await replies[i]!;
      } catch (e) {
        // Dropped or timed out mid-transaction: this and the rest go to a fresh connection. The
        // recipient being answered spends a try; the rest only the RCPTs written for them.
        const f = facts(failureOf(e), mx);
        this.lastRefusal = f;
        for (const q of sendable.slice(i).reverse()) this.requeue(q, f, q === p, true);
        result = { stopped: true, end: true };
        break;
      }
      const deferral = isDeferral(reply, false);
      if (isRecipientLimit(reply) || reply.code === 421 || deferral) {
        const f: SmtpFacts = { kind: "reply", rcpt: "rate_limited", reply, mx };
        this.lastRefusal = f;
        if (deferral) void this.shared.deferred(providerOf(mx));
        // 452 4.5.3 once recipients were accepted in this transaction (Postfix's
        // smtpd_recipient_limit, Exchange, Gmail): a new transaction takes the rest, as many as
        // this one did. The same limit on a transaction that took nobody holds for the session
        // ("too many invalid recipients in this session"), and a 421 ends it: a new connection,
        // carrying no more than this one could. A deferral: the rest wait for the provider's pause.
        const perTransaction = reply.code === 452 && s.acceptedInTx > 0;
        if (perTransaction) this.txRcptLimit = Math.max(1, Math.min(this.txRcptLimit, s.answeredInTx));
        else if (!deferral) {
          this.sessionRcptLimit = Math.max(1, Math.min(this.sessionRcptLimit, s.answered));
          if (s.rejections > 0) this.rejectionLimit = Math.min(this.rejectionLimit, s.rejections);
        }
        // Replies still due for this pipeline are consumed by the connection in order.
        for (const q of sendable.slice(i).reverse()) this.requeue(q, f, q === p, true);
        result = { stopped: true, end: !perTransaction };
        break;
      }
      // An answer about the mailbox: the session is worth its connection.
      seen++;
      s.progress = true;
      this.stalls = 0;
      s.answered++;
      s.answeredInTx++;
      const rcptClass: RcptClass = classifyRcpt(reply);
      if (rcptClass === "accepted") s.acceptedInTx++;
      this.opts.observer?.rcptSent?.(mx, rcptClass);
      if (p.rcpt.trace) {
        p.rcpt.trace.push(...mail.trace, `C: RCPT TO:<${p.rcpt.local}@${p.rcpt.domain}>`, `S: ${formatReply(reply)}`);
      }
      if (reply.code >= 500) {
        rejections++;
        s.rejections++;
      }
      const f: SmtpFacts = { kind: "reply", rcpt: rcptClass, reply, mx };
      if (rcptClass === "greylisted") {
        const retried = this.retryGreylisted(p, reply, f);
        p.rcpt.onGreylisted?.(retried ? p.readyAt : null);
        if (!retried) this.settle(p, f, p.readyAt);
        continue;
      }
      this.settle(p, f);
    }
    if (seen > 0) {
      const prev = this.rejectRate.get(domain) ?? rejections / seen;
      this.rejectRate.set(domain, (prev + rejections / seen) / 2);
    }
    return result;
  }

  /** Ready follow-ups of this domain that fit the open transaction, up to `room`. */
  private takeFollowUps(domain: string, utf8: boolean, room: number): Pending[] {
    if (room <= 0) return [];
    this.prune();
    const now = Date.now();
    this.expire(now);
    const taken: Pending[] = [];
    let kept = 0;
    for (const p of this.queue) {
      const fits = p.rcpt.followUp && p.rcpt.domain === domain && p.readyAt <= now && (utf8 || !p.rcpt.smtputf8);
      if (fits && taken.length < room) taken.push(p);
      else this.queue[kept++] = p;
    }
    this.queue.length = kept;
    return taken;
  }

  /** Queues a greylisted recipient again if its budget and retries allow; false when not. */
  private retryGreylisted(p: Pending, reply: SmtpReply, f: SmtpFacts): boolean {
    const now = Date.now();
    p.firstGreylistAt ??= now;
    const hinted = Math.max(greylistHintMs(reply) ?? GREYLIST_FIRST_RETRY_MS, GREYLIST_FIRST_RETRY_MS);
    p.greylistDelayMs = Math.min(p.greylistDelayMs ? p.greylistDelayMs * 2 : hinted, GREYLIST_MAX_RETRY_MS);
    p.readyAt = now + p.greylistDelayMs;
    p.last = f;
    const budgetEnd = Math.min(p.firstGreylistAt + this.opts.greylistBudgetMs, p.deadline);
    if (p.readyAt > budgetEnd || p.greylistRetries >= MAX_GREYLIST_RETRIES || p.rcpts >= MAX_RCPTS_PER_ADDRESS) return false;
    p.greylistRetries++;
    this.enqueue(p);
    return true;
  }
}
