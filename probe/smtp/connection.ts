// One SMTP conversation: greeting, EHLO (HELO fallback), STARTTLS, MAIL, RCPT, RSET, QUIT.
// A queue of expected replies: every command written pushes one expectation; replies resolve
// them in order (RFC 2920 keeps replies in command order), and a reply nobody waits for is a
// protocol error. This client never sends DATA: it has no method that could.
import net from "node:net";
import tls from "node:tls";
import { addressScope, type AddressScope } from "../../core/netaddr.ts";
import type { SmtpReply } from "../../core/verdict.ts";
import { joinReply, parseReplyLine } from "./reply.ts";

/** Named per-phase timeouts, in milliseconds. Verification can't wait RFC 5321's minutes. */
export const PHASE_TIMEOUT_MS = {
  connect: 10_000,
  greeting: 20_000,
  ehlo: 10_000,
  starttls: 10_000,
  mail: 10_000,
  rcpt: 15_000,
  rset: 10_000,
  quit: 2_000,
} as const;
export type Phase = keyof typeof PHASE_TIMEOUT_MS;

/** Characters in one reply line; RFC 5321 §4.5.3.1.5 says 512: be lenient, but bounded. */
export const MAX_LINE_CHARS = 4096;
/**
 * What is kept of one reply: enough for any real server (Gmail's rejection is 3 lines, a big
 * EHLO 20). The rest is read and dropped until the reply's last line, so the conversation stays
 * in step while memory, the trace and the classifiers' work stay bounded (issue 10).
 */
export const MAX_REPLY_LINES = 64;
export const MAX_REPLY_CHARS = 2048;
/** Lines read into one reply before the server counts as broken: fail fast, not at the timeout. */
export const MAX_REPLY_LINES_READ = 10_000;

export type SessionError =
  | { kind: "timeout"; phase: Phase }
  | { kind: "refused"; detail: string } // nothing listening, host unreachable
  | { kind: "closed"; phase: Phase; reply: SmtpReply | null } // the server hung up (421 or not)
  | { kind: "rejected"; phase: Phase; reply: SmtpReply } // greeting/EHLO/MAIL refused
  | { kind: "protocol"; phase: Phase; detail: string; reply: SmtpReply | null }
  | { kind: "private_target"; address: string; scope: AddressScope }; // not connected (see connectTcp)

export class SessionFailure extends Error {
  constructor(readonly error: SessionError) {
    super(`${error.kind}${"phase" in error ? ` in ${error.phase}` : ""}`);
  }
}

export interface OpenOptions {
  host: string; // IP address
  port: number;
  /** The MX name, for TLS SNI and the trace. */
  mxName: string;
  helo: string;
  /** Upper bound for every phase; PHASE_TIMEOUT_MS values below it are kept. */
  timeoutMs: number;
  tls: boolean;
  /** Connect to loopback, private, link-local… addresses too (MXRAY_ALLOW_PRIVATE_TARGETS). */
  allowPrivate: boolean;
  trace?: string[];
  signal?: AbortSignal;
  /** Counts every command written, so a caller can hold a server to a number of commands
   *  whatever it answers (probe/smtp/scheduler.ts), opening commands included. */
  sent?: { commands: number };
}

interface Expectation {
  phase: Phase;
  resolve: (r: SmtpReply) => void;
  reject: (e: SessionFailure) => void;
}

