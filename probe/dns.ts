// A small stub resolver on dns-packet: node:dns's resolveMx hides TTLs and folds NXDOMAIN and
// NODATA together, and mail routing needs both. UDP first, TCP when truncated (RFC 7766),
// answers cached for their TTL, negative answers for the SOA minimum (RFC 2308 §5).
import dgram from "node:dgram";
import { getServers } from "node:dns";
import net from "node:net";
import * as packet from "dns-packet";
import type { DnsFacts } from "../core/verdict.ts";
import { BoundedCache } from "./cache.ts";

export interface MxHost {
  name: string;
  preference: number;
  addresses: string[]; // IPv4 first, then IPv6
}

export type MailRoute =
  | { kind: "mx"; hosts: MxHost[] }
  | { kind: "implicit_mx"; hosts: MxHost[] } // RFC 5321 §5.1: no MX, the domain's own address
  | { kind: "null_mx" } // RFC 7505
  // Every MX target is NXDOMAIN or has no A/AAAA: RFC 5321 §5.1 makes that a permanent failure.
  | { kind: "no_mx_address"; hosts: DeadMxHost[] }
  | { kind: "nxdomain" }
  | { kind: "no_mail" }
  | { kind: "error"; detail: string };

export interface DeadMxHost {
  name: string;
  preference: number;
  /** The A and AAAA questions were both answered: the name does not exist, or has no address. */
  why: "nxdomain" | "no_address";
}

/** What the verdict needs to know of a mail route. */
export function dnsFacts(route: MailRoute): DnsFacts {
  switch (route.kind) {
    case "mx":
    case "implicit_mx":
    case "no_mx_address":
      return { kind: route.kind, hosts: route.hosts.map((h) => h.name) };
    case "error":
      return { kind: "error", detail: route.detail };
    default:
      return { kind: route.kind };
  }
}

/** A route's line in a transcript. */
export function describeRoute(domain: string, route: MailRoute): string {
  if (route.kind === "no_mx_address") {
    return `dns: ${domain} MX → ${route.hosts.map((h) => `${h.preference} ${h.name} [${h.why}]`).join("; ")}`;
  }
  if (route.kind !== "mx" && route.kind !== "implicit_mx") return `dns: ${domain} → ${route.kind}`;
  const hosts = route.hosts.map((h) => `${h.preference} ${h.name} [${h.addresses.join(", ")}]`);
  return `dns: ${domain} ${route.kind === "mx" ? "MX" : "implicit MX"} → ${hosts.join("; ")}`;
}

/** An MX target's addresses, or why it has none; "error" means we could not tell. */
type HostAddresses =
  | { kind: "found"; addresses: string[] }
  | { kind: "none"; why: DeadMxHost["why"] }
  | { kind: "error"; detail: string };

export type RecordType = "A" | "AAAA" | "MX" | "TXT" | "PTR";

export type Lookup =
  | { ok: true; rcode: "NOERROR"; records: string[]; ttl: number } // records may be [] (NODATA)
  | { ok: true; rcode: "NXDOMAIN"; records: []; ttl: number }
  | { ok: false; error: "timeout" | "servfail" | "refused" | "malformed" | "network"; detail: string };

export interface ResolverOptions {
  servers?: string[] | undefined;
  timeoutMs?: number;
  attempts?: number;
  maxTtlS?: number;
  negativeTtlS?: number;
  /** Answers kept at most; the least recently used go first. */
  maxCacheEntries?: number;
  now?: () => number;
  onLookup?: (durationMs: number, outcome: string) => void;
}

export interface Resolver {
  mailRoute(domain: string): Promise<MailRoute>;
  lookup(name: string, type: RecordType): Promise<Lookup>;
}

