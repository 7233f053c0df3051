// The world itself, checked with a raw socket client (not the probe's), so a probe test that
// passes against it is passing against what the world claims to be.
import { readFileSync } from "node:fs";
import net from "node:net";
import dgram from "node:dgram";
import * as packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { adminSpelling } from "./finder.ts";
import { startWorld, type World } from "./index.ts";

let world: World;
let slow: World;
beforeAll(async () => {
  [world, slow] = await Promise.all([startWorld({ greylistDelayMs: 200 }), startWorld({ rttMs: 100 })]);
});
afterAll(async () => {
  await Promise.all([world?.stop(), slow?.stop()]);
});

/** A line client: send, then wait for n complete replies (multi-line aware). */
async function session(w: World, ip: string) {
  const socket = net.connect({ host: ip, port: w.smtpPort });
  let buf = "";
  const replies: string[][] = [];
  let current: string[] = [];
  const waiters: (() => void)[] = [];
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf("\r\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      current.push(line);
      if (line[3] !== "-") {
        replies.push(current);
        current = [];
        waiters.splice(0).forEach((w) => w());
      }
    }
  });
  const until = async (n: number) => {
    while (replies.length < n) await new Promise<void>((r) => waiters.push(r));
    return replies.slice(0, n);
  };
  await until(1);
  return {
    replies,
    send: (...lines: string[]) => socket.write(lines.map((l) => `${l}\r\n`).join("")),
    until,
    close: () => socket.destroy(),
  };
}

async function dnsQuery(w: World, name: string, type: string) {
  const [host, port] = w.dnsServer.split(":");
  const socket = dgram.createSocket("udp4");
  const res = await new Promise<packet.Packet>((resolve) => {
    socket.on("message", (m) => resolve(packet.decode(m)));
    socket.send(packet.encode({ type: "query", id: 7, questions: [{ name, type: type as "A" }] }), Number(port), host);
  });
  socket.close();
  return res as packet.Packet & { rcode: string };
}

const dataOf = (p: packet.Packet) => (p.answers![0] as { data: unknown }).data;
const ipOf = async (w: World, name: string) => String(dataOf(await dnsQuery(w, name, "A")));

