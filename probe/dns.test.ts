// The resolver against a real UDP/TCP DNS server on loopback that the test scripts.
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createResolver, MAX_HOST_ADDRESSES, MAX_MX_HOSTS, parseServer, reverseName } from "./dns.ts";

type Handler = (q: packet.Packet) => Partial<packet.Packet> & { rcode?: number; drop?: boolean; wrongId?: boolean; noQuestion?: boolean };

const SOA = { name: "test", type: "SOA", ttl: 30, data: { mname: "ns.test", rname: "h.test", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 10 } } as packet.Answer;

function answer(q: packet.Packet, type: string, ttl: number, ...data: unknown[]): packet.Answer[] {
  return data.map((d) => ({ name: q.questions![0]!.name, type, ttl, data: d }) as packet.Answer);
}

const zone: Handler = (q) => {
  const { name, type } = q.questions![0]!;
  const key = `${type} ${name}`;
  switch (key) {
    case "MX mx.test":
      return { answers: answer(q, "MX", 100, { preference: 20, exchange: "b.mx.test" }, { preference: 10, exchange: "a.mx.test" }) };
    case "A a.mx.test":
      return { answers: answer(q, "A", 50, "127.0.0.2") };
    case "A b.mx.test":
      return { answers: answer(q, "A", 50, "127.0.0.3") };
    case "MX equal.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "x.equal.test" }, { preference: 10, exchange: "y.equal.test" }) };
    case "A x.equal.test":
    case "A y.equal.test":
      return { answers: answer(q, "A", 50, "127.0.0.4") };
    case "MX null.test":
      return { answers: answer(q, "MX", 100, { preference: 0, exchange: "." }) };
    case "MX mixednull.test":
      return { answers: answer(q, "MX", 100, { preference: 0, exchange: "." }, { preference: 10, exchange: "a.mx.test" }) };
    case "MX implicit.test":
    case "AAAA implicit.test":
    case "MX nomail.test":
    case "A nomail.test":
    case "AAAA nomail.test":
    case "AAAA a.mx.test":
    case "AAAA b.mx.test":
      return { authorities: [SOA] };
    case "A noedns.test":
      // An old server: FORMERR to anything with EDNS0, answers plain queries.
      if ((q.additionals ?? []).some((a) => a.type === "OPT")) return { rcode: 1 };
      return { answers: answer(q, "A", 60, "127.0.0.7") };
    case "A noquestion.test":
      return { noQuestion: true, answers: answer(q, "A", 60, "127.0.0.6") };
    case "MX v4only.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "mx.v4only.test" }) };
    case "A mx.v4only.test":
      return { answers: answer(q, "A", 60, "127.0.0.5") };
    case "AAAA mx.v4only.test":
      return { drop: true };
    case "A implicit.test":
      return { answers: answer(q, "A", 60, "127.0.0.9") };
    case "MX servfail.test":
      return { rcode: 2 };
    case "MX refused.test":
      return { rcode: 5 };
    case "MX silent.test":
      return { drop: true };
    case "MX spoof.test":
      return { wrongId: true, answers: answer(q, "MX", 100, { preference: 1, exchange: "evil.test" }) };
    case "MX cname.test":
      return { answers: [...answer(q, "CNAME", 100, "real.test"), { name: "real.test", type: "MX", ttl: 100, data: { preference: 5, exchange: "a.mx.test" } } as packet.Answer] };
    // MX targets: gone (NXDOMAIN), without address (NODATA), failing, AAAA-only, behind a CNAME.
    case "MX deadmx.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "gone.deadmx.test" }, { preference: 20, exchange: "bare.deadmx.test" }) };
    case "A bare.deadmx.test":
    case "AAAA bare.deadmx.test":
    case "A v6.deadmx.test":
    case "A alias.deadmx.test":
      return { authorities: [SOA] };
    case "MX halfdead.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "gone.deadmx.test" }, { preference: 20, exchange: "a.mx.test" }) };
    case "MX failmx.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "gone.deadmx.test" }, { preference: 20, exchange: "fail.deadmx.test" }) };
    case "A fail.deadmx.test":
      return { rcode: 2 };
    case "AAAA fail.deadmx.test":
      return { authorities: [SOA] };
    case "MX v6mx.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "v6.deadmx.test" }) };
    case "AAAA v6.deadmx.test":
      return { answers: answer(q, "AAAA", 60, "::1") };
    case "MX aliasmx.test":
      return { answers: answer(q, "MX", 100, { preference: 10, exchange: "alias.deadmx.test" }) };
    case "AAAA alias.deadmx.test":
      return { answers: [...answer(q, "CNAME", 60, "v6.deadmx.test"), { name: "v6.deadmx.test", type: "AAAA", ttl: 60, data: "::2" } as packet.Answer] };
    case "TXT txt.test":
      return { answers: answer(q, "TXT", 100, ["v=spf1 ", "-all"]) };
    case "PTR 2.0.0.127.in-addr.arpa":
      return { answers: answer(q, "PTR", 100, "a.mx.test") };
    // A hostile zone: 300 MX hosts, each with 50 addresses (the answers travel over TCP).
    case "MX many.test":
      return { answers: answer(q, "MX", 100, ...Array.from({ length: 300 }, (_, i) => ({ preference: 300 - i, exchange: `h${i}.many.test` }))) };
    case "TXT big.test":
      return { answers: answer(q, "TXT", 100, ...Array.from({ length: 40 }, (_, i) => `record-${i}-${"x".repeat(60)}`)) };
    default:
      if (type === "A" && name.endsWith(".many.test")) return { answers: answer(q, "A", 60, ...Array.from({ length: 50 }, (_, i) => `192.0.2.${i + 1}`)) };
      return { rcode: 3, authorities: [SOA] };
  }
};

