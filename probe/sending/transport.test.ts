// Relay pools against the loopback relay sink (e2e/relay-sink.ts: STARTTLS before AUTH, a test
// CA, scripted refusals and cuts), and how every relay answer is sorted.
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RelayWire } from "../../core/contracts.ts";
import { probeTransportKey, seal } from "../../core/secrets.ts";
import { RELAY_SINK_CA_FILE, startRelaySink, type RelaySink } from "../../e2e/relay-sink.ts";
import { classifyError, createRelayPool, parseReply, queueIdOf, testRelay, type RelayTransportOptions } from "./transport.ts";

const SECRET = "probe-secret-for-transport-tests";
const CA = readFileSync(RELAY_SINK_CA_FILE, "utf8");

let sink: RelaySink;
beforeAll(async () => {
  sink = await startRelaySink({ users: { sink: "sink-password" } });
});
afterAll(async () => {
  await sink?.stop();
});

const sealed = async (relayId: string, password: string) => seal(await probeTransportKey(SECRET), { purpose: "relay.password", recordId: relayId }, password);

async function relayOf(over: Partial<RelayWire> = {}, password = "sink-password"): Promise<RelayWire> {
  const id = over.id ?? "rly_sink";
  return { id, host: sink.host, port: sink.port, security: "starttls", username: "sink", password: await sealed(id, password), max_per_minute: 1_000, max_per_day: 100_000, ...over };
}

const options = (over: Partial<RelayTransportOptions> = {}): RelayTransportOptions => ({
  probeSecret: SECRET,
  allowPrivateTargets: true,
  resolveHost: async (name) => (["relay.mxray.local", "localhost", "wrong-name.test"].includes(name) ? ["127.0.0.1"] : Promise.reject(new Error("NXDOMAIN"))),
  helo: "probe.mxray.test",
  extraCa: [CA],
  ...over,
});

const message = (to: string, n = 0) => ({ from: "news@sender.test", to, subject: `m${n}`, text: `message ${n}`, messageId: `<${n}.${to}>`, envelope: { from: `bounce+t${n}@bounce.sender.test`, to: [to] } });

