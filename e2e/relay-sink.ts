// A local relay sink (issue 23): a real SMTP server on loopback that behaves like a customer's
// submission relay (SES, Postmark, their Postfix on 587): STARTTLS before AUTH, AUTH before MAIL,
// and a "250 … queued as <id>" for each message. It keeps what it receives and shows it on a
// small inbox page, so `npm start` sends a campaign end to end with no internet, and tests and
// benchmarks send only here. Scriptable per recipient (refuse, defer, cut the connection after
// DATA) and per user (refuse AUTH), and slow to answer on demand (`hold`: a message is kept, its
// answer waits until `release`), to test failover and "no two copies".
//
// Its certificate (e2e/relay-sink/cert.pem, for 127.0.0.1, localhost, relay.mxray.local) is
// signed by a test CA (e2e/relay-sink/ca.pem) whose key was thrown away; probes trust the CA
// through MXRAY_RELAY_CA_FILE. Loopback only; test material, never a real secret.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer, type SMTPServerSession } from "smtp-server";

export const RELAY_SINK_DIR = join(import.meta.dirname, "relay-sink");
export const RELAY_SINK_CA_FILE = join(RELAY_SINK_DIR, "ca.pem");

export interface SunkMessage {
  id: number;
  /** The queue id answered to the client ("250 2.0.0 Ok: queued as <queueId>"). */
  queueId: string;
  /** Which connection carried it (1, 2, …): pooled sending shows many messages per connection. */
  connection: number;
  user: string | null;
  mailFrom: string;
  rcptTo: string[];
  raw: string;
  receivedAt: number;
}

/** What the sink does with a recipient: take it, or answer RCPT with a code, or cut after DATA. */
export type RecipientScript = { rcpt: number; message: string } | { cutAfterData: true } | { dataReply: number; message: string };

export interface RelaySinkOptions {
  /** AUTH users (username → password); a wrong password is 535 5.7.8. */
  users?: Record<string, string>;
  /** "starttls" (587-style, the default) or "tls" (implicit TLS, 465-style) or "none" (no TLS, AUTH optional). */
  security?: "starttls" | "tls" | "none";
  /** Per recipient address (lower-case); unscripted ones are accepted. */
  script?: (rcpt: string) => RecipientScript | null;
  port?: number;
  /** Serve the inbox page on this port (0: any free port; undefined: no page). */
  inboxPort?: number;
  clock?: () => number;
}

