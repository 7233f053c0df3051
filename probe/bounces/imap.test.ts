// A mailbox's test against the real Dovecot (implicit TLS, STARTTLS, plain; a wrong password, a
// missing folder, an untrusted certificate, a private address), and every session against hostile
// servers: one that never speaks, one that drips its greeting, one that stalls after the login.
// Each ends within its bounds.
import { readFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailboxTestAnswerSchema } from "../../core/contracts.ts";
import { startDovecot, type RunningDovecot } from "../../e2e/dovecot.ts";
import { testMailbox } from "./imap.ts";
import { readMailbox } from "./monitor.ts";
import { bounceTo, fakeEdge, imapOptions, mailboxWire, stubParse } from "./testing.ts";

let dovecot: RunningDovecot;
let ca: string;

beforeAll(async () => {
  dovecot = await startDovecot({ users: { erin: "pw-erin" } });
  ca = readFileSync(dovecot.caFile, "utf8");
});
afterAll(async () => {
  await dovecot?.stop();
});

describe("testMailbox against Dovecot", () => {
  it("logs in over implicit TLS, STARTTLS and plain IMAP, and opens the folder read-only", async () => {
    await dovecot.deliver("erin", bounceTo("t1"));
    const before = await dovecot.messages("erin");
    for (const security of ["tls", "starttls", "none"] as const) {
      const answer = MailboxTestAnswerSchema.parse(await testMailbox(await mailboxWire(dovecot, "erin", { security }), imapOptions(ca), 10_000));
      expect(answer).toMatchObject({ ok: true, stage: "done", messages: before.length });
      expect(answer.detail.includes("over TLS")).toBe(security !== "none");
    }
    // EXAMINE: nothing read, no flag changed (the message is still unread).
    expect(await dovecot.messages("erin")).toEqual(before);
    expect(before[0]!.flags).toEqual([]);
  });

  it("checks the certificate against the host's name when it is one", async () => {
    const answer = await testMailbox(await mailboxWire(dovecot, "erin", { security: "tls", host: "localhost" }), imapOptions(ca), 10_000);
    expect(answer).toMatchObject({ ok: true, stage: "done" });
  });

  it("names the stage that failed: auth for a wrong password, folder for a missing one, tls for a certificate nobody vouches for", async () => {
    for (const security of ["tls", "starttls"] as const) {
      const wrong = await testMailbox(await mailboxWire(dovecot, "erin", { security, clearPassword: "wrong" }), imapOptions(ca), 10_000);
      expect(wrong).toMatchObject({ ok: false, stage: "auth", messages: null });
      expect(wrong.detail).toContain("erin was refused");
      const untrusted = await testMailbox(await mailboxWire(dovecot, "erin", { security }), imapOptions(ca, { extraCa: [] }), 10_000);
      expect(untrusted).toMatchObject({ ok: false, stage: "tls" });
    }
    const missing = await testMailbox(await mailboxWire(dovecot, "erin", { folder: "Nowhere" }), imapOptions(ca), 10_000);
    expect(missing).toMatchObject({ ok: false, stage: "folder" });
    const unsealed = await testMailbox({ ...(await mailboxWire(dovecot, "erin")), password: "v1.probe.AAAA.BBBB" }, imapOptions(ca), 10_000);
    expect(unsealed).toMatchObject({ ok: false, stage: "auth" });
    expect(unsealed.detail).toContain("does not open here");
  });

  it("refuses a loopback or private host unless MXRAY_ALLOW_PRIVATE_TARGETS allows it", async () => {
    const answer = await testMailbox(await mailboxWire(dovecot, "erin"), imapOptions(ca, { allowPrivateTargets: false }), 10_000);
    expect(answer).toMatchObject({ ok: false, stage: "connect" });
    expect(answer.detail).toBe(`not connecting to 127.0.0.1 [127.0.0.1]: loopback address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)`);
  });
});

/** What a hostile server does once a client connects. */
type Behaviour = "silent" | "drip_greeting" | "stall_select" | "no_starttls";

