// The per-MX scheduler: addresses grouped by mail host set, few connections per host, many
// pipelined RCPTs per connection, one catch-all probe per domain, greylisting retries inside the
// budget, reconnects on 421 and drops. Circuit breakers per MX address and provider pauses and
// budgets come from the fleet-shared state (probe/shared.ts).
import type { RcptClass, SmtpFacts, SmtpReply } from "../../core/verdict.ts";
import type { MxHost } from "../dns.ts";
import type { EngineObserver } from "../engine.ts";
import { providerOf } from "../providers.ts";
import type { SharedMxState } from "../shared.ts";
import { SessionFailure, SmtpConnection, type Phase, type SessionError } from "./connection.ts";
import { classifyRcpt, classifySessionFailure, formatReply, greylistHintMs, isDeferral, isRecipientLimit } from "./reply.ts";

/** Most MTAs punish a client for many rejections (Postfix: smtpd_soft_error_limit 10, then a
 *  1 s sleep per reply; smtpd_hard_error_limit 20, then 421). Stay below and reconnect. */
export const REJECTIONS_PER_CONNECTION = 8;
/** RFC 5321 §4.5.3.1.8: servers must take 100 recipients per transaction; use fewer. */
export const MAX_RCPTS_PER_TRANSACTION = 50;
/** Rejections a session may reach while a finder's chained candidates continue its transaction
 *  (those of earlier transactions count too): the candidates of one person belong together, and
 *  Postfix only drops a client at 20 (smtpd_hard_error_limit). */
export const CHAIN_REJECTION_LIMIT = 16;
/** A requeued address (421, dropped connection) gets this many tries before it is unknown. */
export const MAX_ATTEMPTS = 3;
/** Addresses one connection should carry before a second one to the same host is worth it. */
export const ADDRESSES_PER_EXTRA_CONNECTION = 40;
/** First greylisting retry delay when the server gives no hint; doubles each time. */
export const GREYLIST_FIRST_RETRY_MS = 1_000;
export const GREYLIST_MAX_RETRY_MS = 60_000;

export interface Recipient {
  id: number;
  local: string;
  domain: string; // A-label
  smtputf8: boolean;
  /** A random mailbox to learn whether the domain accepts everything. */
  catchAllProbe: boolean;
  trace: string[] | null;
  /** A finder's next candidates (issue 14): asked in the open transaction of the candidates
   *  before them when there is one, after MAIL FROM has been answered once. */
  chained?: boolean;
  /** Told when the server greylists this recipient, before the retry: a finder may then ask
   *  its remaining candidates at once, so each one's greylisting clock starts now. */
  onGreylisted?: () => void;
  /** False once the answer is no longer needed (a likelier candidate of the same person was
   *  accepted): it is settled with what it has instead of asked (again). */
  wanted?: () => boolean;
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
  observer?: EngineObserver;
}

interface Pending {
  rcpt: Recipient;
  attempts: number;
  firstGreylistAt: number | null;
  greylistDelayMs: number;
  readyAt: number;
  last: SmtpFacts | null;
}

/** A global cap on open connections. FIFO so no MX group starves. */
export class Semaphore {
  private waiters: (() => void)[] = [];
  private used = 0;
  constructor(private readonly size: number) {}
  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.used--;
  }
  get inUse(): number {
    return this.used;
  }
}

/**
 * A window of slots shared by several callers (flows), handed out fairly: a freed slot goes to
 * the waiting flow with the fewest slots held, urgent flows (single checks) before the rest, and
 * the longest waiter on a tie. So a small batch admitted beside a big one gets its addresses in
 * at once instead of queuing behind the big one's backlog, and a single check never waits
 * behind batches.
 */
export class FairGate {
  private used = 0;
  private readonly waiting = new Set<FairFlow>();
  private ticket = 0;
  constructor(private readonly size: number) {}

  flow(urgent = false): FairFlow {
    return { held: 0, urgent, queue: [] };
  }