export interface RelaySink {
  host: string;
  port: number;
  /** The inbox page (and /messages as JSON, /messages/{n}/raw and /messages/{n}/text), when asked for. */
  inboxUrl: string | null;
  caFile: string;
  messages: SunkMessage[];
  /** Connections opened so far, and AUTH attempts refused. */
  stats(): { connections: number; authFailures: number; messages: number };
  /** Resolves once `n` messages have arrived (tests: no sleeps). */
  waitForMessages(n: number, timeoutMs?: number): Promise<SunkMessage[]>;
  setScript(script: RelaySinkOptions["script"]): void;
  /**
   * From now on each message is kept (it is in `messages`: the relay has it) but its "250 … queued"
   * is parked until `release`: a relay slow to answer, so a client can die between the two.
   */
  hold(): void;
  /** Answers every parked message (to a client that is still there) and parks no more. */
  release(): void;
  /** Resolves once `n` answers are parked at the same time (tests: no sleeps). */
  waitForParked(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

interface Session extends SMTPServerSession {
  connectionNumber?: number;
}

export async function startRelaySink(opts: RelaySinkOptions = {}): Promise<RelaySink> {
  const security = opts.security ?? "starttls";
  const users = opts.users ?? { sink: "sink-password" };
  const clock = opts.clock ?? Date.now;
  let script = opts.script ?? (() => null);
  const messages: SunkMessage[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  let holding = false;
  const parked: (() => void)[] = [];
  let connections = 0;
  let authFailures = 0;
  const secureParts = { key: readFileSync(join(RELAY_SINK_DIR, "key.pem")), cert: readFileSync(join(RELAY_SINK_DIR, "cert.pem")) };

  const server: SMTPServer = new SMTPServer({
    ...secureParts,
    secure: security === "tls",
    // "none" is a sink without TLS (e.g. Postfix on localhost): AUTH optional, as such relays are.
    hideSTARTTLS: security === "none",
    authOptional: security === "none",
    authMethods: ["PLAIN", "LOGIN"],
    // Without TLS a client may not AUTH (smtp-server answers 538): a relay never takes a password in clear.
    allowInsecureAuth: false,
    banner: "mxray relay sink",
    size: 10 * 1024 * 1024,
    logger: false,
    onConnect(session: Session, callback) {
      session.connectionNumber = ++connections;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username && users[auth.username] !== undefined && users[auth.username] === auth.password) return callback(null, { user: auth.username });
      authFailures++;
      const err = Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 });
      callback(err);
    },
    onRcptTo(address, _session, callback) {
      const what = script(address.address.toLowerCase());
      if (what && "rcpt" in what) return callback(Object.assign(new Error(what.message), { responseCode: what.rcpt }));
      callback();
    },
    onData(stream, session: Session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const scripted = rcptTo.map((r) => script(r.toLowerCase())).find((s) => s && !("rcpt" in s)) ?? null;
        if (scripted && "cutAfterData" in scripted) {
          // The message arrived but its answer never leaves: the client cannot know (unknown outcome).
          // smtp-server keeps its connections in a set; the socket is the only way to hang up mid-reply.
          for (const conn of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
            if (conn.id === session.id) conn._socket.destroy();
          }
          return;
        }
        if (scripted && "dataReply" in scripted) return callback(Object.assign(new Error(scripted.message), { responseCode: scripted.dataReply }));
        const queueId = randomBytes(6).toString("hex").toUpperCase();
        messages.push({
          id: messages.length + 1,
          queueId,
          connection: session.connectionNumber ?? 0,
          user: typeof session.user === "string" ? session.user : null,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo,
          raw: Buffer.concat(chunks).toString("utf8"),
          receivedAt: clock(),
        });
        const answer = () => callback(null, `2.0.0 Ok: queued as ${queueId}`);
        if (holding) parked.push(answer);
        wake();
        if (!holding) answer();
      });
    },
  });
  server.on("error", () => {}); // a client's broken connection is the client's problem

  await new Promise<void>((resolve, reject) => {
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
    server.server.once("error", reject);
  });
  const port = (server.server.address() as { port: number }).port;

  let inbox: HttpServer | null = null;
  let inboxUrl: string | null = null;
  if (opts.inboxPort !== undefined) {
    inbox = createHttpServer(async (req, res) => {
      const url = new URL(req.url ?? "/", "http://sink");
      const one = /^\/messages\/(\d+)\/(raw|text)$/.exec(url.pathname);
      if (one) {
        const m = messages[Number(one[1]) - 1];
        res.writeHead(m ? 200 : 404, { "content-type": "text/plain; charset=utf-8" });
        if (!m) return res.end("no such message");
        // text: the plain-text part decoded (quoted-printable folds long links in the raw message).
        return res.end(one[2] === "raw" ? m.raw : ((await simpleParser(m.raw).catch(() => null))?.text ?? ""));
      }
      if (url.pathname === "/messages") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(messages.map(({ raw: r, ...m }) => ({ ...m, subject: headerOf(r, "subject") }))));
      }
      if (url.pathname !== "/") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(inboxPage(messages, `127.0.0.1:${port}`));
    });
    await new Promise<void>((resolve) => inbox!.listen(opts.inboxPort, "127.0.0.1", () => resolve()));
    inboxUrl = `http://127.0.0.1:${(inbox.address() as { port: number }).port}`;
  }

  /** Resolves when `done()` holds, checked at each message; rejects after `timeoutMs` saying `where()`. */
  function until(done: () => boolean, where: () => string, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`relay sink: ${where()} after ${timeoutMs} ms`))), timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  }

  return {
    host: "127.0.0.1",
    port,
    inboxUrl,
    caFile: RELAY_SINK_CA_FILE,
    messages,
    stats: () => ({ connections, authFailures, messages: messages.length }),
    setScript: (s) => void (script = s ?? (() => null)),
    waitForMessages: (n, timeoutMs = 20_000) => until(() => messages.length >= n, () => `${messages.length} of ${n} messages`, timeoutMs).then(() => messages.slice(0, n)),
    hold: () => void (holding = true),
    release() {
      holding = false;
      for (const answer of parked.splice(0)) answer();
    },
    waitForParked: (n, timeoutMs = 20_000) => until(() => parked.length >= n, () => `${parked.length} of ${n} answers parked`, timeoutMs),
    async stop() {
      // A parked answer would keep its connection, and so the server, open.
      holding = false;
      for (const answer of parked.splice(0)) answer();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (inbox) await new Promise<void>((resolve) => inbox!.close(() => resolve()));
    },
  };
}

/** A header's unfolded value from a raw message (enough for the inbox's subject column). */
export function headerOf(raw: string, name: string): string | null {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? "";
  const m = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, "im").exec(head);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, " ").trim() : null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function inboxPage(messages: SunkMessage[], relay: string): string {
  const rows = [...messages]
    .reverse()
    .slice(0, 500)
    .map(
      (m) =>
        `<tr><td>${m.id}</td><td>${new Date(m.receivedAt).toISOString()}</td><td>${escapeHtml(m.rcptTo.join(", "))}</td><td>${escapeHtml(headerOf(m.raw, "subject") ?? "")}</td><td>${escapeHtml(m.mailFrom)}</td><td>${m.queueId}</td><td><a href="/messages/${m.id}/text">text</a> <a href="/messages/${m.id}/raw">raw</a></td></tr>`,
    )
    .join("");
  return `<!doctype html><meta charset="utf-8"><title>mxray relay sink</title><style>body{font:14px system-ui;margin:2rem}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}</style>
<h1>Relay sink inbox</h1><p>What the local relay at ${escapeHtml(relay)} received: ${messages.length} message(s). Nothing here left this machine.</p>
<table><thead><tr><th>#</th><th>received</th><th>to</th><th>subject</th><th>return-path</th><th>queue id</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}
