// `mxray doctor`: is this host fit to probe? Outbound port 25 (many clouds block it), a HELO
// name that resolves, forward-confirmed reverse DNS (RFC 8601 §3 "iprev"; receivers distrust
// hosts without it), and the IP's standing on the blocklists receivers consult.
import { Resolver } from "node:dns/promises";
import { isIPv4, isIPv6, Socket } from "node:net";
import { clip } from "../core/contracts.ts";

export const DEFAULT_PORT25_TARGETS = ["gmail-smtp-in.l.google.com:25", "mx1.hotmail.com:25"];
export const DEFAULT_BLOCKLISTS = ["zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net"];

export type LookupType = "A" | "AAAA" | "TXT" | "PTR";
/** PTR takes the IP address itself as the name. */
export type Lookup = (name: string, type: LookupType) => Promise<string[] | "NXDOMAIN" | { error: string }>;

export interface DoctorCheck {
  name: string;
  /** null: could not tell (the check was refused or skipped). */
  ok: boolean | null;
  detail: string;
}
export interface DoctorReport {
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  helo: string;
  ip?: string;
  dnsServers: string[];
  port25Targets: string[];
  blocklists: string[];
  timeoutMs: number;
  /** The simulated world (MXRAY_SIMULATED_WORLD): checks that only the real Internet answers are not applicable. */
  simulated?: boolean;
}