/** A tiny IMAP server that misbehaves on purpose; every socket is ended on close. */
async function hostileServer(behaviour: Behaviour) {
  const sockets = new Set<net.Socket>();
  const commands: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const drip = (socket: net.Socket, text: string) => {
    let i = 0;
    const t = setInterval(() => socket.write(text[i++ % text.length]!), 20);
    timers.add(t);
    socket.once("close", () => clearInterval(t));
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
    if (behaviour === "silent") return;
    if (behaviour === "drip_greeting") return drip(socket, "* OK still saying hello ");
    socket.write("* OK [CAPABILITY IMAP4rev1] hostile test server\r\n");
    let buffer = "";
    socket.on("data", (d) => {
      buffer += d.toString("latin1");
      for (let at = buffer.indexOf("\r\n"); at >= 0; at = buffer.indexOf("\r\n")) {
        const [tag, command = ""] = buffer.slice(0, at).split(" ");
        buffer = buffer.slice(at + 2);
        const verb = command.toUpperCase();
        commands.push(verb);
        if (verb === "SELECT" || verb === "EXAMINE") drip(socket, "* 1 EXISTS ");
        else if (verb === "CAPABILITY") socket.write(`* CAPABILITY IMAP4rev1\r\n${tag} OK done\r\n`);
        else if (verb === "LOGOUT") socket.end(`* BYE\r\n${tag} OK bye\r\n`);
        else socket.write(`${tag} OK done\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: { host: "127.0.0.1" as const, port, tlsPort: port, users: { mallory: "pw" } },
    connections: () => sockets.size,
    commands,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe("sessions against hostile servers end within their bounds", () => {
  // Short where the server stalls, roomy where it answers (a loaded machine must not fail a step that works).
  const quickGreeting = { connectTimeoutMs: 5_000, greetingTimeoutMs: 300, commandTimeoutMs: 5_000 };
  const quickCommands = { connectTimeoutMs: 5_000, greetingTimeoutMs: 5_000, commandTimeoutMs: 1_000 };
  const slowCommands = { connectTimeoutMs: 5_000, greetingTimeoutMs: 5_000, commandTimeoutMs: 60_000 };

  it("a server that never greets, or drips its greeting, fails the test at connect", async () => {
    for (const behaviour of ["silent", "drip_greeting"] as const) {
      const server = await hostileServer(behaviour);
      try {
        const answer = await testMailbox(await mailboxWire(server.endpoint, "mallory"), imapOptions(ca, quickGreeting), 10_000);
        expect(answer).toMatchObject({ ok: false, stage: "connect" });
        expect(answer.detail).toMatch(/greeting/i);
        // A read's own deadline ends it too, whatever the step bounds allow.
        const edge = fakeEdge();
        const read = await readMailbox(await mailboxWire(server.endpoint, "mallory"), { imap: imapOptions(ca, slowCommands), parse: stubParse, report: edge.report, readTimeoutMs: 500 });
        expect(read.error).toMatch(/^connect: connecting to 127\.0\.0\.1:\d+: the read took longer than 500 ms$/);
        expect(edge.reports).toMatchObject([{ messages: [], error: read.error }]);
      } finally {
        await server.close();
      }
    }
  });

  it("a STARTTLS mailbox on a server that does not offer it fails at tls, before any password is sent", async () => {
    const server = await hostileServer("no_starttls");
    try {
      const answer = await testMailbox(await mailboxWire(server.endpoint, "mallory", { security: "starttls" }), imapOptions(ca, quickCommands), 10_000);
      expect(answer).toMatchObject({ ok: false, stage: "tls" });
      expect(answer.detail).toContain("STARTTLS");
      expect(server.commands.filter((c) => c === "LOGIN" || c === "AUTHENTICATE")).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("a read stalled in SELECT ends at the command's bound, or at the whole read's, and reports why", async () => {
    const server = await hostileServer("stall_select");
    try {
      const edge = fakeEdge();
      const stalled = await readMailbox(await mailboxWire(server.endpoint, "mallory"), { imap: imapOptions(ca, quickCommands), parse: stubParse, report: edge.report });
      expect(stalled).toMatchObject({ status: "error", seen: 0 });
      expect(stalled.error).toBe("folder: INBOX does not open: SELECT INBOX: no answer within 1000 ms");
      expect(edge.reports[0]).toMatchObject({ messages: [], error: stalled.error });

      const whole = await readMailbox(await mailboxWire(server.endpoint, "mallory"), { imap: imapOptions(ca, slowCommands), parse: stubParse, report: edge.report, readTimeoutMs: 2_000 });
      expect(whole.error).toBe("folder: INBOX does not open: SELECT INBOX: the read took longer than 2000 ms");

      const test = await testMailbox(await mailboxWire(server.endpoint, "mallory"), imapOptions(ca, slowCommands), 2_000);
      expect(test).toMatchObject({ ok: false, stage: "folder" });
      expect(test.detail).toContain("budget of 2000 ms");
      // Every session closed its connection.
      await expect.poll(() => server.connections()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