describe("a relay pool", () => {
  it("carries many messages on few connections, each accepted with the relay's queue id", async () => {
    const before = sink.stats();
    const pool = createRelayPool(await relayOf(), options({ connections: 3 }));
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.send(message(`r${i}@example.test`, i))));
    pool.close();
    expect(outcomes.every((o) => o.kind === "accepted")).toBe(true);
    const got = sink.messages.slice(before.messages);
    expect(got).toHaveLength(30);
    expect(sink.stats().connections - before.connections).toBeLessThanOrEqual(3);
    expect(new Set(got.map((m) => m.connection)).size).toBeLessThanOrEqual(3);
    // Each outcome names the queue id the sink gave that very message.
    const byRcpt = new Map(got.map((m) => [m.rcptTo[0], m]));
    outcomes.forEach((o, i) => {
      if (o.kind !== "accepted") throw new Error(o.kind);
      expect(o.queueId).toBe(byRcpt.get(`r${i}@example.test`)!.queueId);
      expect(o.reply).toMatchObject({ code: 250, enhanced: "2.0.0" });
    });
    // Authenticated after STARTTLS, MAIL FROM as asked.
    expect(got.every((m) => m.user === "sink" && m.mailFrom.startsWith("bounce+t"))).toBe(true);
  });

  it("sorts refusals, deferrals and a cut after DATA", async () => {
    sink.setScript((rcpt) => {
      if (rcpt === "gone@example.test") return { rcpt: 550, message: "5.1.1 No such user" };
      if (rcpt === "later@example.test") return { rcpt: 451, message: "4.7.1 Try again later" };
      if (rcpt === "spam@example.test") return { dataReply: 554, message: "5.7.1 Message rejected as spam" };
      if (rcpt === "busy@example.test") return { dataReply: 452, message: "4.3.1 Insufficient system storage" };
      if (rcpt === "cut@example.test") return { cutAfterData: true };
      return null;
    });
    try {
      const pool = createRelayPool(await relayOf(), options({ connections: 2 }));
      const send = (to: string) => pool.send(message(to));
      const [gone, later, spam, busy, cut, fine] = await Promise.all(["gone", "later", "spam", "busy", "cut", "fine"].map((l) => send(`${l}@example.test`)));
      pool.close();
      expect(gone).toMatchObject({ kind: "refused", reply: { code: 550, enhanced: "5.1.1" } });
      expect(later).toMatchObject({ kind: "deferred", reply: { code: 451, enhanced: "4.7.1" } });
      expect(spam).toMatchObject({ kind: "refused", reply: { code: 554, enhanced: "5.7.1", message: "Message rejected as spam" } });
      expect(busy).toMatchObject({ kind: "deferred", reply: { code: 452 } });
      expect(cut).toMatchObject({ kind: "lost", reply: null });
      expect(fine!.kind).toBe("accepted");
    } finally {
      sink.setScript(undefined);
    }
  });

  it("reports a wrong password as an authentication failure", async () => {
    const pool = createRelayPool(await relayOf({}, "not-the-password"), options());
    const outcome = await pool.send(message("a@example.test"));
    pool.close();
    expect(outcome).toMatchObject({ kind: "auth_failed", reply: { code: 535, enhanced: "5.7.8" } });
  });

  it("reports a refused connection, a password sealed for another relay, and a private address when they are not allowed", async () => {
    const closed = createRelayPool(await relayOf({ port: 9 }), options());
    expect(await closed.send(message("a@example.test"))).toMatchObject({ kind: "connection_failed", reply: null });
    closed.close();

    const moved = { ...(await relayOf()), id: "rly_other" }; // its password was sealed for rly_sink
    const pool = createRelayPool(moved, options());
    expect(await pool.send(message("a@example.test"))).toMatchObject({ kind: "auth_failed", detail: expect.stringContaining("does not open") });
    pool.close();

    const before = sink.stats().connections;
    const guarded = createRelayPool(await relayOf({ host: "relay.mxray.local" }), options({ allowPrivateTargets: false }));
    expect(await guarded.send(message("a@example.test"))).toMatchObject({ kind: "connection_failed", detail: expect.stringContaining("loopback address") });
    guarded.close();
    expect(sink.stats().connections).toBe(before); // refused before any packet
  });

  it("connects to the checked address and checks the certificate against the relay's name", async () => {
    const named = createRelayPool(await relayOf({ host: "relay.mxray.local" }), options());
    expect((await named.send(message("a@example.test"))).kind).toBe("accepted");
    named.close();
    // The same address under a name the certificate does not hold: TLS refuses it, nothing is sent.
    const wrong = createRelayPool(await relayOf({ host: "wrong-name.test" }), options());
    expect(await wrong.send(message("a@example.test"))).toMatchObject({ kind: "connection_failed", detail: expect.stringMatching(/altnames|certificate/i) });
    wrong.close();
    // Without the test CA the sink's certificate is not trusted.
    const untrusted = createRelayPool(await relayOf(), options({ extraCa: [] }));
    expect((await untrusted.send(message("a@example.test"))).kind).toBe("connection_failed");
    untrusted.close();
  });

  it("knows a connection cut before DATA from one cut after it: the first was never handed over", async () => {
    // A plain relay that hangs up when asked for a recipient (no TLS, no AUTH: a LAN relay).
    const rude = createServer((socket) => {
      socket.write("220 rude.test ESMTP\r\n");
      socket.on("data", (d) => {
        const line = d.toString();
        if (/^EHLO/i.test(line)) socket.write("250-rude.test\r\n250 8BITMIME\r\n");
        else if (/^MAIL/i.test(line)) socket.write("250 2.1.0 Ok\r\n");
        else socket.destroy();
      });
    });
    await new Promise<void>((r) => rude.listen(0, "127.0.0.1", () => r()));
    try {
      const relay = { ...(await relayOf()), port: (rude.address() as AddressInfo).port, security: "none" as const, username: null, password: null };
      const pool = createRelayPool(relay, options());
      expect(await pool.send(message("a@example.test"))).toMatchObject({ kind: "connection_failed", reply: null });
      pool.close();
    } finally {
      rude.close();
    }
  });

  it("gives up on a message the relay never answers, within its timeout, as lost once it was handed over", async () => {
    const silent = new SMTPServer({
      authOptional: true,
      disabledCommands: ["AUTH", "STARTTLS"],
      logger: false,
      onData(stream) {
        stream.resume(); // takes the message and never answers it
      },
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.server.address() as AddressInfo).port;
    try {
      const pool = createRelayPool({ ...(await relayOf()), port, security: "none", username: null, password: null }, options({ messageTimeoutMs: 2_000 }));
      expect(await pool.send(message("a@example.test"))).toMatchObject({ kind: "lost", reply: null });
      pool.close();
    } finally {
      silent.close();
    }
  });
});

