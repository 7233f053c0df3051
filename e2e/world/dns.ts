// The simulated world's authoritative-and-recursive DNS server on loopback UDP, on dns-packet.
// Unknown names are NXDOMAIN, known names without the asked type are NODATA, both with an SOA
// for negative caching; some names answer SERVFAIL. Answers leave `rttMs` after the query.
import dgram from "node:dgram";
import * as packet from "dns-packet";

export interface ZoneRecords {
  A?: string[];
  AAAA?: string[];
  MX?: { preference: number; exchange: string }[];
  TXT?: string[];
  PTR?: string[];
  /** An alias: answered, with the target's records of the asked type, as a recursive server does. */
  CNAME?: string;
}

export interface DnsWorld {
  zone: Map<string, ZoneRecords>;
  servfail: Set<string>;
}

const TTL_S = 300;
const SOA = {
  name: "test",
  type: "SOA" as const,
  ttl: 60,
  data: { mname: "ns.world.test", rname: "hostmaster.world.test", serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
};

export function startDns(world: DnsWorld, rttMs: number): Promise<{ port: number; close: () => Promise<void>; queries: () => number }> {
  const socket = dgram.createSocket("udp4");
  let queries = 0;
  socket.on("message", (msg, rinfo) => {
    let q: packet.Packet;
    try {
      q = packet.decode(msg);
    } catch {
      return;
    }
    queries++;
    const question = q.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase().replace(/\.$/, "");
    const records = world.zone.get(name);
    let rcode = 0;
    const answers: packet.Answer[] = [];
    const authorities: packet.Answer[] = [];
    if (world.servfail.has(name)) rcode = 2;
    else if (!records) {
      rcode = 3;
      authorities.push(SOA);
    } else if (records.CNAME && question.type !== "CNAME") {
      // One level of alias is all the world needs (RFC 2181 §10.3 forbids MX → CNAME; MTAs follow it anyway).
      const target = records.CNAME;
      answers.push({ name: question.name, type: "CNAME", ttl: TTL_S, data: target } as packet.Answer);
      const data = world.zone.get(target)?.[question.type as keyof Omit<ZoneRecords, "CNAME">] as unknown[] | undefined;
      for (const d of data ?? []) answers.push({ name: target, type: question.type, ttl: TTL_S, data: d } as packet.Answer);
      if (!world.zone.has(target)) rcode = 3; // RFC 6604: the rcode speaks for the last name in the chain
      if (answers.length === 1) authorities.push(SOA);
    } else {
      const type = question.type as keyof ZoneRecords;
      const data = records[type] as unknown[] | undefined;
      for (const d of data ?? []) answers.push({ name: question.name, type: question.type, ttl: TTL_S, data: d } as packet.Answer);
      if (answers.length === 0) authorities.push(SOA);
    }
    const response = packet.encode({
      type: "response",
      id: q.id,
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | packet.AUTHORITATIVE_ANSWER | rcode,
      questions: q.questions,
      answers,
      authorities,
    });
    const send = () => socket.send(response, rinfo.port, rinfo.address);
    if (rttMs > 0) setTimeout(send, rttMs);
    else send();
  });
  return new Promise((resolve) => {
    socket.bind(0, "127.0.0.1", () => {
      resolve({
        port: (socket.address() as { port: number }).port,
        queries: () => queries,
        close: () => new Promise<void>((r) => socket.close(() => r())),
      });
    });
  });
}