function resolverLookup(dnsServers: string[], timeoutMs: number): Lookup {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (dnsServers.length > 0) resolver.setServers(dnsServers);
  return async (name, type) => {
    try {
      switch (type) {
        case "A":
          return await resolver.resolve4(name);
        case "AAAA":
          return await resolver.resolve6(name);
        case "TXT":
          return (await resolver.resolveTxt(name)).map((parts) => parts.join(""));
        case "PTR":
          return await resolver.reverse(name);
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ENOTFOUND") return "NXDOMAIN";
      if (code === "ENODATA") return [];
      return { error: code ?? String(err) };
    }
  };
}

function splitTarget(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(":");
  const port = i > 0 ? Number(target.slice(i + 1)) : NaN;
  if (!Number.isInteger(port)) return { host: target, port: 25 };
  return { host: target.slice(0, i).replace(/^\[|\]$/g, ""), port };
}

/** Why a check is skipped in the simulated world: it says nothing about a real host. */
export const NOT_APPLICABLE = "not applicable: simulated world";

/** A greeting longer than this is not a mail server's; the idle timeout never ends a stream. */
const MAX_GREETING_CHARS = 16_384;

/** Connects, reads the greeting (RFC 5321 §4.2: "220-" lines continue, "220 " ends), sends QUIT. */
export function readBanner(target: string, timeoutMs: number): Promise<DoctorCheck> {
  const { host, port } = splitTarget(target);
  const name = `port 25 to ${target}`;
  return new Promise((resolve) => {
    const socket = new Socket();
    let buffer = "";
    let settled = false;
    function finish(check: DoctorCheck) {
      if (settled) return;
      settled = true;
      socket.setTimeout(0);
      if (check.ok) socket.end("QUIT\r\n");
      else socket.destroy();
      resolve(check);
    }
    socket.setTimeout(timeoutMs, () => finish({ name, ok: false, detail: `no greeting within ${timeoutMs} ms` }));
    socket.on("error", (err) => finish({ name, ok: false, detail: (err as { code?: string }).code ?? err.message }));
    socket.on("close", () => finish({ name, ok: false, detail: "closed before a greeting" }));
    socket.on("data", (data) => {
      buffer += data.toString("latin1");
      const lines = buffer.split("\r\n");
      const last = lines.slice(0, -1).find((l) => /^\d{3} /.test(l) || /^\d{3}$/.test(l));
      if (!last) {
        if (buffer.length > MAX_GREETING_CHARS) finish({ name, ok: false, detail: `no greeting in the first ${MAX_GREETING_CHARS} characters` });
        return;
      }
      const ok = last.startsWith("220");
      const shown = clip(last, 200);
      finish({ name, ok, detail: ok ? shown : `unexpected greeting: ${shown}` });
    });
    socket.connect(port, host);
  });
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

function addressesOf(answer: Awaited<ReturnType<Lookup>>): string[] {
  return Array.isArray(answer) ? answer : [];
}

function describeAnswer(answer: Awaited<ReturnType<Lookup>>): string {
  if (answer === "NXDOMAIN") return "NXDOMAIN";
  if (Array.isArray(answer)) return answer.length ? answer.join(", ") : "no records";
  return answer.error;
}

/** The DNSBL query name (RFC 5782 §2.1 for IPv4, §2.4 nibbles for IPv6). */
export function reversedIp(ip: string): string | null {
  if (isIPv4(ip)) return ip.split(".").reverse().join(".");
  if (!isIPv6(ip)) return null;
  const [head = "", tail = ""] = ip.includes("::") ? ip.split("::") : [ip, ""];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = Array(8 - headGroups.length - tailGroups.length).fill("0");
  const nibbles = [...headGroups, ...zeros, ...tailGroups].map((g) => g.padStart(4, "0")).join("");
  return nibbles.split("").reverse().join(".");
}

async function heloChecks(opts: DoctorOptions, lookup: Lookup): Promise<DoctorCheck[]> {
  // The world's DNS answers only its scenario's domains, never the probe's own name.
  if (opts.simulated) return [{ name: `HELO name ${opts.helo} resolves`, ok: null, detail: NOT_APPLICABLE }];
  const [a, aaaa] = await Promise.all([lookup(opts.helo, "A"), lookup(opts.helo, "AAAA")]);
  const heloAddresses = [...addressesOf(a), ...addressesOf(aaaa)];
  const checks: DoctorCheck[] = [
    {
      name: `HELO name ${opts.helo} resolves`,
      ok: heloAddresses.length > 0,
      detail: heloAddresses.length ? heloAddresses.join(", ") : `A: ${describeAnswer(a)}; AAAA: ${describeAnswer(aaaa)}`,
    },
  ];
  if (!opts.ip) {
    checks.push({ name: "reverse DNS (FCrDNS)", ok: null, detail: "skipped: give --ip to check" });
    return checks;
  }
  const ptr = await lookup(opts.ip, "PTR");
  const ptrNames = addressesOf(ptr).map(normalizeName);
  checks.push({
    name: `PTR of ${opts.ip} names ${opts.helo}`,
    ok: ptrNames.includes(normalizeName(opts.helo)),
    detail: `PTR: ${describeAnswer(ptr)}`,
  });
  checks.push({
    name: `${opts.helo} resolves back to ${opts.ip}`,
    ok: heloAddresses.includes(opts.ip),
    detail: heloAddresses.length ? heloAddresses.join(", ") : "no addresses",
  });
  return checks;
}

async function blocklistCheck(ip: string, zone: string, lookup: Lookup): Promise<DoctorCheck> {
  const name = `${ip} not on ${zone}`;
  const reversed = reversedIp(ip);
  if (!reversed) return { name, ok: null, detail: `not an IP address: ${ip}` };
  const query = `${reversed}.${zone}`;
  const answer = await lookup(query, "A");
  if (answer === "NXDOMAIN") return { name, ok: true, detail: "not listed" };
  if (!Array.isArray(answer)) return { name, ok: null, detail: `lookup failed: ${answer.error}` };
  if (answer.length === 0) return { name, ok: true, detail: "not listed" };
  // Spamhaus answers 127.255.255.x when it refuses the query (public resolver, over quota):
  // that says nothing about the IP.
  if (answer.every((addr) => addr.startsWith("127.255.255."))) {
    return { name, ok: null, detail: `query refused (${answer.join(", ")}): use your own resolver` };
  }
  const txt = await lookup(query, "TXT");
  const reason = addressesOf(txt).join(" ");
  return { name, ok: false, detail: `listed (${answer.join(", ")})${reason ? `: ${reason}` : ""}` };
}

export async function runDoctor(opts: DoctorOptions, deps: { lookup?: Lookup } = {}): Promise<DoctorReport> {
  const lookup = deps.lookup ?? resolverLookup(opts.dnsServers, opts.timeoutMs);
  const [banners, helo, lists] = await Promise.all([
    opts.simulated && opts.port25Targets.length === 0
      ? Promise.resolve([{ name: "port 25", ok: null, detail: `${NOT_APPLICABLE} (no MXRAY_SELF_CHECK_TARGETS of the world)` }])
      : Promise.all(opts.port25Targets.map((t) => readBanner(t, opts.timeoutMs))),
    heloChecks(opts, lookup),
    opts.ip
      ? Promise.all(opts.blocklists.map((zone) => blocklistCheck(opts.ip!, zone, lookup)))
      : Promise.resolve([{ name: "blocklists", ok: null, detail: "skipped: give --ip to check" }]),
  ]);
  return { checks: [...banners, ...helo, ...lists] };
}

export function doctorPassed(report: DoctorReport): boolean {
  return report.checks.every((c) => c.ok !== false);
}

export function printDoctor(report: DoctorReport, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  for (const check of report.checks) {
    const mark = check.ok === true ? "ok  " : check.ok === false ? "FAIL" : "??  ";
    write(`${mark} ${check.name}: ${check.detail}`);
  }
  write(doctorPassed(report) ? "doctor: no problems found" : "doctor: problems found (FAIL above)");
}