describe("testRelay", () => {
  it("goes through connect, TLS and AUTH, and sends nothing", async () => {
    const before = sink.stats().messages;
    expect(await testRelay(await relayOf(), options(), 10_000)).toMatchObject({ ok: true, stage: "done" });
    expect(sink.stats().messages).toBe(before);
  });

  it("says where it stopped: connect, tls or auth", async () => {
    expect(await testRelay(await relayOf({ port: 9 }), options(), 10_000)).toMatchObject({ ok: false, stage: "connect" });
    expect(await testRelay(await relayOf(), options({ extraCa: [] }), 10_000)).toMatchObject({ ok: false, stage: "tls" });
    expect(await testRelay(await relayOf({}, "wrong"), options(), 10_000)).toMatchObject({ ok: false, stage: "auth", reply: { code: 535 } });
  });
});

describe("reading relay replies", () => {
  it("finds the queue id in the replies relays give", () => {
    const id = (text: string) => queueIdOf(parseReply(text)!);
    expect(id("250 2.0.0 Ok: queued as 4BxYz")).toBe("4BxYz");
    expect(id("250 Ok <0100018c1234abcd-5678@email.amazonses.com>")).toBe("0100018c1234abcd-5678@email.amazonses.com");
    expect(id("250 Ok 0100018b5c3c0a4f-9a1e4c1b-2d3e-4f5a-8b9c-0d1e2f3a4b5c-000000")).toBe("0100018b5c3c0a4f-9a1e4c1b-2d3e-4f5a-8b9c-0d1e2f3a4b5c-000000");
    expect(id("250 2.0.0 OK <AM0PR01MB1234.eurprd01.prod.outlook.com> [Hostname=AM0PR01MB1234]")).toBe("AM0PR01MB1234.eurprd01.prod.outlook.com");
    expect(id("250 2.0.0 Message accepted for delivery")).toBe("Message accepted for delivery");
  });

  it("sorts errors by the reply and the command it answered", () => {
    const err = (response: string, command: string, code = "EENVELOPE") => ({ code, response, responseCode: Number(response.slice(0, 3)), command, message: response });
    expect(classifyError(err("553 5.7.1 Sender address rejected: not owned by user", "MAIL FROM"), false).kind).toBe("sender_refused");
    expect(classifyError(err("451 4.3.0 Mail server temporarily rejected message", "MAIL FROM"), false).kind).toBe("deferred");
    expect(classifyError(err("550 5.1.1 User unknown", "RCPT TO"), false).kind).toBe("refused");
    expect(classifyError(err("554 5.7.1 Rejected", "DATA", "EMESSAGE"), true).kind).toBe("refused");
    expect(classifyError(err("454 4.7.0 Temporary authentication failure", "AUTH PLAIN", "EAUTH"), false).kind).toBe("deferred");
    expect(classifyError(err("535 5.7.8 Bad credentials", "AUTH PLAIN", "EAUTH"), false).kind).toBe("auth_failed");
    expect(classifyError(err("530 5.7.0 Authentication required", "MAIL FROM"), false).kind).toBe("sender_refused");
    expect(classifyError(err("554 5.7.1 You are not allowed to connect", "CONN", "EPROTOCOL"), false).kind).toBe("connection_failed");
    expect(classifyError({ code: "ECONNECTION", command: "CONN", message: "Connection closed unexpectedly" }, false).kind).toBe("connection_failed");
    expect(classifyError({ code: "ECONNECTION", command: "CONN", message: "Connection closed unexpectedly" }, true).kind).toBe("lost");
    expect(classifyError({ code: "EABORT", message: "aborted" }, true).kind).toBe("lost");
  });
});
