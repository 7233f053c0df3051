// A hostile mail server and hostile DNS (issue 10): replies built to stall the reply classifiers,
// replies and lines without end, and MX records that point the probe at its own network.
// Everything runs on loopback; the engine is told it may talk to loopback only where a test
// stands for a real, public mail server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_SMTP_MESSAGE, MAX_TRACE_LINE, type Result } from "../../core/contracts.ts";
import type { SmtpReply } from "../../core/verdict.ts";
import { startDns, type ZoneRecords } from "../../e2e/world/dns.ts";
import { createEngine, type EngineOptions } from "../engine.ts";
import { MAX_LINE_CHARS, MAX_REPLY_CHARS, SessionFailure, SmtpConnection } from "./connection.ts";
import { scriptedServer as hostileServer, type ScriptedServer as Hostile } from "./scripted.ts";
import {
  classifyRcpt,
  classifySessionFailure,
  greylistHintMs,
  isGreylisting,
  isDeferral,
  isRecipientLimit,
  joinReply,
  parseReplyLine,
} from "./reply.ts";

/** Milliseconds `fn` takes at best over a few runs: a linear pattern is fast at least once,
 *  whatever else the machine is doing; a quadratic one never is. */
function bestOf(fn: () => unknown, runs = 3): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe("reply classifiers on worst-case replies", () => {
  const SIZE = 100_000; // far beyond what the connection keeps (MAX_REPLY_CHARS): linear on their own
  const fill = (unit: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);
  // Each one the start of a pattern that never completes, repeated: the shape that makes a
  // backtracking pattern rescan the rest of the text from every start.
  const hostile = [
    "doesn't have a ", // doesn'?t have an? … account
    "doesnt have an ",
    "9", // a digit run without a unit (greylistHintMs)
    "1 ",
    "12345 x",
    "try again ",
    "mailbox is ",
    "relaying access ",
    "black ",
    "no such ",
    "not a valid ",
    "exceeded its ",
    "utf-",
    "recipient address rejected: ",
    " ",
    "\t",
    "a",
    "5.1.1 ",
    "too many concurrent ",
    "ts",
  ].map(fill);
  const classifiers: [string, (r: SmtpReply) => unknown][] = [
    ["classifyRcpt", classifyRcpt],
    ["classifySessionFailure", classifySessionFailure],
    ["greylistHintMs", greylistHintMs],
    ["isGreylisting", isGreylisting],
    ["isRecipientLimit", isRecipientLimit],
    ["isDeferral at RCPT", (r) => isDeferral(r, false)],
    ["isDeferral before RCPT", (r) => isDeferral(r, true)],
  ];

  it.each(classifiers)("%s answers within milliseconds, for 4xx and 5xx, with and without an enhanced code", (_name, classify) => {
    for (const message of hostile) {
      for (const [code, enhanced] of [[550, null], [450, null], [550, "5.7.1"], [452, "4.2.2"], [554, "5.4.1"], [421, "4.7.0"]] as const) {
        expect(bestOf(() => classify({ code, enhanced, message })), `${message.slice(0, 20)}… ${code}`).toBeLessThan(50);
      }
    }
  });

  it("parses and joins worst-case lines within milliseconds", () => {
    for (const text of hostile) {
      const line = `550-${text}`;
      expect(bestOf(() => parseReplyLine(line))).toBeLessThan(50);
      expect(bestOf(() => parseReplyLine(`${line}\r${text}`))).toBeLessThan(50); // a bare CR inside
      expect(bestOf(() => joinReply(550, [text, `5.1.1 ${text}`]))).toBeLessThan(50);
    }
  });

  it("still reads the replies the patterns were written for", () => {
    const r = (code: number, message: string): SmtpReply => ({ code, enhanced: null, message });
    expect(classifyRcpt(r(554, "delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]"))).toBe("mailbox_not_found");
    expect(greylistHintMs(r(450, "Greylisted, try again in 60 seconds"))).toBe(60_000);
    expect(greylistHintMs(r(450, "greylisted for 5min"))).toBe(300_000);
    expect(greylistHintMs(r(450, `order ${"9".repeat(50)} try later`))).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// A scripted hostile SMTP server on loopback, reached through the world's DNS server.

/** A domain whose one MX host, mx.<domain>, has `records`. */
const viaMx = (domain: string, records: ZoneRecords): [string, ZoneRecords][] => [
  [domain, { MX: [{ preference: 10, exchange: `mx.${domain}` }] }],
  [`mx.${domain}`, records],
];

const ZONE = new Map<string, ZoneRecords>([
  ...viaMx("hostile.test", { A: ["127.0.0.1"] }),
  // Pointed at the probe's own network, in each way a zone can say it.
  ...viaMx("loopback.test", { A: ["127.0.0.1"] }),
  ["literalmx.test", { MX: [{ preference: 10, exchange: "127.0.0.1" }] }],
  ["implicit.test", { A: ["127.0.0.1"] }],
  ...viaMx("v6loop.test", { AAAA: ["::1"] }),
  ...viaMx("mapped.test", { AAAA: ["::ffff:127.0.0.1"] }),
  ...viaMx("metadata.test", { A: ["169.254.169.254"] }),
  ["lan.test", { MX: [{ preference: 10, exchange: "a.lan.test" }, { preference: 20, exchange: "b.lan.test" }] }],
  ["a.lan.test", { A: ["10.0.0.25", "192.168.1.25"] }],
  ["b.lan.test", { A: ["100.64.0.25", "0.0.0.0"] }],
]);

let dns: Awaited<ReturnType<typeof startDns>>;
beforeAll(async () => {
  dns = await startDns({ zone: ZONE, servfail: new Set() }, 0);
});
afterAll(async () => {
  await dns?.close();
});

let server: Hostile | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function verify(emails: string[], port: number, extra: Partial<EngineOptions> = {}, trace = true): Promise<Map<string, Result>> {
  const engine = createEngine({ dnsServers: [`127.0.0.1:${dns.port}`], port, timeoutMs: 2000, greylistBudgetMs: 0, helo: "probe.mxray.test", ...extra });
  const results: Result[] = [];
  await engine.verify(emails, { trace, budgetMs: 10_000 }, (r) => results.push(r));
  await engine.close();
  return new Map(results.map((r) => [r.email, r]));
}

/** The hostile server stands for a public mail server here, so loopback is allowed. */
const publicStandIn = { allowPrivateTargets: true };

describe("replies without end", () => {
  it("reads a 1,000-line reply of 4,000-character lines to its end, keeps a bounded part and stays in step", async () => {
    const line = "doesn't have a ".repeat(266); // 3,990 characters, the ReDoS filler
    const huge = `${"550-5.1.1 ".concat(line, "\r\n").repeat(999)}550 5.1.1 ${line}\r\n`;
    server = await hostileServer({
      reply: (c) => {
        if (c.startsWith("EHLO")) return "250-hostile.test\r\n250 PIPELINING\r\n";
        if (c.startsWith("MAIL")) return "250 2.1.0 Ok\r\n";
        if (c.startsWith("RCPT TO:<long@")) return huge;
        if (c.startsWith("RCPT TO:<ok@")) return "250 2.1.5 Ok\r\n";
        if (c.startsWith("RCPT")) return "550 5.1.1 No such user\r\n";
        return "250 Ok\r\n";
      },
    });
    const started = performance.now();
    const results = await verify(["long@hostile.test", "ok@hostile.test"], server.port, publicStandIn);
    expect(performance.now() - started).toBeLessThan(5_000);
    const long = results.get("long@hostile.test")!;
    expect(long).toMatchObject({ verdict: "undeliverable", reason: "mailbox_not_found", smtp: { code: 550, enhanced: "5.1.1" } });
    expect(long.smtp!.message.length).toBeLessThanOrEqual(MAX_SMTP_MESSAGE);
    // The reply after the long one is read as its own: the conversation stayed in step.
    expect(results.get("ok@hostile.test")).toMatchObject({ verdict: "deliverable", reason: "accepted", smtp: { code: 250 } });
    const trace = long.trace!;
    expect(trace.every((l) => l.length <= MAX_TRACE_LINE)).toBe(true);
    expect(trace.join("").length).toBeLessThan(20 * MAX_TRACE_LINE);
  });

  it("keeps a bounded part of an endless greeting or EHLO reply, and says so in the trace", async () => {
    const filler = "z".repeat(4000);
    server = await hostileServer({
      reply: (c) => {
        if (c.startsWith("EHLO")) return `${"250-".concat(filler, "\r\n").repeat(2000)}250 PIPELINING\r\n`;
        if (c.startsWith("RCPT")) return "550 5.1.1 No such user\r\n";
        return "250 Ok\r\n";
      },
    });
    const r = (await verify(["nobody@hostile.test"], server.port, publicStandIn)).get("nobody@hostile.test")!;
    expect(r).toMatchObject({ reason: "mailbox_not_found" });
    const trace = r.trace!.join("\n");
    expect(trace).toMatch(/reply cut to \d+ of 2001 lines, 2048 of \d+ characters/);
    expect(trace.length).toBeLessThan(4 * MAX_REPLY_CHARS + 10 * MAX_TRACE_LINE);
  });

  it("refuses a line that never ends at the line limit, and hangs up", async () => {
    const MB = "x".repeat(1 << 20);
    let stopped!: () => void;
    const hungUp = new Promise<void>((r) => (stopped = r));
    server = await hostileServer({
      greeting: (socket, written) => {
        socket.on("close", () => stopped());
        const pump = () => {
          // Write until the probe hangs up; each write waits for the last to drain.
          while (!socket.destroyed && socket.write(MB)) written(MB.length);
        };
        socket.on("drain", pump);
        socket.write("220 ");
        pump();
      },
      reply: () => "",
    });
    const failure = await SmtpConnection.open({ host: "127.0.0.1", port: server.port, mxName: "mx.hostile.test", helo: "probe.mxray.test", timeoutMs: 10_000, tls: false, allowPrivate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(SessionFailure);
    expect((failure as SessionFailure).error).toMatchObject({ kind: "protocol", detail: "reply line too long" });
    await hungUp;
    // The probe read at most about one socket buffer past the limit before it hung up.
    expect(server.written[0]!).toBeLessThan(64 << 20);
  });

  it("hangs up on a reply whose lines never end, without waiting for the phase timeout", async () => {
    const lines = "220-x\r\n".repeat(1 << 14);
    server = await hostileServer({
      greeting: (socket) => {
        const pump = () => {
          while (!socket.destroyed && socket.write(lines));
        };
        socket.on("drain", pump);
        pump();
      },
      reply: () => "",
    });
    const failure = await SmtpConnection.open({ host: "127.0.0.1", port: server.port, mxName: "mx.hostile.test", helo: "probe.mxray.test", timeoutMs: 60_000, tls: false, allowPrivate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((failure as SessionFailure).error).toMatchObject({ kind: "protocol", detail: "reply too long" });
  });

  it("refuses an over-long line even when its end arrives in the same packet", async () => {
    server = await hostileServer({
      greeting: (socket) => socket.write(`220-${"y".repeat(MAX_LINE_CHARS * 4)}\r\n220 hostile.test\r\n`),
      reply: () => "",
    });
    const failure = await SmtpConnection.open({ host: "127.0.0.1", port: server.port, mxName: "mx.hostile.test", helo: "probe.mxray.test", timeoutMs: 5_000, tls: false, allowPrivate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((failure as SessionFailure).error).toMatchObject({ kind: "protocol", detail: "reply line too long" });
  });
});

describe("private targets", () => {
  const acceptAll = { reply: (c: string) => (c.startsWith("EHLO") ? "250-mx\r\n250 PIPELINING\r\n" : "250 Ok\r\n") };

  it.each([
    ["an MX host on loopback", "user@loopback.test", "mx.loopback.test", "127.0.0.1"],
    ["an MX naming an IP literal", "user@literalmx.test", "127.0.0.1", "127.0.0.1"],
    ["an implicit MX (the domain's own A record)", "user@implicit.test", "implicit.test", "127.0.0.1"],
    ["an MX host with only IPv6 loopback", "user@v6loop.test", "mx.v6loop.test", "::1"],
    ["an MX host on IPv4-mapped loopback", "user@mapped.test", "mx.mapped.test", "::ffff:7f00:1"], // as DNS hands it over
    ["the cloud metadata address", "user@metadata.test", "mx.metadata.test", "169.254.169.254"],
  ])("%s is refused as private_target without any connection", async (_name, email, mx, address) => {
    server = await hostileServer(acceptAll);
    const r = (await verify([email], server.port)).get(email)!;
    expect(r).toMatchObject({ verdict: "unknown", reason: "private_target", mx, smtp: null, catch_all: null });
    expect(server.connections).toBe(0);
    expect(r.trace!.some((l) => l.startsWith("S:") || l.startsWith("C:"))).toBe(false); // no transcript
    expect(r.trace!.at(-1)).toBe(`smtp: not connecting to ${mx} [${address}]: not a public address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)`);
  });

  it("refuses every private address of every MX host (RFC 1918, CGNAT, 0.0.0.0)", async () => {
    server = await hostileServer(acceptAll);
    const r = (await verify(["user@lan.test"], server.port)).get("user@lan.test")!;
    expect(r).toMatchObject({ verdict: "unknown", reason: "private_target" });
    expect(server.connections).toBe(0);
  });

  it("an address literal is never contacted", async () => {
    server = await hostileServer(acceptAll);
    const r = (await verify(["user@[127.0.0.1]", "user@[IPv6:::1]"], server.port, publicStandIn)).get("user@[127.0.0.1]")!;
    expect(r).toMatchObject({ verdict: "undeliverable", reason: "domain_literal", smtp: null });
    expect(server.connections).toBe(0);
  });

  it("allowPrivateTargets (MXRAY_ALLOW_PRIVATE_TARGETS=1) lets the probe talk to them", async () => {
    server = await hostileServer(acceptAll);
    const r = (await verify(["user@loopback.test"], server.port, { allowPrivateTargets: true })).get("user@loopback.test")!;
    expect(r).toMatchObject({ reason: "catch_all", smtp: { code: 250 } });
    expect(server.connections).toBeGreaterThan(0);
  });

  it("never resolves a host name at connect time, so no second DNS answer can swap the address", async () => {
    server = await hostileServer(acceptAll);
    const failure = await SmtpConnection.open({ host: "localhost", port: server.port, mxName: "localhost", helo: "probe.mxray.test", timeoutMs: 2_000, tls: false, allowPrivate: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((failure as SessionFailure).error).toEqual({ kind: "private_target", address: "localhost", scope: "invalid" });
    expect(server.connections).toBe(0);
  });
});