let udp: dgram.Socket;
let tcp: net.Server;
let port: number;
const queries: string[] = [];

function respond(q: packet.Packet, overTcp: boolean): Buffer | null {
  const h = zone(q);
  if (h.drop) return null;
  const full = packet.encode({
    type: "response",
    id: h.wrongId ? (q.id! + 1) % 65536 : q.id,
    flags: packet.RECURSION_AVAILABLE | (h.rcode ?? 0),
    questions: h.noQuestion ? [] : q.questions,
    answers: h.answers ?? [],
    authorities: h.authorities ?? [],
  });
  if (overTcp || full.length <= 512) return full;
  // Too big for plain UDP: a truncated answer, TC set (RFC 1035 §4.2.1).
  return packet.encode({ type: "response", id: q.id, flags: packet.TRUNCATED_RESPONSE | packet.RECURSION_AVAILABLE, questions: q.questions, answers: [] });
}

beforeAll(async () => {
  udp = dgram.createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    const q = packet.decode(msg);
    queries.push(`udp ${q.questions![0]!.type} ${q.questions![0]!.name}`);
    const r = respond(q, false);
    if (r) udp.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  port = (udp.address() as net.AddressInfo).port;
  tcp = net.createServer((s) => {
    s.on("data", (d) => {
      const q = packet.decode(d.subarray(2));
      queries.push(`tcp ${q.questions![0]!.type} ${q.questions![0]!.name}`);
      const r = respond(q, true)!;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(r.length);
      s.end(Buffer.concat([len, r]));
    });
  });
  await new Promise<void>((r) => tcp.listen(port, "127.0.0.1", () => r()));
});
afterAll(async () => {
  udp.close();
  await new Promise((r) => tcp.close(r));
});

const resolver = (extra = {}) => createResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 300, attempts: 1, ...extra });
const count = (q: string) => queries.filter((x) => x === q).length;

