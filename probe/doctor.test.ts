import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { printDoctor, reversedIp, runDoctor, type Lookup } from "./doctor.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A loopback "mail server" that greets with `greeting` and records what the client sends. */
async function greeter(greeting: string) {
  const received: string[] = [];
  let quit!: () => void;
  const gotQuit = new Promise<void>((resolve) => (quit = resolve));
  const server = createServer((socket) => {
    // The doctor hangs up on a greeting too long to be one: a reset here is that, not a failure.
    socket.on("error", () => {});
    socket.write(greeting);
    socket.on("data", (d) => {
      received.push(d.toString());
      if (d.toString().includes("QUIT")) {
        quit();
        socket.end("221 bye\r\n");
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { target: `127.0.0.1:${(server.address() as AddressInfo).port}`, received, gotQuit };
}

async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

const IP = "192.0.2.10";
const HELO = "probe.example.test";

/** A fake DNS: a table of answers, NXDOMAIN for anything else. */
function fakeLookup(table: Record<string, string[] | { error: string }>): Lookup {
  return async (name, type) => table[`${type} ${name}`] ?? "NXDOMAIN";
}

const healthyDns = {
  [`A ${HELO}`]: [IP],
  [`PTR ${IP}`]: [`${HELO}.`],
};

function base(overrides: Partial<Parameters<typeof runDoctor>[0]> = {}) {
  return { helo: HELO, ip: IP, dnsServers: [], port25Targets: [], blocklists: [], timeoutMs: 5_000, ...overrides };
}

describe("runDoctor port 25", () => {
  it("reads a multi-line 220 greeting and then sends only QUIT", async () => {
    const mx = await greeter("220-mx.test ESMTP\r\n220 ready\r\n");
    const report = await runDoctor(base({ port25Targets: [mx.target] }), { lookup: fakeLookup(healthyDns) });
    await mx.gotQuit;
    expect(report.checks[0]).toMatchObject({ ok: true, detail: "220 ready" });
    expect(mx.received.join("")).toBe("QUIT\r\n");
  });

  it("fails for a closed port and for a server that refuses with 554", async () => {
    const refusing = await greeter("554 no service here\r\n");
    const closed = await closedPort();
    const report = await runDoctor(base({ port25Targets: [closed, refusing.target] }), { lookup: fakeLookup(healthyDns) });
    expect(report.checks[0]).toMatchObject({ ok: false, detail: "ECONNREFUSED" });
    expect(report.checks[1]).toMatchObject({ ok: false, detail: "unexpected greeting: 554 no service here" });
  });

  it("gives up on a greeting that never ends, and shows a bounded part of a long one (issue 10)", async () => {
    const endless = await greeter(`220-${"x".repeat(100_000)}`);
    const long = await greeter(`554 ${"y".repeat(10_000)}\r\n`);
    const report = await runDoctor(base({ port25Targets: [endless.target, long.target] }), { lookup: fakeLookup(healthyDns) });
    expect(report.checks[0]).toMatchObject({ ok: false, detail: expect.stringMatching(/^no greeting in the first \d+ characters$/) });
    expect(report.checks[1]!.ok).toBe(false);
    expect(report.checks[1]!.detail.length).toBeLessThan(250);
  });
});

describe("runDoctor DNS", () => {
  it("passes a HELO that resolves and matching forward-confirmed reverse DNS", async () => {
    const report = await runDoctor(base(), { lookup: fakeLookup(healthyDns) });
    expect(report.checks.map((c) => c.ok)).toEqual([true, true, true]);
  });

  it("fails a PTR naming another host and a HELO pointing elsewhere", async () => {
    const dns = { [`A ${HELO}`]: ["198.51.100.1"], [`PTR ${IP}`]: ["vps-123.cloud.test"] };
    const report = await runDoctor(base(), { lookup: fakeLookup(dns) });
    expect(report.checks.map((c) => c.ok)).toEqual([true, false, false]);
    expect(report.checks[1]!.detail).toContain("vps-123.cloud.test");
  });

  it("fails a HELO name that does not resolve", async () => {
    const report = await runDoctor(base({ ip: undefined }), { lookup: fakeLookup({}) });
    expect(report.checks[0]).toMatchObject({ ok: false });
    expect(report.checks.filter((c) => c.ok === null).length).toBe(2); // FCrDNS and lists need --ip
  });
});

describe("runDoctor blocklists", () => {
  it("tells clean, listed (with the TXT reason) and refused queries apart", async () => {
    const dns = {
      ...healthyDns,
      [`A 10.2.0.192.listed.test`]: ["127.0.0.2"],
      [`TXT 10.2.0.192.listed.test`]: ["spam source, see https://listed.test/q"],
      [`A 10.2.0.192.refusing.test`]: ["127.255.255.254"],
      [`A 10.2.0.192.broken.test`]: { error: "ESERVFAIL" },
    };
    const report = await runDoctor(base({ blocklists: ["clean.test", "listed.test", "refusing.test", "broken.test"] }), {
      lookup: fakeLookup(dns),
    });
    const lists = report.checks.slice(3);
    expect(lists.map((c) => c.ok)).toEqual([true, false, null, null]);
    expect(lists[1]!.detail).toContain("spam source");
  });

  it("builds RFC 5782 query names for IPv4 and IPv6", () => {
    expect(reversedIp("192.0.2.10")).toBe("10.2.0.192");
    expect(reversedIp("2001:db8::1")).toBe(`1.0.0.0.${"0.".repeat(20)}8.b.d.0.1.0.0.2`);
    expect(reversedIp("not-an-ip")).toBeNull();
  });
});

describe("printDoctor", () => {
  it("marks each check and sums up", () => {
    const lines: string[] = [];
    printDoctor({ checks: [{ name: "a", ok: true, detail: "x" }, { name: "b", ok: false, detail: "y" }] }, (l) => lines.push(l));
    expect(lines).toEqual(["ok   a: x", "FAIL b: y", "doctor: problems found (FAIL above)"]);
  });
});