export const DNS_TIMEOUT_MS = 2000;
const EDNS_UDP_SIZE = 1232; // the DNS flag day 2020 recommendation
/** A few answers per domain (MX, A, AAAA): tens of thousands of domains, a few MB. */
export const DNS_CACHE_ENTRIES = 50_000;
/**
 * MX hosts followed per domain, lowest preference first, and addresses tried per host. A zone
 * can list thousands (a TCP answer holds 64 KB): each would cost lookups and connection
 * attempts on a stranger's say-so. Postfix stops at 5 addresses (smtp_mx_address_limit).
 */
export const MAX_MX_HOSTS = 10;
export const MAX_HOST_ADDRESSES = 4;

interface Server {
  host: string;
  port: number;
}

export function parseServer(s: string): Server {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, port: Number(v6[2] ?? 53) };
  if (net.isIPv6(s)) return { host: s, port: 53 };
  const [host, port] = s.split(":");
  return { host: host!, port: Number(port ?? 53) };
}

export function reverseName(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  // Expand "::" then write each nibble, least significant first (RFC 3596 §2.5).
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const hex = groups.map((g) => g.padStart(4, "0")).join("");
  return `${hex.split("").reverse().join(".")}.ip6.arpa`;
}

const outcomeOf = (l: Lookup): string => (l.ok ? l.rcode : l.error);
const normalise = (name: string) => name.toLowerCase().replace(/\.$/, "");

function recordText(a: packet.Answer): string | null {
  switch (a.type) {
    case "A":
    case "AAAA":
    case "PTR":
      return normalise(String(a.data));
    case "MX": {
      const mx = a.data as { preference: number; exchange: string };
      return `${mx.preference} ${normalise(mx.exchange)}`;
    }
    case "TXT": {
      const parts = (Array.isArray(a.data) ? a.data : [a.data]) as (string | Buffer)[];
      return parts.map((p) => p.toString()).join("");
    }
    default:
      return null;
  }
}

function exchange(server: Server, query: Buffer, timeoutMs: number, tcp: boolean): Promise<Buffer> {
  return tcp ? exchangeTcp(server, query, timeoutMs) : exchangeUdp(server, query, timeoutMs);
}

function exchangeUdp(server: Server, query: Buffer, timeoutMs: number): Promise<Buffer> {
  const id = query.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? "udp6" : "udp4");
    const timer = setTimeout(() => done(new Error("timeout")), timeoutMs);
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    socket.on("message", (msg, rinfo) => {
      // Ignore stray or spoofed datagrams: the answer must come from the server, with our id.
      if (msg.length < 12 || msg.readUInt16BE(0) !== id || rinfo.port !== server.port) return;
      done(null, msg);
    });
    socket.on("error", (e) => done(e));
    socket.send(query, server.port, server.host);
  });
}