describe("mailRoute", () => {
  it("sorts MX hosts by preference and resolves their addresses", async () => {
    expect(await resolver().mailRoute("MX.test.")).toEqual({
      kind: "mx",
      hosts: [
        { name: "a.mx.test", preference: 10, addresses: ["127.0.0.2"] },
        { name: "b.mx.test", preference: 20, addresses: ["127.0.0.3"] },
      ],
    });
  });
  it("orders equal preferences at random (RFC 5321 §5.1)", async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await createResolver({ servers: [`127.0.0.1:${port}`] }).mailRoute("equal.test");
      if (r.kind === "mx") firsts.add(r.hosts[0]!.name);
    }
    expect(firsts).toEqual(new Set(["x.equal.test", "y.equal.test"]));
  });
  it("tells null MX, NXDOMAIN, no mail, implicit MX and failures apart", async () => {
    const r = resolver();
    expect(await r.mailRoute("null.test")).toEqual({ kind: "null_mx" });
    expect((await r.mailRoute("mixednull.test")).kind).toBe("mx");
    expect(await r.mailRoute("nowhere.test")).toEqual({ kind: "nxdomain" });
    expect(await r.mailRoute("nomail.test")).toEqual({ kind: "no_mail" });
    expect(await r.mailRoute("implicit.test")).toEqual({
      kind: "implicit_mx",
      hosts: [{ name: "implicit.test", preference: 0, addresses: ["127.0.0.9"] }],
    });
    expect(await r.mailRoute("servfail.test")).toMatchObject({ kind: "error", detail: expect.stringMatching(/SERVFAIL/) });
    expect(await r.mailRoute("refused.test")).toMatchObject({ kind: "error" });
    expect(await r.mailRoute("silent.test")).toMatchObject({ kind: "error", detail: expect.stringMatching(/did not answer/) });
  });
  it("says no_mx_address only when every MX target is answered for and has no address (RFC 5321 §5.1)", async () => {
    const r = resolver();
    expect(await r.mailRoute("deadmx.test")).toEqual({
      kind: "no_mx_address",
      hosts: [
        { name: "gone.deadmx.test", preference: 10, why: "nxdomain" },
        { name: "bare.deadmx.test", preference: 20, why: "no_address" },
      ],
    });
    // One live target is enough: the dead one stays in the list with no address, and is skipped.
    expect(await r.mailRoute("halfdead.test")).toEqual({
      kind: "mx",
      hosts: [
        { name: "gone.deadmx.test", preference: 10, addresses: [] },
        { name: "a.mx.test", preference: 20, addresses: ["127.0.0.2"] },
      ],
    });
    // A SERVFAIL for one target is not proof that it does not exist.
    expect(await r.mailRoute("failmx.test")).toMatchObject({ kind: "error", detail: expect.stringMatching(/fail\.deadmx\.test: SERVFAIL/) });
  });
  it("counts an AAAA-only or CNAME'd MX target as existing", async () => {
    const r = resolver();
    expect(await r.mailRoute("v6mx.test")).toMatchObject({ kind: "mx", hosts: [{ name: "v6.deadmx.test", addresses: ["::1"] }] });
    expect(await r.mailRoute("aliasmx.test")).toMatchObject({ kind: "mx", hosts: [{ name: "alias.deadmx.test", addresses: ["::2"] }] });
  });
  it("ignores an answer with the wrong id", async () => {
    expect(await resolver().mailRoute("spoof.test")).toMatchObject({ kind: "error" });
  });
  it("follows at most MAX_MX_HOSTS hosts, the most preferred, with MAX_HOST_ADDRESSES addresses each (issue 10)", async () => {
    const before = queries.filter((q) => q.endsWith(".many.test")).length;
    const route = await resolver().mailRoute("many.test");
    if (route.kind !== "mx") throw new Error(`want mx, got ${route.kind}`);
    expect(route.hosts).toHaveLength(MAX_MX_HOSTS);
    expect(route.hosts.map((h) => h.preference)).toEqual(Array.from({ length: MAX_MX_HOSTS }, (_, i) => i + 1));
    expect(route.hosts.every((h) => h.addresses.length === MAX_HOST_ADDRESSES)).toBe(true);
    // Only the followed hosts were looked up (each A answer is too big for UDP: asked twice).
    expect(queries.filter((q) => q.endsWith(".many.test")).length - before).toBe(2 * MAX_MX_HOSTS);
  });

  it("follows what a recursive server returns through a CNAME", async () => {
    const r = await resolver().mailRoute("cname.test");
    expect(r).toMatchObject({ kind: "mx", hosts: [{ name: "a.mx.test" }] });
  });
});

