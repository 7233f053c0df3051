// A scripted SMTP server for the simulated world: one per simulated MX host, each on its own
// loopback address. It behaves like the MTAs it imitates (Postfix error limits, Gmail's
// multi-line replies, greylisting, 421 after N recipients…) and models network latency: every
// reply leaves `rttMs` after the command it answers arrived, so pipelined commands share one
// round trip. DATA and BDAT are counted and refused.
import net from "node:net";
import { StringDecoder } from "node:string_decoder";
import tls from "node:tls";

export interface RcptContext {
  clientIp: string;
  from: string;
  now: number;
}

export interface HostScript {
  name: string;
  ip: string;
  /** down: nothing listens (connection refused); silent: accepts TCP, never greets. */
  mode: "up" | "down" | "silent";
  greeting?: string[];
  pipelining?: boolean;
  starttls?: boolean;
  requireTls?: boolean;
  smtputf8?: boolean;
  /** false: answers EHLO with 502, as pre-ESMTP servers do. */
  ehlo?: boolean;
  /** Reply lines for a RCPT to this host (domain routing is the script's business). */
  rcpt: (address: string, ctx: RcptContext) => string[];
  /** 421 and hang up on the RCPT after this many on one connection. */
  closeAfterRcpts?: number;
  /** 452 4.5.3 after this many recipients in one transaction. */
  maxRcptsPerTx?: number;
  /** Postfix-like: delay each reply by delayMs after `soft` errors, 421 after `hard`. */
  errorLimits?: { soft: number; hard: number; delayMs: number };
  /** Admission shared by a provider's hosts: a refused connection gets its greeting and the hang-up. */
  limiter?: ConnectionLimiter;
}

export interface ConnectionLimiter {
  /** A client connects: the refusing greeting, or null to serve it (then close() follows). */
  open(clientIp: string): string[] | null;
  close(clientIp: string): void;
}

export interface ProviderLimits {
  /** Connections one client may hold open at once. */
  maxOpen: number;
  /** Connections (deferred ones included) one client may open per sliding window. */
  maxPerWindow: number;
  windowMs: number;
}

export const DEFERRAL_GREETING = "421 4.7.0 Too many concurrent connections, try again later";

/**
 * A big provider's per-client connection limits across its MX hosts, as Yahoo and Outlook
 * enforce them: above either, the greeting is a 421 deferral. Attempts that were deferred count
 * towards the window too, so a client that keeps knocking stays deferred. `now` is the host's
 * clock (tests inject one).
 */
export function providerLimiter(limits: ProviderLimits, now: () => number = Date.now): ConnectionLimiter {
  const clients = new Map<string, { open: number; opened: number[] }>();
  return {
    open(clientIp) {
      let c = clients.get(clientIp);
      if (!c) clients.set(clientIp, (c = { open: 0, opened: [] }));
      const t = now();
      let expired = 0;
      while (expired < c.opened.length && c.opened[expired]! <= t - limits.windowMs) expired++;
      c.opened.splice(0, expired);
      c.opened.push(t);
      if (c.open >= limits.maxOpen || c.opened.length > limits.maxPerWindow) return [DEFERRAL_GREETING];
      c.open++;
      return null;
    },
    close(clientIp) {
      const c = clients.get(clientIp);
      if (c) c.open--;
    },
  };
}

// Postfix's replies, as the scripts answer RCPTs.
export const ACCEPT = ["250 2.1.5 Ok"];
export const UNKNOWN = (a: string) => [`550 5.1.1 <${a}>: Recipient address rejected: User unknown in virtual mailbox table`];
export const GREYLISTED = ["451 4.7.1 Greylisted, please try again later"];

/**
 * Postgrey's greylisting in front of `inner`: the first RCPT of each (client, sender, recipient)
 * triplet, and any before `delayMs` has passed since it, is deferred with `reply`.
 */