  async acquire(flow: FairFlow): Promise<void> {
    if (this.used < this.size && this.waiting.size === 0) {
      this.used++;
      flow.held++;
      return;
    }
    await new Promise<void>((resolve) => {
      flow.queue.push({ resolve, ticket: this.ticket++ });
      this.waiting.add(flow);
    });
  }

  release(flow: FairFlow): void {
    flow.held--;
    let next: FairFlow | null = null;
    for (const f of this.waiting) {
      if (!next || Number(f.urgent) > Number(next.urgent) || (f.urgent === next.urgent && (f.held < next.held || (f.held === next.held && f.queue[0]!.ticket < next.queue[0]!.ticket)))) next = f;
    }
    if (!next) {
      this.used--;
      return;
    }
    const waiter = next.queue.shift()!;
    if (next.queue.length === 0) this.waiting.delete(next);
    next.held++;
    waiter.resolve();
  }

  get inUse(): number {
    return this.used;
  }
}

export interface FairFlow {
  held: number;
  urgent: boolean;
  queue: { resolve: () => void; ticket: number }[];
}

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

const rcptLines = (ps: Pending[]) => ps.map((p) => ({ line: `RCPT TO:<${p.rcpt.local}@${p.rcpt.domain}>`, phase: "rcpt" as Phase }));

/** Sends the lines, pipelined when the server offers it. Without PIPELINING each command waits
 *  for its reply (RFC 5321 §4.3), and after a failure the rest share it. */