function exchangeTcp(server: Server, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timeout"));
    }, timeoutMs);
    socket.on("connect", () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export function createResolver(opts: ResolverOptions = {}): Resolver {
  const servers = (opts.servers?.length ? opts.servers : getServers()).map(parseServer);
  const timeoutMs = opts.timeoutMs ?? DNS_TIMEOUT_MS;
  const attempts = opts.attempts ?? 2;
  const maxTtlS = opts.maxTtlS ?? 3600;
  const negativeTtlS = opts.negativeTtlS ?? 300;
  const now = opts.now ?? Date.now;
  const cache = new BoundedCache<string, Lookup>({ maxEntries: opts.maxCacheEntries ?? DNS_CACHE_ENTRIES, now });
  const inFlight = new Map<string, Promise<Lookup>>();
  const noEdns = new Set<string>();

  async function query(name: string, type: RecordType): Promise<Lookup> {
    const started = performance.now();
    let last: Lookup = { ok: false, error: "network", detail: "no DNS server configured" };
    for (let attempt = 0; attempt < attempts; attempt++) {
      for (const server of servers) {
        const id = Math.floor(Math.random() * 65536);
        // EDNS0 unless this server has shown it does not understand it (RFC 6891 §7: FORMERR).
        const edns = !noEdns.has(`${server.host}:${server.port}`);
        const q = packet.encode({
          type: "query",
          id,
          flags: packet.RECURSION_DESIRED,
          questions: [{ type, name, class: "IN" }],
          ...(edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: EDNS_UDP_SIZE } as packet.Answer] } : {}),
        });
        try {
          let raw = await exchange(server, q, timeoutMs, false);
          let res = packet.decode(raw);
          if ((res.flags ?? 0) & packet.TRUNCATED_RESPONSE) {
            raw = await exchange(server, q, timeoutMs, true);
            res = packet.decode(raw);
          }
          const question = res.questions?.[0];
          // Some small servers leave the question out of the answer; the id must match regardless.
          if (res.id !== id || (question && (normalise(question.name) !== name || question.type !== type))) {
            last = { ok: false, error: "malformed", detail: "answer does not match the question" };
            continue;
          }
          const rcode = (res as { rcode?: string }).rcode;
          if (edns && (rcode === "FORMERR" || rcode === "NOTIMP")) {
            noEdns.add(`${server.host}:${server.port}`);
            attempt--; // ask the same server again, plainly: this try does not count
            break;
          }
          last = interpret(res, type);
          // SERVFAIL and REFUSED may be one server's trouble: try the next.
          if (!last.ok && (last.error === "servfail" || last.error === "refused")) continue;
          opts.onLookup?.(performance.now() - started, outcomeOf(last));
          return last;
        } catch (e) {
          const msg = (e as Error).message;
          last = msg === "timeout"
            ? { ok: false, error: "timeout", detail: `${server.host}:${server.port} did not answer` }
            : { ok: false, error: "network", detail: msg };
        }
      }
    }
    opts.onLookup?.(performance.now() - started, outcomeOf(last));
    return last;
  }

  function interpret(res: packet.Packet, type: RecordType): Lookup {
    const rcode = (res as { rcode?: string }).rcode ?? "NOERROR";
    if (rcode === "SERVFAIL") return { ok: false, error: "servfail", detail: "SERVFAIL" };
    if (rcode === "REFUSED") return { ok: false, error: "refused", detail: "REFUSED" };
    // Negative TTL: the lower of the SOA's own TTL and its MINIMUM field (RFC 2308 §5).
    const soa = res.authorities?.find((a) => a.type === "SOA") as
      | { ttl?: number; data: { minimum: number } }
      | undefined;
    const negTtl = soa ? Math.min(soa.ttl ?? negativeTtlS, soa.data.minimum) : negativeTtlS;
    if (rcode === "NXDOMAIN") return { ok: true, rcode: "NXDOMAIN", records: [], ttl: negTtl };
    if (rcode !== "NOERROR") return { ok: false, error: "malformed", detail: rcode };
    // A recursive server follows CNAMEs: keep the records of the asked type, whatever their name.
    const answers = (res.answers ?? []).filter((a) => a.type === type);
    const records = answers.map(recordText).filter((r): r is string => r !== null);
    if (records.length === 0) return { ok: true, rcode: "NOERROR", records: [], ttl: negTtl };
    const ttl = Math.min(...answers.map((a) => (a as { ttl?: number }).ttl ?? 0));
    return { ok: true, rcode: "NOERROR", records, ttl };
  }

  function lookup(rawName: string, type: RecordType): Promise<Lookup> {
    const name = normalise(rawName);
    const key = `${type} ${name}`;
    const hit = cache.get(key);
    if (hit) return Promise.resolve(hit);
    const pending = inFlight.get(key);
    if (pending) return pending;
    const p = query(name, type).then((value) => {
      inFlight.delete(key);
      if (value.ok) cache.set(key, value, Math.min(value.ttl, maxTtlS) * 1000);
      return value;
    });
    inFlight.set(key, p);
    return p;
  }

  /** IPv4 first; AAAA only when there is no A (probes rarely have IPv6 port 25 with a PTR,
   *  and servers that drop AAAA queries would otherwise cost a timeout per host). */
  async function addresses(name: string): Promise<HostAddresses> {
    if (net.isIP(name)) return { kind: "found", addresses: [name] }; // an MX naming an IP literal: lenient, as MTAs are
    const a = await lookup(name, "A");
    if (a.ok && a.records.length > 0) return { kind: "found", addresses: a.records.slice(0, MAX_HOST_ADDRESSES) };
    // AAAA is asked even after an NXDOMAIN for A: "no address" is a verdict, so it needs both
    // questions answered. A CNAME'd name counts by its target's records (see interpret).
    const aaaa = await lookup(name, "AAAA");
    if (aaaa.ok && aaaa.records.length > 0) return { kind: "found", addresses: aaaa.records.slice(0, MAX_HOST_ADDRESSES) };
    if (!a.ok) return { kind: "error", detail: a.detail };
    if (!aaaa.ok) return { kind: "error", detail: aaaa.detail };
    return { kind: "none", why: a.rcode === "NXDOMAIN" || aaaa.rcode === "NXDOMAIN" ? "nxdomain" : "no_address" };
  }

  async function mailRoute(rawDomain: string): Promise<MailRoute> {
    const domain = normalise(rawDomain);
    const mx = await lookup(domain, "MX");
    if (!mx.ok) return { kind: "error", detail: `MX ${domain}: ${mx.detail}` };
    if (mx.rcode === "NXDOMAIN") return { kind: "nxdomain" };
    if (mx.records.length > 0) {
      const parsed = mx.records.map((r) => {
        const [pref, name] = r.split(" ");
        return { preference: Number(pref), name: name ?? "" };
      });
      const real = parsed.filter((p) => p.name !== "");
      // RFC 7505: "MX 0 ." alone means the domain takes no mail; mixed in, it is ignored.
      if (real.length === 0) return { kind: "null_mx" };
      // RFC 5321 §5.1: lowest preference first, equal preferences in random order.
      const shuffled = real
        .map((p) => ({ p, r: Math.random() }))
        .sort((x, y) => x.p.preference - y.p.preference || x.r - y.r)
        .slice(0, MAX_MX_HOSTS)
        .map(({ p }) => p);
      const resolved = await Promise.all(shuffled.map(async (p) => ({ ...p, found: await addresses(p.name) })));
      const hosts = resolved.map((h) => ({
        name: h.name,
        preference: h.preference,
        addresses: h.found.kind === "found" ? h.found.addresses : [],
      }));
      if (hosts.some((h) => h.addresses.length > 0)) return { kind: "mx", hosts };
      // No target has an address. Undeliverable only when every one was answered for
      // (RFC 5321 §5.1); one SERVFAIL or timeout among them and we cannot tell.
      const failed = resolved.find((h) => h.found.kind === "error");
      if (failed?.found.kind === "error") return { kind: "error", detail: `A/AAAA ${failed.name}: ${failed.found.detail}` };
      return {
        kind: "no_mx_address",
        hosts: resolved.map((h) => ({
          name: h.name,
          preference: h.preference,
          why: h.found.kind === "none" ? h.found.why : "no_address",
        })),
      };
    }
    // NODATA for MX: the implicit MX is the domain's own address (RFC 5321 §5.1).
    const a = await lookup(domain, "A");
    if (a.ok && a.rcode === "NXDOMAIN") return { kind: "nxdomain" };
    const addrs = await addresses(domain);
    if (addrs.kind === "error") return { kind: "error", detail: `A/AAAA ${domain}: ${addrs.detail}` };
    if (addrs.kind === "none") return { kind: "no_mail" };
    return { kind: "implicit_mx", hosts: [{ name: domain, preference: 0, addresses: addrs.addresses }] };
  }

  return { lookup, mailRoute };
}