export function greylisting(delayMs: number, inner: (address: string) => string[], reply: (address: string) => string[]) {
  const seen = new Map<string, number>();
  return (address: string, ctx: RcptContext): string[] => {
    const key = `${ctx.clientIp}|${ctx.from}|${address.toLowerCase()}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, ctx.now);
    return first === undefined || ctx.now - first < delayMs ? reply(address) : inner(address);
  };
}

export interface HostStats {
  connections: number;
  rcpts: number;
  /** MAIL FROM commands accepted: SMTP transactions. */
  transactions: number;
  maxConcurrent: number;
  open: number;
  /** Connections answered with the limiter's refusal. */
  deferred: number;
}

export interface SmtpWorldCounters {
  dataCommands: number;
  transcript: string[];
}

/** Shared by every host: while `waiting` is set, replies queue up and their drains wait in it. */
export interface SmtpGate {
  waiting: Set<() => void> | null;
}

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
}

const TRANSCRIPT_LINES = 2000;

export function startHost(
  script: HostScript,
  port: number,
  rttMs: number,
  tlsMaterial: TlsMaterial,
  stats: HostStats,
  counters: SmtpWorldCounters,
  gate: SmtpGate = { waiting: null },
): Promise<net.Server> {
  const server = net.createServer((socket) => serve(socket));
  const sockets = new Set<net.Socket>();

  function log(line: string) {
    counters.transcript.push(`${script.name} ${line}`);
    if (counters.transcript.length > TRANSCRIPT_LINES) counters.transcript.splice(0, 500);
  }

  function serve(raw: net.Socket) {
    sockets.add(raw);
    stats.connections++;
    stats.open++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.open);
    let closed = false;
    raw.on("close", () => {
      closed = true;
      sockets.delete(raw);
      stats.open--;
    });
    raw.on("error", () => {});
    if (script.mode === "silent") return; // a banner that never comes
    const clientIp = raw.remoteAddress ?? "";
    const refusal = script.limiter?.open(clientIp) ?? null;
    if (refusal) stats.deferred++;
    else if (script.limiter) raw.on("close", () => script.limiter!.close(clientIp));

    let socket: net.Socket = raw;
    let lastSendAt = 0;
    let buffer = "";
    let paused = false; // while TLS is being set up
    const state = {
      greeted: false,
      secure: false,
      from: null as string | null,
      smtputf8Tx: false,
      txRcpts: 0,
      connRcpts: 0,
      errors: 0,
    };

    // Replies wait in one ordered queue drained by one timer: separate timers per reply could
    // fire out of order when they expire in the same millisecond.
    const outbox: { at: number; lines: string[]; then?: (() => void) | undefined }[] = [];
    let timer: NodeJS.Timeout | null = null;
    const drain = () => {
      timer = null;
      if (gate.waiting) {
        gate.waiting.add(drain);
        return;
      }
      while (outbox.length > 0 && outbox[0]!.at <= Date.now()) {
        const { lines, then } = outbox.shift()!;
        if (closed) return;
        for (const l of lines) log(`S: ${l}`);
        socket.write(lines.map((l) => `${l}\r\n`).join(""));
        then?.();
      }
      if (outbox.length > 0) timer = setTimeout(drain, outbox[0]!.at - Date.now());
    };
    /** Schedules a reply; `extraMs` models server-side slowness (tarpitting). */
    const reply = (arrival: number, lines: string[], extraMs = 0, then?: () => void) => {
      const at = Math.max(arrival + rttMs + extraMs, lastSendAt);
      lastSendAt = at;
      outbox.push({ at, lines, then });
      if (!timer) drain();
    };
    const hangUp = () => socket.end();

    if (refusal) return reply(Date.now(), refusal, 0, hangUp);
    reply(Date.now(), script.greeting ?? [`220 ${script.name} ESMTP world`]);

    const extensions = () => {
      const ext = [script.name, "SIZE 35882577", "8BITMIME", "ENHANCEDSTATUSCODES"];
      if (script.pipelining !== false) ext.push("PIPELINING");
      if (script.starttls && !state.secure) ext.push("STARTTLS");
      if (script.smtputf8) ext.push("SMTPUTF8");
      return ext.map((e, i) => `250${i === ext.length - 1 ? " " : "-"}${e}`);
    };

    const resetTx = () => {
      state.from = null;
      state.smtputf8Tx = false;
      state.txRcpts = 0;
    };

    const onLine = (line: string, arrival: number) => {
      log(`C: ${line}`);
      const verb = line.split(/[\s:]/)[0]!.toUpperCase();
      switch (verb) {
        case "EHLO":
          if (script.ehlo === false) return reply(arrival, ["502 5.5.2 Error: command not recognized"]);
          state.greeted = true;
          resetTx();
          return reply(arrival, extensions());
        case "HELO":
          state.greeted = true;
          resetTx();
          return reply(arrival, [`250 ${script.name}`]);
        case "STARTTLS": {
          if (!script.starttls || state.secure) return reply(arrival, ["502 5.5.1 STARTTLS not available"]);
          paused = true;
          return reply(arrival, ["220 2.0.0 Ready to start TLS"], 0, () => {
            const secure = new tls.TLSSocket(raw, { isServer: true, key: tlsMaterial.key, cert: tlsMaterial.cert });
            secure.on("error", () => raw.destroy());
            secure.setEncoding("utf8");
            secure.on("data", onData);
            socket = secure;
            state.secure = true;
            state.greeted = false;
            resetTx();
            buffer = "";
            paused = false;
          });
        }
        case "MAIL": {
          if (!state.greeted) return reply(arrival, ["503 5.5.1 Error: send HELO/EHLO first"]);
          if (script.requireTls && !state.secure) {
            return reply(arrival, ["530 5.7.0 Must issue a STARTTLS command first"]);
          }
          if (state.from !== null) return reply(arrival, ["503 5.5.1 Error: nested MAIL command"]);
          const m = /^MAIL FROM:\s*<([^>]*)>(.*)$/i.exec(line);
          if (!m) return reply(arrival, ["501 5.5.4 Syntax: MAIL FROM:<address>"]);
          const utf8 = /\bSMTPUTF8\b/i.test(m[2] ?? "");
          if (utf8 && !script.smtputf8) return reply(arrival, ["555 5.5.4 Unsupported option: SMTPUTF8"]);
          state.from = m[1]!;
          state.smtputf8Tx = utf8;
          stats.transactions++;
          return reply(arrival, ["250 2.1.0 Ok"]);
        }
        case "RCPT": {
          if (state.from === null) return reply(arrival, ["503 5.5.1 Error: need MAIL command"]);
          const m = /^RCPT TO:\s*<([^>]*)>/i.exec(line);
          if (!m) return reply(arrival, ["501 5.5.4 Syntax: RCPT TO:<address>"]);
          const address = m[1]!;
          stats.rcpts++;
          state.connRcpts++;
          if (script.closeAfterRcpts && state.connRcpts > script.closeAfterRcpts) {
            return reply(arrival, ["421 4.7.0 Too many recipients on this connection, closing"], 0, hangUp);
          }
          if (script.maxRcptsPerTx && state.txRcpts >= script.maxRcptsPerTx) {
            return reply(arrival, ["452 4.5.3 Error: too many recipients"]);
          }
          // RFC 6531 §3.5: a UTF-8 mailbox needs SMTPUTF8 on MAIL FROM.
          if (/[^\x00-\x7f]/.test(address) && !state.smtputf8Tx) {
            return reply(arrival, ["553 5.6.7 SMTPUTF8 not supported"]);
          }
          const lines = script.rcpt(address, { clientIp, from: state.from, now: Date.now() });
          const code = Number(lines[0]!.slice(0, 3));
          if (code < 400) state.txRcpts++;
          if (code >= 500) state.errors++;
          const limits = script.errorLimits;
          if (limits && state.errors >= limits.hard) {
            return reply(arrival, ["421 4.7.0 Error: too many errors"], limits.delayMs, hangUp);
          }
          const delay = limits && state.errors > limits.soft ? limits.delayMs : 0;
          return reply(arrival, lines, delay);
        }
        case "RSET":
          resetTx();
          return reply(arrival, ["250 2.0.0 Ok"]);
        case "NOOP":
          return reply(arrival, ["250 2.0.0 Ok"]);
        case "VRFY":
          return reply(arrival, ["252 2.0.0 Cannot VRFY user"]);
        case "QUIT":
          return reply(arrival, ["221 2.0.0 Bye"], 0, hangUp);
        case "DATA":
        case "BDAT":
          counters.dataCommands++;
          return reply(arrival, ["554 5.5.1 DATA not accepted in this world"]);
        default:
          state.errors++;
          return reply(arrival, ["502 5.5.2 Error: command not recognized"]);
      }
    };

    function onData(chunk: string) {
      const arrival = Date.now();
      buffer += chunk;
      let nl: number;
      while (!paused && (nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        onLine(line, arrival);
      }
    }
    // No setEncoding on the raw socket: STARTTLS hands its bytes to a TLSSocket.
    const decoder = new StringDecoder("utf8");
    raw.on("data", (chunk: Buffer) => {
      if (socket === raw) onData(decoder.write(chunk));
    });
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, script.ip, () => {
      server.off("error", reject);
      // Closing the world ends sessions that are still open.
      const close = server.close.bind(server);
      server.close = ((cb?: (err?: Error) => void) => {
        for (const s of sockets) s.destroy();
        return close(cb);
      }) as typeof server.close;
      resolve(server);
    });
  });
}