async function send(conn: SmtpConnection, lines: { line: string; phase: Phase }[]): Promise<Promise<SmtpReply>[]> {
  if (conn.pipelining) return conn.send(lines);
  const replies: Promise<SmtpReply>[] = [];
  for (const l of lines) {
    const r = conn.command(l.line, l.phase);
    replies.push(r);
    const failed = await r.then(() => false, () => true);
    if (failed) {
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
  private idle: (() => void)[] = [];
  private rejectRate = new Map<string, number>(); // per domain, smoothed, to size transactions
  /** Set once a session could not be opened while no other worker was running. */
  private groupFailure: SmtpFacts | null = null;
  /** Set when the provider's pause or budget would outlast the deadline. */
  private outOfTime = false;
  /** Providers are rate-limited as a whole: its first host names it. */
  private readonly provider: string;

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
      this.queue.push({ rcpt, attempts: 0, firstGreylistAt: null, greylistDelayMs: 0, readyAt: now, last: null });
    }
    this.pump();
  }

  /** Resolves when every recipient added so far has an outcome. */
  done(): Promise<void> {
    if (this.queue.length === 0 && this.workers === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private settle(p: Pending, smtp: SmtpFacts, greylistedUntil: number | null = null): void {
    this.onOutcome(p.rcpt, { smtp, greylistedUntil });
  }

  /** Ready recipients, counted up to `limit`: pump runs per add, so it must not walk a long queue. */
  private readyCount(now: number, limit = Number.POSITIVE_INFINITY): number {
    let n = 0;
    for (const p of this.queue) if (p.readyAt <= now && ++n >= limit) break;
    return n;
  }

  private pump(): void {
    if (this.wake) clearTimeout(this.wake);
    this.wake = null;
    const now = Date.now();
    // Past the deadline (or a provider's pause that outlasts it) nothing more is asked: what
    // waits gets its last answer.
    if (now >= this.deadline() || this.signal?.aborted || this.outOfTime) {
      for (const p of this.queue.splice(0)) {
        this.settle(p, p.last ?? { kind: "timeout", mx: null, phase: "budget" }, p.firstGreylistAt ? p.readyAt : null);
      }
    }
    if (this.groupFailure) {
      for (const p of this.queue.splice(0)) this.settle(p, this.groupFailure);
    }
    const ready = this.readyCount(now, this.maxWorkers * ADDRESSES_PER_EXTRA_CONNECTION);
    const wanted = Math.min(
      this.maxWorkers,
      Math.ceil(ready / ADDRESSES_PER_EXTRA_CONNECTION),
    );
    while (this.workers < wanted) {
      this.workers++;
      void this.work().finally(() => {
        this.workers--;
        this.pump();
      });
    }
    if (this.queue.length > 0 && this.workers === 0) {
      // Only greylisted recipients remain: come back when the first is due (or the budget ends).
      const next = Math.min(...this.queue.map((p) => p.readyAt), this.deadline());
      this.wake = setTimeout(() => this.pump(), Math.max(0, next - now));
      return;
    }
    if (this.queue.length === 0 && this.workers === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** One session: open (with failover), run transactions while work is ready, QUIT. */
  private async work(): Promise<void> {
    // A provider's pause and connection budget are waited out before taking a connection slot.
    if (!(await this.shared.beforeConnect(this.provider, this.deadline(), this.signal))) {
      this.outOfTime = true;
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
    try {
      if (this.readyCount(Date.now(), 1) === 0) return;
      const trace: string[] | undefined = this.opts.trace ? [] : undefined;
      const opened = await this.open(trace);
      if ("error" in opened) {
        if (opened.deferral) {
          // The provider asked us to come back later: the next session waits for the fleet's
          // pause, and this is the answer if the budget ends first.
          const f = facts(opened.error, opened.mx);
          for (const p of this.queue) p.last = f;
          return;
        }
        // Another session to this host may be running fine (the server limits connections
        // per client): leave the work to it. Otherwise the whole group shares this failure.
        if (this.workers === 1) this.groupFailure = facts(opened.error, opened.mx);
        else this.maxWorkers = Math.max(1, this.workers - 1);
        return;
      }
      ({ conn, mx } = opened);
      conn.stopTracing();
      this.opts.observer?.connectionOpened?.(mx);
      let rejections = 0;
      let firstTx = true;
      while (conn.alive && rejections < REJECTIONS_PER_CONNECTION) {
        const batch = this.take(REJECTIONS_PER_CONNECTION - rejections);
        if (batch.length === 0) break;
        if (!(await this.shared.beforeRcpts(this.provider, batch.length, this.deadline(), this.signal))) {
          this.queue.unshift(...batch);
          this.outOfTime = true;
          break;
        }
        const tx = await this.transaction(conn, mx, trace, batch, !firstTx, rejections);
        if (tx.deferred) break; // the rest wait for the provider's pause on a new session
        rejections += tx.rejections;
        firstTx = false;
      }
    } finally {
      if (conn) {
        await conn.quit();
        this.opts.observer?.connectionClosed?.(mx);
      }
      this.slots.release();
    }
  }

  private async open(
    trace: string[] | undefined,
  ): Promise<{ conn: SmtpConnection; mx: string } | { error: SessionError; mx: string | null; deferral?: boolean }> {
    // The answer is the last real failure; a private address refused unasked is the answer only
    // when no public address was there to try.
    let last: { error: SessionError; mx: string | null; deferral?: boolean } | null = null;
    let refusedPrivate: { error: SessionError; mx: string | null } | null = null;
    let deferring: string | null = null;
    for (const host of this.hosts) {
      // A provider that deferred us defers us on all its hosts.
      if (deferring && providerOf(host.name) === deferring) continue;
      for (const ip of host.addresses) {
        const open = await this.shared.admit(ip);
        if (open) {
          last = { error: open, mx: host.name };
          continue;
        }
        try {
          let conn: SmtpConnection;
          try {
            conn = await SmtpConnection.open({ ...this.connOpts(host, ip, trace), tls: this.opts.tls });
          } catch (e) {
            // A broken TLS stack is common on small MTAs; real senders retry in plain text.
            const err = failureOf(e);
            if (!(this.opts.tls && err.kind === "protocol" && err.phase === "starttls")) throw e;
            trace?.push("*: TLS failed, retrying without STARTTLS");
            conn = await SmtpConnection.open({ ...this.connOpts(host, ip, trace), tls: false });
          }
          void this.shared.connected(ip);
          return { conn, mx: host.name };
        } catch (e) {
          const err = failureOf(e);
          if (err.kind === "private_target") {
            refusedPrivate ??= { error: err, mx: host.name };
            continue;
          }
          last = { error: err, mx: host.name };
          // A 4xx/5xx greeting is an answer, not a broken host: don't trip the breaker on it.
          const hostFault = err.kind === "refused" || err.kind === "timeout";
          if (hostFault && !this.signal?.aborted) void this.shared.failed(ip, err);
          if (this.signal?.aborted) return last;
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

  private connOpts(host: MxHost, ip: string, trace: string[] | undefined) {
    return {
      host: ip,
      port: this.opts.port,
      mxName: host.name,
      helo: this.opts.helo,
      timeoutMs: this.opts.timeoutMs,
      allowPrivate: this.opts.allowPrivateTargets,
      ...(trace ? { trace } : {}),
      ...(this.signal ? { signal: this.signal } : {}),
    };
  }

  /** Settles the recipients nobody needs an answer for any more, without asking. */
  prune(): void {
    const unwanted: Pending[] = [];
    let kept = 0;
    for (const p of this.queue) {
      if (p.rcpt.wanted && !p.rcpt.wanted()) unwanted.push(p);
      else this.queue[kept++] = p;
    }
    this.queue.length = kept;
    // After the queue is whole again: settling may queue more recipients.
    for (const p of unwanted) this.settle(p, p.last ?? { kind: "timeout", mx: null, phase: "budget" }, p.firstGreylistAt ? p.readyAt : null);
    if (unwanted.length) this.pump();
  }

  /** Next ready recipients, one domain at a time, sized so rejections stay under the limit. */
  private take(rejectionBudget: number): Pending[] {
    this.prune();
    const now = Date.now();
    const first = this.queue.find((p) => p.readyAt <= now);
    if (!first) return [];
    const domain = first.rcpt.domain;
    const rate = Math.max(this.rejectRate.get(domain) ?? 0.1, 0.02);
    const size = Math.max(1, Math.min(MAX_RCPTS_PER_TRANSACTION, Math.floor(rejectionBudget / rate)));
    const taken: Pending[] = [];
    let probe: Pending | null = null;
    for (const p of this.queue) {
      if (p.readyAt > now || p.rcpt.domain !== domain) continue;
      if (p.rcpt.catchAllProbe) probe = p;
      else if (taken.length < size) taken.push(p);
    }
    // The catch-all probe rides along with the first real recipients, after them: Microsoft 365
    // and others start refusing every recipient after an unknown one, which must not spoil the
    // real addresses.
    if (probe) taken.push(probe);
    // Remove the taken ones in place: big groups would otherwise copy their queue per transaction.
    const chosen = new Set(taken);
    let kept = 0;
    for (const p of this.queue) if (!chosen.has(p)) this.queue[kept++] = p;
    this.queue.length = kept;
    return taken;
  }

  private requeue(p: Pending, last: SmtpFacts): void {
    p.attempts++;
    p.last = last;
    if (p.attempts >= MAX_ATTEMPTS) this.settle(p, last);
    else this.queue.push(p);
  }

  /** MAIL FROM, then RCPTs (pipelined when offered). Returns the number of rejections seen;
   *  `before` is how many the session took in earlier transactions. */
  private async transaction(
    conn: SmtpConnection,
    mx: string,
    setup: readonly string[] | undefined,
    batch: Pending[],
    reset: boolean,
    before: number,
  ): Promise<{ rejections: number; deferred: boolean }> {
    // RFC 6531 §3.4: a UTF-8 mailbox may only be named to a server that offers SMTPUTF8.
    const sendable = batch.filter((p) => {
      if (!p.rcpt.smtputf8 || conn.smtputf8) return true;
      const reply: SmtpReply = { code: 553, enhanced: "5.6.7", message: `${mx} does not offer SMTPUTF8 (not sent)` };
      this.settle(p, { kind: "reply", rcpt: "smtputf8_unsupported", reply, mx });
      return false;
    });
    if (sendable.length === 0) return { rejections: 0, deferred: false };
    const utf8 = sendable.some((p) => p.rcpt.smtputf8);
    const mailLine = `MAIL FROM:<${this.opts.from}>${utf8 ? " SMTPUTF8" : ""}`;
    const lines: { line: string; phase: Phase }[] = [];
    if (reset) lines.push({ line: "RSET", phase: "rset" });
    lines.push({ line: mailLine, phase: "mail" });
    lines.push(...rcptLines(sendable));
    const replies = await send(conn, lines);
    const offset = reset ? 1 : 0;
    let mailReply: SmtpReply;
    try {
      if (reset) await replies[0];
      mailReply = await replies[offset]!;
    } catch (e) {
      // The session died before MAIL was answered: nobody was asked, so nobody spends a try
      // beyond the first recipient (which keeps a dead-on-arrival server from looping forever).
      const f = facts(failureOf(e), mx);
      this.requeue(sendable[0]!, f);
      for (const q of sendable.slice(1)) {
        q.last = f;
        this.queue.push(q);
      }
      return { rejections: 0, deferred: false };
    }
    if (mailReply.code !== 250) {
      // Pipelined RCPTs after a refused MAIL get 503s; nothing they say is about the mailbox.
      await Promise.allSettled(replies);
      const f = facts({ kind: "rejected", phase: "mail", reply: mailReply }, mx);
      const deferred = isDeferral(mailReply, false);
      if (deferred) void this.shared.deferred(providerOf(mx));
      for (const p of sendable) {
        // A deferral costs no try: the provider's pause and the deadline bound the waiting.
        if (deferred) {
          p.last = f;
          this.queue.push(p);
        } else if (mailReply.code === 421 || mailReply.code < 500) this.requeue(p, f);
        else this.settle(p, f);
      }
      return { rejections: 0, deferred };
    }

    const mail = { trace: [...(setup ?? []), `C: ${mailLine}`, `S: ${formatReply(mailReply)}`], utf8 };
    const domain = sendable[0]!.rcpt.domain;
    let wave = await this.answers(mx, mail, sendable, replies.slice(offset + 1));
    let { rejections } = wave;
    let sent = sendable.length;
    // A finder's next candidates, chained by the answers just settled, continue this transaction.
    while (!wave.stopped && conn.alive) {
      const more = this.takeChained(domain, utf8, Math.min(MAX_RCPTS_PER_TRANSACTION - sent, CHAIN_REJECTION_LIMIT - before - rejections));
      if (more.length === 0) break;
      if (!(await this.shared.beforeRcpts(this.provider, more.length, this.deadline(), this.signal))) {
        this.queue.unshift(...more);
        this.outOfTime = true;
        break;
      }
      wave = await this.answers(mx, mail, more, await send(conn, rcptLines(more)));
      rejections += wave.rejections;
      sent += more.length;
    }
    return { rejections, deferred: wave.deferred };
  }

  /** Settles (or requeues) each recipient from its RCPT reply; `stopped` when the transaction
   *  cannot go on (the session died, a recipient limit, a 421 or a deferral). */
  private async answers(
    mx: string,
    mail: { trace: string[]; utf8: boolean },
    sendable: Pending[],
    replies: Promise<SmtpReply>[],
  ): Promise<{ rejections: number; deferred: boolean; stopped: boolean }> {
    let rejections = 0;
    let deferred = false;
    let stopAt = -1;
    const domain = sendable[0]!.rcpt.domain;
    for (let i = 0; i < sendable.length; i++) {
      const p = sendable[i]!;
      let reply: SmtpReply;
      try {
        reply = await replies[i]!;
      } catch (e) {
        // Dropped or timed out mid-transaction: this and the rest go to a fresh connection. Only
        // the recipient that was being answered spends a try; the rest were never asked.
        const f = facts(failureOf(e), mx);
        this.requeue(p, f);
        for (const q of sendable.slice(i + 1)) {
          q.last = f;
          this.queue.push(q);
        }
        return { rejections, deferred: false, stopped: true };
      }
      if (isDeferral(reply, false)) {
        deferred = true;
        void this.shared.deferred(providerOf(mx));
      }
      if (isRecipientLimit(reply) || reply.code === 421 || deferred) {
        // 452 4.5.3: a new transaction for the rest; 421: the server is closing the session; a
        // deferral: the rest wait for the provider's pause.
        // Replies still due for this pipeline are consumed by the connection in order.
        stopAt = i;
        for (const q of sendable.slice(i).reverse()) {
          q.attempts += reply.code === 421 && q === p ? 1 : 0;
          q.last = { kind: "reply", rcpt: "rate_limited", reply, mx };
          if (q.attempts >= MAX_ATTEMPTS) this.settle(q, q.last);
          else this.queue.unshift(q);
        }
        break;
      }
      const rcptClass: RcptClass = classifyRcpt(reply);
      this.opts.observer?.rcptSent?.(mx, rcptClass);
      if (p.rcpt.trace) {
        p.rcpt.trace.push(...mail.trace, `C: RCPT TO:<${p.rcpt.local}@${p.rcpt.domain}>`, `S: ${formatReply(reply)}`);
      }
      if (reply.code >= 500) rejections++;
      const f: SmtpFacts = { kind: "reply", rcpt: rcptClass, reply, mx };
      if (rcptClass === "greylisted") {
        const retried = this.retryGreylisted(p, reply, f);
        p.rcpt.onGreylisted?.();
        if (!retried) this.settle(p, f, p.readyAt);
        continue;
      }
      this.settle(p, f);
    }
    const seen = stopAt >= 0 ? stopAt : sendable.length;
    if (seen > 0) {
      const prev = this.rejectRate.get(domain) ?? rejections / seen;
      this.rejectRate.set(domain, (prev + rejections / seen) / 2);
    }
    return { rejections, deferred, stopped: stopAt >= 0 };
  }

  /** Ready chained candidates of this domain that fit the open transaction, up to `room`. */
  private takeChained(domain: string, utf8: boolean, room: number): Pending[] {
    if (room <= 0) return [];
    this.prune();
    const now = Date.now();
    const taken: Pending[] = [];
    let kept = 0;
    for (const p of this.queue) {
      const fits = p.rcpt.chained && p.rcpt.domain === domain && p.readyAt <= now && (utf8 || !p.rcpt.smtputf8);
      if (fits && taken.length < room) taken.push(p);
      else this.queue[kept++] = p;
    }
    this.queue.length = kept;
    return taken;
  }

  /** Queues a greylisted recipient again if the budget allows; false when it does not. */
  private retryGreylisted(p: Pending, reply: SmtpReply, f: SmtpFacts): boolean {
    const now = Date.now();
    p.firstGreylistAt ??= now;
    p.greylistDelayMs = p.greylistDelayMs
      ? Math.min(p.greylistDelayMs * 2, GREYLIST_MAX_RETRY_MS)
      : Math.min(greylistHintMs(reply) ?? GREYLIST_FIRST_RETRY_MS, GREYLIST_MAX_RETRY_MS);
    p.readyAt = now + p.greylistDelayMs;
    p.last = f;
    const budgetEnd = Math.min(p.firstGreylistAt + this.opts.greylistBudgetMs, this.deadline());
    if (p.readyAt > budgetEnd) return false;
    this.queue.push(p);
    return true;
  }
}