describe("simulated world", () => {
  it("answers DNS for MX, null MX, NXDOMAIN and SERVFAIL", async () => {
    const mx = await dnsQuery(world, "ok.test", "MX");
    expect(dataOf(mx)).toEqual({ preference: 10, exchange: "mx.ok.test" });
    const nul = await dnsQuery(world, "nullmx.test", "MX");
    expect((dataOf(nul) as { exchange: string }).exchange).toMatch(/^\.?$/);
    expect((await dnsQuery(world, "nxdomain.test", "MX")).rcode).toBe("NXDOMAIN");
    expect((await dnsQuery(world, "servfail.test", "MX")).rcode).toBe("SERVFAIL");
  });

  it("accepts a real mailbox, rejects a missing one with 5.1.1, and refuses and counts DATA", async () => {
    const s = await session(world, await ipOf(world, "mx.ok.test"));
    s.send("EHLO t", "MAIL FROM:<>", "RCPT TO:<alice@ok.test>", "RCPT TO:<nobody@ok.test>", "DATA");
    const r = await s.until(6);
    expect(r[1]!.some((l) => l.includes("PIPELINING"))).toBe(true);
    expect(r[3]![0]).toMatch(/^250/);
    expect(r[4]![0]).toMatch(/^550 5\.1\.1/);
    expect(r[5]![0]).toMatch(/^554/);
    expect(world.stats().dataCommands).toBe(1);
    s.close();
  });

  it("greylists a new triplet, then accepts it after the delay", async () => {
    const ip = await ipOf(world, "mx.greylist.test");
    const s = await session(world, ip);
    s.send("EHLO t", "MAIL FROM:<>", "RCPT TO:<user@greylist.test>");
    expect((await s.until(4))[3]![0]).toMatch(/^450 4\.2\.0 .*Greylisted/);
    await new Promise((r) => setTimeout(r, 250)); // the world's scripted greylist delay (200 ms)
    s.send("RCPT TO:<user@greylist.test>");
    expect((await s.until(5))[4]![0]).toMatch(/^250/);
    s.close();
  });

  it("closes with 421 after its recipient limit, and answers 452 4.5.3 per transaction", async () => {
    const a = await session(world, await ipOf(world, "mx.limit421.test"));
    a.send("EHLO t", "MAIL FROM:<>", ...["u1", "u2", "u3", "u4"].map((u) => `RCPT TO:<${u}@limit421.test>`));
    expect((await a.until(7))[6]![0]).toMatch(/^421/);
    a.close();
    const b = await session(world, await ipOf(world, "mx.rcptlimit.test"));
    b.send("EHLO t", "MAIL FROM:<>", ...["u1", "u2", "u3", "u4"].map((u) => `RCPT TO:<${u}@rcptlimit.test>`));
    expect((await b.until(7))[6]![0]).toMatch(/^452 4\.5\.3/);
    b.close();
  });

  it("requires STARTTLS where scripted, and refuses UTF-8 mailboxes without SMTPUTF8", async () => {
    const t = await session(world, await ipOf(world, "mx.tls.test"));
    t.send("EHLO t", "MAIL FROM:<>");
    const r = await t.until(3);
    expect(r[1]!.some((l) => l.includes("STARTTLS"))).toBe(true);
    expect(r[2]![0]).toMatch(/^530 5\.7\.0/);
    t.close();
    const u = await session(world, await ipOf(world, "mx.noutf8.test"));
    u.send("EHLO t", "MAIL FROM:<>", "RCPT TO:<josé@noutf8.test>");
    expect((await u.until(4))[3]![0]).toMatch(/^553 5\.6\.7/);
    u.close();
  });

  it("applies Postfix-like error limits: 421 at the hard limit", async () => {
    const s = await session(world, await ipOf(world, "mx.errlimit.test"));
    s.send("EHLO t", "MAIL FROM:<>", ...Array.from({ length: 6 }, (_, i) => `RCPT TO:<miss${i + 1}@errlimit.test>`));
    const r = await s.until(9);
    expect(r[8]![0]).toMatch(/^421 4\.7\.0 Error: too many errors/);
    s.close();
  });

  it("delays replies by the round trip, and pipelined commands share one", async () => {
    const ip = await ipOf(slow, "mx.ok.test");
    const s = await session(slow, ip);
    const started = Date.now();
    s.send("EHLO t", "MAIL FROM:<>", "RCPT TO:<alice@ok.test>", "RCPT TO:<bob@ok.test>", "RCPT TO:<carol@ok.test>");
    await s.until(6);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(400); // five round trips would be 500 ms
    s.close();
  });

  it("ships a sample list equal to its scripted addresses", () => {
    const sample = readFileSync(new URL("./sample.txt", import.meta.url), "utf8").trim().split("\n");
    expect(sample).toEqual(world.addresses);
  });
});