export class SmtpConnection {
  readonly extensions = new Map<string, string>();
  private socket: net.Socket;
  private buffer = "";
  private pendingLines: string[] = [];
  private pendingCode = 0;
  /** Lines of the reply being read, and characters of its text: read, and kept. */
  private pendingCount = 0;
  private pendingRead = 0;
  private pendingChars = 0;
  private queue: Expectation[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** The running timer's length: a reply re-arms it with refresh() when the next phase's is the same. */
  private timerMs = 0;
  private dead: SessionFailure | null = null;
  /** A reply that arrived unasked, such as a 421 before the server hangs up. */
  unsolicited: SmtpReply | null = null;
  usedTls = false;

  private readonly onAbort = () => this.fail(new SessionFailure({ kind: "timeout", phase: this.queue[0]?.phase ?? "quit" }));

  private constructor(
    socket: net.Socket,
    private readonly opts: OpenOptions,
  ) {
    this.socket = socket;
    this.attach(socket);
    // The caller's budget ends every phase at once, whatever its own timeout.
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  get pipelining(): boolean {
    return this.extensions.has("PIPELINING");
  }
  get smtputf8(): boolean {
    return this.extensions.has("SMTPUTF8");
  }
  get alive(): boolean {
    return this.dead === null;
  }

  private timeoutFor(phase: Phase): number {
    return Math.min(PHASE_TIMEOUT_MS[phase], this.opts.timeoutMs);
  }

  /** Connects, reads the greeting, says EHLO (or HELO) and upgrades to TLS when offered. */
  static async open(opts: OpenOptions): Promise<SmtpConnection> {
    if (opts.signal?.aborted) throw new SessionFailure({ kind: "timeout", phase: "connect" });
    const socket = await connectTcp(opts);
    const conn = new SmtpConnection(socket, opts);
    try {
      const greeting = await conn.expect("greeting");
      if (greeting.code !== 220) {
        throw new SessionFailure({ kind: "rejected", phase: "greeting", reply: greeting });
      }
      await conn.hello();
      if (opts.tls && conn.extensions.has("STARTTLS")) await conn.startTls();
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  private async hello(): Promise<void> {
    this.extensions.clear();
    const ehlo = await this.command(`EHLO ${this.opts.helo}`, "ehlo");
    if (ehlo.code === 250) {
      for (const line of ehlo.message.split("\n").slice(1)) {
        const [name, ...rest] = line.trim().split(/\s+/);
        if (name) this.extensions.set(name.toUpperCase(), rest.join(" "));
      }
      return;
    }
    if (ehlo.code === 421) throw new SessionFailure({ kind: "closed", phase: "ehlo", reply: ehlo });
    // RFC 5321 §3.2: a server that does not know EHLO answers 500/502; fall back to HELO.
    const helo = await this.command(`HELO ${this.opts.helo}`, "ehlo");
    if (helo.code !== 250) throw new SessionFailure({ kind: "rejected", phase: "ehlo", reply: helo });
  }

  private async startTls(): Promise<void> {
    const reply = await this.command("STARTTLS", "starttls");
    if (reply.code !== 220) return; // offered but refused: carry on in plain text
    // RFC 3207 §6 / CVE-2011-0411: anything the server sent before TLS must be discarded;
    // bytes already buffered mean an injection attempt or a broken server.
    if (this.buffer.length > 0) {
      this.fail(new SessionFailure({ kind: "protocol", phase: "starttls", detail: "data after STARTTLS", reply: null }));
      throw this.dead;
    }
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        socket: plain,
        servername: net.isIP(this.opts.mxName) ? undefined : this.opts.mxName,
        // Opportunistic TLS (RFC 7435): encrypt when offered, do not authenticate the MX.
        rejectUnauthorized: false,
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SessionFailure({ kind: "timeout", phase: "starttls" }));
      }, this.timeoutFor("starttls"));
      s.once("secureConnect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(new SessionFailure({ kind: "protocol", phase: "starttls", detail: e.message, reply: null }));
      });
    });
    this.socket = secure;
    this.usedTls = true;
    this.attach(secure);
    this.log("*", "TLS established");
    await this.hello(); // RFC 3207 §4.2: forget what was learned before TLS
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding("utf8");
    socket.setNoDelay(true);
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (e) => this.onClose(e.message));
    socket.on("close", () => this.onClose("connection closed"));
  }

  private onData(chunk: string): void {
    // The buffer holds at most one unfinished line plus one chunk: a line that never ends is
    // refused once it passes the limit, however the server spreads it over packets.
    this.buffer += chunk;
    let start = 0;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n", start)) >= 0) {
      const end = nl > start && this.buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // CRLF or bare LF
      if (end - start > MAX_LINE_CHARS) return this.protocolError("reply line too long");
      const line = this.buffer.slice(start, end);
      start = nl + 1;
      this.onLine(line);
      if (this.dead) return;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > MAX_LINE_CHARS) this.protocolError("reply line too long");
  }

  private onLine(line: string): void {
    const parsed = parseReplyLine(line);
    if (!parsed || (this.pendingCount > 0 && parsed.code !== this.pendingCode)) {
      this.log("S", line.slice(0, 80));
      return this.protocolError(`malformed reply line: ${line.slice(0, 80)}`);
    }
    this.pendingCode = parsed.code;
    if (++this.pendingCount > MAX_REPLY_LINES_READ) return this.protocolError("reply too long");
    this.pendingRead += parsed.text.length;
    if (this.pendingCount <= MAX_REPLY_LINES && this.pendingChars < MAX_REPLY_CHARS) {
      const text = parsed.text.slice(0, MAX_REPLY_CHARS - this.pendingChars);
      this.pendingChars += text.length;
      this.pendingLines.push(text);
      if (this.logging) this.log("S", `${parsed.code}${parsed.final ? " " : "-"}${text}`);
    }
    if (!parsed.final) return;
    if (this.pendingCount > this.pendingLines.length || this.pendingRead > this.pendingChars) {
      this.log("*", `reply cut to ${this.pendingLines.length} of ${this.pendingCount} lines, ${this.pendingChars} of ${this.pendingRead} characters`);
    }
    // EHLO keywords sit on separate lines: keep the line breaks, joinReply flattens the rest.
    const reply =
      this.queue[0]?.phase === "ehlo" && parsed.code === 250
        ? { code: parsed.code, enhanced: null, message: this.pendingLines.join("\n") }
        : joinReply(parsed.code, this.pendingLines);
    this.pendingLines = [];
    this.pendingCount = 0;
    this.pendingRead = 0;
    this.pendingChars = 0;
    const head = this.queue.shift();
    if (!head) {
      this.unsolicited = reply;
      if (reply.code === 421) return; // the server is about to hang up; "close" follows
      return this.protocolError(`unexpected reply ${reply.code}`, reply);
    }
    head.resolve(reply);
    this.armTimer();
  }

  /** Times the reply at the head of the queue (called whenever the head changes). */
  private armTimer(): void {
    const head = this.queue[0];
    const ms = head ? this.timeoutFor(head.phase) : 0;
    if (this.timer && head && ms === this.timerMs) {
      // A pipeline's replies re-arm one timer instead of making one per reply.
      this.timer.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!head) return;
    this.timerMs = ms;
    this.timer = setTimeout(() => this.fail(new SessionFailure({ kind: "timeout", phase: this.queue[0]?.phase ?? head.phase })), ms);
  }

  private protocolError(detail: string, reply: SmtpReply | null = null): void {
    const phase = this.queue[0]?.phase ?? "rcpt";
    this.fail(new SessionFailure({ kind: "protocol", phase, detail, reply }));
  }

  private onClose(detail: string): void {
    if (this.dead) return;
    const phase = this.queue[0]?.phase ?? "quit";
    this.log("*", detail);
    this.fail(new SessionFailure({ kind: "closed", phase, reply: this.unsolicited }));
  }

  private fail(err: SessionFailure): void {
    if (!this.dead) this.dead = err;
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.queue;
    this.queue = [];
    for (const w of waiting) w.reject(err);
    this.socket.destroy();
  }

  private expect(phase: Phase): Promise<SmtpReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.queue.push({ phase, resolve, reject });
      if (this.queue.length === 1) this.armTimer();
    });
  }

  private tracing = true;

  /** The session's opening is in the trace; recipients record their own exchanges from here. */
  stopTracing(): void {
    this.tracing = false;
  }

  /** Whether lines are traced: a hot path asks before it builds a line. */
  private get logging(): boolean {
    return this.tracing && this.opts.trace != null;
  }

  private log(who: "C" | "S" | "*", line: string): void {
    if (this.logging) this.opts.trace!.push(`${who}: ${line}`);
  }

  /** Writes the lines in one packet (pipelined) and returns one promise per reply, in order. */
  send(lines: { line: string; phase: Phase }[]): Promise<SmtpReply>[] {
    if (this.dead) return lines.map(() => Promise.reject(this.dead));
    const replies = lines.map(({ phase }) => this.expect(phase));
    for (const { line } of lines) this.log("C", line);
    if (this.opts.sent) this.opts.sent.commands += lines.length;
    this.socket.write(lines.map((l) => `${l.line}\r\n`).join(""));
    // Callers may stop awaiting after a failure; a rejection nobody awaits must not crash.
    for (const r of replies) r.catch(() => {});
    return replies;
  }

  command(line: string, phase: Phase): Promise<SmtpReply> {
    return this.send([{ line, phase }])[0]!;
  }

  /** Says QUIT politely and closes, whatever the server answers. */
  async quit(): Promise<void> {
    if (this.dead) return;
    try {
      await this.command("QUIT", "quit");
    } catch {
      // The server may hang up before answering; that is fine.
    }
    this.destroy();
  }

  destroy(): void {
    if (!this.dead) this.dead = new SessionFailure({ kind: "closed", phase: "quit", reply: null });
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.queue.splice(0)) w.reject(this.dead);
    this.socket.destroy();
  }
}

function connectTcp(opts: OpenOptions): Promise<net.Socket> {
  // Anyone can point an MX (or a domain's A record) at the probe's own network: refuse what is
  // not public before any packet is sent. `host` is the IP literal that is connected to, so no
  // second DNS answer can swap it (rebinding); a host name is refused as "invalid" here.
  const scope = addressScope(opts.host);
  if (!opts.allowPrivate && scope !== "public") {
    opts.trace?.push(`*: not connecting to ${opts.mxName} [${opts.host}]: ${scope} address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)`);
    return Promise.reject(new SessionFailure({ kind: "private_target", address: opts.host, scope }));
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host, port: opts.port });
    opts.trace?.push(`*: connect ${opts.mxName} [${opts.host}]:${opts.port}`);
    const timeoutMs = Math.min(PHASE_TIMEOUT_MS.connect, opts.timeoutMs);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SessionFailure({ kind: "timeout", phase: "connect" }));
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new SessionFailure({ kind: "timeout", phase: "connect" }));
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve(socket);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      reject(new SessionFailure({ kind: "refused", detail: e.code ?? e.message }));
    });
  });
}