describe("lookup", () => {
  it("joins TXT strings and reads PTR records", async () => {
    const r = resolver();
    expect(await r.lookup("txt.test", "TXT")).toMatchObject({ ok: true, records: ["v=spf1 -all"] });
    expect(await r.lookup(reverseName("127.0.0.2"), "PTR")).toMatchObject({ ok: true, records: ["a.mx.test"] });
  });
  it("retries over TCP when the UDP answer is truncated", async () => {
    const r = await resolver().lookup("big.test", "TXT");
    expect(r.ok && r.records.length).toBe(40);
    expect(count("tcp TXT big.test")).toBe(1);
  });
  it("falls back to the next server when one does not answer", async () => {
    const dead = dgram.createSocket("udp4");
    await new Promise<void>((r) => dead.bind(0, "127.0.0.1", () => r()));
    const deadPort = (dead.address() as net.AddressInfo).port;
    const r = createResolver({ servers: [`127.0.0.1:${deadPort}`, `127.0.0.1:${port}`], timeoutMs: 200, attempts: 1 });
    expect(await r.lookup("a.mx.test", "A")).toMatchObject({ ok: true, records: ["127.0.0.2"] });
    dead.close();
  });
  it("caches answers for their TTL and negative answers for the SOA minimum", async () => {
    let now = 1_000_000;
    const r = resolver({ now: () => now });
    const before = count("udp A b.mx.test");
    await r.lookup("b.mx.test", "A");
    await r.lookup("b.mx.test", "A");
    expect(count("udp A b.mx.test")).toBe(before + 1);
    now += 51_000; // past the 50 s TTL
    await r.lookup("b.mx.test", "A");
    expect(count("udp A b.mx.test")).toBe(before + 2);

    const nx = count("udp MX gone.test");
    expect(await r.lookup("gone.test", "MX")).toMatchObject({ rcode: "NXDOMAIN", ttl: 10 });
    now += 5_000;
    await r.lookup("gone.test", "MX");
    expect(count("udp MX gone.test")).toBe(nx + 1);
    now += 6_000;
    await r.lookup("gone.test", "MX");
    expect(count("udp MX gone.test")).toBe(nx + 2);
  });
  it("shares one query among concurrent lookups of the same name", async () => {
    const r = resolver();
    const before = count("udp A a.mx.test");
    await Promise.all(Array.from({ length: 10 }, () => r.lookup("a.mx.test", "A")));
    expect(count("udp A a.mx.test")).toBe(before + 1);
  });
});

describe("servers with quirks", () => {
  it("asks again without EDNS0 when a server answers FORMERR to it", async () => {
    expect(await resolver().lookup("noedns.test", "A")).toMatchObject({ ok: true, records: ["127.0.0.7"] });
  });
  it("accepts an answer that leaves the question out", async () => {
    expect(await resolver().lookup("noquestion.test", "A")).toMatchObject({ ok: true, records: ["127.0.0.6"] });
  });
  it("does not wait on AAAA for an MX host that has an A record", async () => {
    const started = Date.now();
    const r = await createResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 2000, attempts: 1 }).mailRoute("v4only.test");
    expect(r).toMatchObject({ kind: "mx", hosts: [{ name: "mx.v4only.test", addresses: ["127.0.0.5"] }] });
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe("helpers", () => {
  it("writes reverse names for IPv4 and IPv6", () => {
    expect(reverseName("192.0.2.1")).toBe("1.2.0.192.in-addr.arpa");
    expect(reverseName("2001:db8::1")).toBe(`1.0.0.0.${"0.".repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`);
  });
  it("parses server addresses", () => {
    expect(parseServer("127.0.0.1:5353")).toEqual({ host: "127.0.0.1", port: 5353 });
    expect(parseServer("10.0.0.1")).toEqual({ host: "10.0.0.1", port: 53 });
    expect(parseServer("[::1]:53")).toEqual({ host: "::1", port: 53 });
    expect(parseServer("::1")).toEqual({ host: "::1", port: 53 });
  });
});