describe("fleet world", () => {
  let fleet: World;
  let clock = 1_000_000;
  beforeAll(async () => {
    fleet = await startWorld({ fleet: { addresses: 400, seed: 7, provider: { maxOpen: 2, maxPerWindow: 4, windowMs: 60_000 }, now: () => clock } });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it("generates the same list and truth for a seed, every address with its truth", () => {
    const f = fleet.fleet!;
    expect(f.addresses).toHaveLength(400);
    expect(new Set(f.addresses).size).toBe(400);
    for (const a of f.addresses) expect(fleet.truth.has(a)).toBe(true);
    expect(f.deadDomains.length).toBeGreaterThan(0);
    expect(f.providerHosts).toEqual(["mx1.bigmail.test", "mx2.bigmail.test"]);
    expect(f.addresses.slice(0, 3)).toMatchInlineSnapshot(`
      [
        "user341.bp0g6a@plain0-b6cl.test",
        "user2.4ulb3d@accept0-1bt2.test",
        "user299.c8chq5@accept0-1bt2.test",
      ]
    `);
  });

  it("counts connections to a silent host that never greets", async () => {
    const host = fleet.fleet!.deadHosts[0]!;
    const socket = net.connect({ host: await ipOf(fleet, host), port: fleet.smtpPort });
    await vi.waitFor(() => expect(fleet.stats().perHost[host]!.connections).toBe(1));
    socket.destroy();
  });

  it("counts RCPTs for mailboxes not on the list per catch-all domain", async () => {
    const domain = fleet.fleet!.catchAllDomains[0]!;
    const listed = fleet.fleet!.addresses.find((a) => a.endsWith(`@${domain}`))!;
    const s = await session(fleet, await ipOf(fleet, `mx.${domain}`));
    s.send("EHLO t", "MAIL FROM:<>", `RCPT TO:<${listed}>`, `RCPT TO:<zq8x1random@${domain}>`);
    const r = await s.until(5);
    expect(r[3]![0]).toMatch(/^250/);
    expect(r[4]![0]).toMatch(/^250/);
    expect(fleet.fleet!.randomRcpts.get(domain)).toBe(1);
    s.close();
  });

  it("defers the provider's greeting above its open-connection limit and its window, on the host's clock", async () => {
    const [mx1, mx2] = await Promise.all(["mx1.bigmail.test", "mx2.bigmail.test"].map((h) => ipOf(fleet, h)));
    const greeting = async (ip: string) => {
      const s = await session(fleet, ip);
      return { s, code: s.replies[0]![0]!.slice(0, 3), text: s.replies[0]![0]! };
    };
    const a = await greeting(mx1!);
    const b = await greeting(mx2!); // the limit spans the provider's hosts
    const c = await greeting(mx1!);
    expect([a.code, b.code]).toEqual(["220", "220"]);
    expect(c.text).toBe("421 4.7.0 Too many concurrent connections, try again later");
    for (const x of [a, b, c]) x.s.close();
    await vi.waitFor(() => expect(fleet.stats().perHost["mx1.bigmail.test"]!.open + fleet.stats().perHost["mx2.bigmail.test"]!.open).toBe(0));
    // Three opened in the window so far (the deferred one counts): a fourth is served, a fifth is not.
    const d = await greeting(mx1!);
    d.s.close();
    const e = await greeting(mx2!);
    e.s.close();
    expect([d.code, e.code]).toEqual(["220", "421"]);
    clock += 60_000; // the window slides past them all
    const f = await greeting(mx1!);
    f.s.close();
    expect(f.code).toBe("220");
    const stats = fleet.stats().perHost;
    expect(stats["mx1.bigmail.test"]!.deferred + stats["mx2.bigmail.test"]!.deferred).toBe(2);
  });
});

describe("finder world", () => {
  let w: World;
  beforeAll(async () => {
    // Greylisting lets a triplet through on its second try: no waiting in the test.
    w = await startWorld({ finder: { domains: 40, seed: 14 }, greylistDelayMs: 0 });
  });
  afterAll(async () => {
    await w?.stop();
  });
  const domainOf = (behaviour: string) => w.finder!.domains.find((d) => d.behaviour === behaviour)!;
  const staffOf = (domain: string) => w.finder!.people.filter((p) => p.domain === domain);

  it("spells names as an admin would, umlauts either way", () => {
    expect(adminSpelling("Zoë", true)).toBe("zoe");
    expect(["Müller", "Weiß", "O'Brien", "van der Berg", "García-López"].map((n) => adminSpelling(n, true))).toEqual([
      "mueller",
      "weiss",
      "obrien",
      "vanderberg",
      "garcialopez",
    ]);
    expect(adminSpelling("Müller", false)).toBe("muller");
    expect(adminSpelling("García-López", true, true)).toBe("garcia-lopez");
  });

  it("gives some staff compound names and some domains their hyphens only when asked, the rest of the world as before", async () => {
    expect(w.finder!.domains.some((d) => d.keepsHyphens)).toBe(false);
    const styled = await startWorld({ finder: { domains: 40, seed: 14, compoundShare: 0.5, keepHyphensShare: 0.5 }, greylistDelayMs: 0 });
    try {
      const f = styled.finder!;
      const keeps = new Set(f.domains.filter((d) => d.keepsHyphens).map((d) => d.name));
      expect(keeps.size).toBeGreaterThan(0);
      expect(f.domains.map((d) => [d.pattern, d.behaviour])).toEqual(w.finder!.domains.map((d) => [d.pattern, d.behaviour]));
      const compound = f.people.filter((p) => p.first.includes("-") && p.domain.length > 0);
      expect(compound.length).toBeGreaterThan(f.people.length / 4);
      const hyphenated = compound.filter((p) => f.domains.find((d) => d.name === p.domain)!.pattern === "first.last");
      for (const p of hyphenated) expect(p.email.split("@")[0]!.includes("-")).toBe(keeps.has(p.domain));
    } finally {
      await styled.stop();
    }
  });

  it("gives every domain staff whose addresses follow its pattern, each address once", () => {
    const f = w.finder!;
    expect(f.domains).toHaveLength(40);
    expect(new Set(f.domains.map((d) => d.behaviour))).toEqual(new Set(["refuses", "catch_all", "greylisting"]));
    for (const d of f.domains) {
      const staff = staffOf(d.name);
      expect(staff.length).toBeGreaterThanOrEqual(10);
      expect(new Set(staff.map((p) => p.email)).size).toBe(staff.length);
    }
    const firstLast = f.domains.find((d) => d.pattern === "first.last")!;
    const p = staffOf(firstLast.name)[0]!;
    expect(p.email.split("@")[0]).toMatch(/^[a-z]+\.[a-z]+$/);
  });

  it("accepts a pattern domain's real mailbox, refuses another with 5.1.1, and counts the transaction", async () => {
    const d = domainOf("refuses");
    const real = staffOf(d.name)[0]!.email;
    const s = await session(w, await ipOf(w, d.host));
    s.send("EHLO t", "MAIL FROM:<>", `RCPT TO:<${real}>`, `RCPT TO:<no.such.person@${d.name}>`);
    const r = await s.until(5);
    expect(r[3]![0]).toMatch(/^250/);
    expect(r[4]![0]).toMatch(/^550 5\.1\.1/);
    expect(w.stats().perHost[d.host]).toMatchObject({ connections: 1, transactions: 1, rcpts: 2 });
    s.close();
  });

  it("greylists a triplet the first time, then accepts it; a catch-all domain accepts anything", async () => {
    const g = domainOf("greylisting");
    const real = staffOf(g.name)[0]!.email;
    const s = await session(w, await ipOf(w, g.host));
    s.send("EHLO t", "MAIL FROM:<>", `RCPT TO:<${real}>`, `RCPT TO:<${real}>`, `RCPT TO:<no.such.person@${g.name}>`, `RCPT TO:<no.such.person@${g.name}>`);
    const r = await s.until(7);
    expect(r.slice(3).map((x) => x[0]!.slice(0, 9))).toEqual(["451 4.7.1", "250 2.1.5", "451 4.7.1", "550 5.1.1"]);
    s.close();
    const c = domainOf("catch_all");
    const t = await session(w, await ipOf(w, c.host));
    t.send("EHLO t", "MAIL FROM:<>", `RCPT TO:<zq8x1random@${c.name}>`);
    expect((await t.until(4))[3]![0]).toMatch(/^250/);
    t.close();
  });
});
