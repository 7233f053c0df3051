// Interoperability with a widely used SMTP server implementation that is not ours:
// nodemailer's smtp-server (STARTTLS with its own certificate, PIPELINING, SMTPUTF8, its own
// reply texts), reached through the world's DNS server with a zone of our own.
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Result } from "../core/contracts.ts";
import { startDns } from "../e2e/world/dns.ts";
import { createEngine } from "./engine.ts";

let smtp: SMTPServer;
let port: number;
let dns: Awaited<ReturnType<typeof startDns>>;
let dataSeen = 0;
const secureSessions: boolean[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH"],
    logger: false,
    onMailFrom(_address, session, cb) {
      secureSessions.push(session.secure);
      cb();
    },
    onRcptTo(address, _session, cb) {
      const local = address.address.split("@")[0]!;
      if (["alice", "josé"].includes(local)) return cb();
      const err = Object.assign(new Error("5.1.1 Mailbox does not exist"), { responseCode: 550 });
      cb(err);
    },
    onData(stream, _session, cb) {
      dataSeen++;
      stream.resume();
      stream.on("end", () => cb(new Error("no data here")));
    },
  });
  await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", () => r()));
  port = (smtp.server.address() as AddressInfo).port;
  dns = await startDns(
    {
      zone: new Map([
        ["interop.test", { MX: [{ preference: 10, exchange: "mx.interop.test" }] }],
        ["mx.interop.test", { A: ["127.0.0.1"] }],
      ]),
      servfail: new Set(),
    },
    0,
  );
});
afterAll(async () => {
  await new Promise<void>((r) => smtp?.close(() => r()));
  await dns?.close();
});

describe("against smtp-server", () => {
  it("verifies over STARTTLS with pipelined RCPTs and reads its rejections", async () => {
    const engine = createEngine({ dnsServers: [`127.0.0.1:${dns.port}`], port, timeoutMs: 5000, helo: "probe.mxray.test", allowPrivateTargets: true });
    const results: Result[] = [];
    await engine.verify(["alice@interop.test", "bob@interop.test", "josé@interop.test"], { trace: true }, (r) => results.push(r));
    const by = new Map(results.map((r) => [r.email, r]));
    expect(by.get("alice@interop.test")).toMatchObject({ verdict: "deliverable", reason: "accepted", catch_all: false });
    expect(by.get("bob@interop.test")).toMatchObject({ verdict: "undeliverable", reason: "mailbox_not_found", smtp: { code: 550, enhanced: "5.1.1" } });
    expect(by.get("josé@interop.test")).toMatchObject({ verdict: "deliverable" });
    expect(by.get("alice@interop.test")!.trace!.join("\n")).toMatch(/TLS established/);
    expect(secureSessions.length).toBeGreaterThan(0);
    expect(secureSessions.every(Boolean)).toBe(true);
    expect(dataSeen).toBe(0);
  });
});
