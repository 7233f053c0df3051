// A scripted SMTP server on loopback for the probe's tests (no production code imports it): each
// command gets whatever its script answers (raw text, a hang-up, silence), so a test can play any
// server, hostile ones included, and count what the probe sent it. It speaks no TLS: a 220 to
// STARTTLS is followed by a hang-up at the client's first TLS bytes, as a broken TLS stack does.
import net from "node:net";

/** Raw reply text, CRLFs included ("" answers nothing: the client waits for its timeout), or a
 *  hang-up: "close" after writing `text`, "drop" at once. */
export type Answer = string | { text?: string; then: "close" | "drop" };

/** One connection as the server saw it; `state` is the script's own. */
export interface ScriptedSession {
  index: number;
  commands: string[];
  state: Record<string, number>;
}

export interface ScriptedServer {
  port: number;
  connections: number;
  sessions: ScriptedSession[];
  /** Bytes a `greeting` streamer managed to write, per connection. */
  written: number[];
  /** Every command received, in order, over all connections. */
  commands(): string[];
  /** Resolves once no connection is open. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface Script {
  /** Takes the connection over instead of the banner (servers that stream without end). */
  greeting?: (socket: net.Socket, written: (n: number) => void) => void;
  /** The greeting (default "220 scripted.test ESMTP"). */
  banner?: (session: ScriptedSession) => Answer;
  reply: (command: string, session: ScriptedSession) => Answer;
}

export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const state: ScriptedServer = {
    port: 0,
    connections: 0,
    sessions: [],
    written: [],
    commands: () => state.sessions.flatMap((s) => s.commands),
    idle: () => (sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => idlers.push(r))),
    close: async () => {},
  };
  let idlers: (() => void)[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      if (sockets.size > 0) return;
      const waiting = idlers;
      idlers = [];
      for (const r of waiting) r();
    });
    socket.on("error", () => {});
    const session: ScriptedSession = { index: state.connections++, commands: [], state: {} };
    state.sessions.push(session);
    state.written[session.index] = 0;
    if (script.greeting) return script.greeting(socket, (bytes) => (state.written[session.index]! += bytes));
    /** Writes an answer; false once the connection is over. */
    const answer = (a: Answer): boolean => {
      if (typeof a === "string") {
        if (a) socket.write(a);
        return true;
      }
      if (a.then === "drop") socket.destroy();
      else socket.end(a.text ?? "");
      return false;
    };
    if (!answer(script.banner ? script.banner(session) : "220 scripted.test ESMTP\r\n")) return;
    let buf = "";
    let tls = false;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      if (tls) return void socket.destroy();
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\r\n")) >= 0) {
        const command = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        session.commands.push(command);
        if (command === "QUIT") return void socket.end("221 bye\r\n");
        const a = script.reply(command, session);
        if (!answer(a)) return;
        if (command === "STARTTLS" && typeof a === "string" && a.startsWith("220")) tls = true;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return state;
}

