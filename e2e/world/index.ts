// The simulated mail world: scripted DNS and SMTP servers on loopback addresses, with the truth
// of every address. Tests, the benchmark and the offline demo run against it.
import { readFileSync } from "node:fs";
import type net from "node:net";
import { startDns } from "./dns.ts";
import type { FinderOptions, FinderWorld } from "./finder.ts";
import { buildScenario, type BulkOptions, type Expected, type FleetOptions, type FleetWorld } from "./scenario.ts";
import { startHost, type HostStats, type SmtpGate, type SmtpWorldCounters } from "./smtp.ts";

export type { Expected, FleetOptions, FleetWorld } from "./scenario.ts";
export type { FinderDomain, FinderOptions, FinderPerson, FinderWorld } from "./finder.ts";
export { soakAccepts, soakDomain } from "./scenario.ts";

export interface WorldOptions {
  /** Simulated network round trip, applied to every DNS answer and SMTP reply. */
  rttMs?: number;
  /** How long a greylisted (client, sender, recipient) triplet waits before it is accepted. */
  greylistDelayMs?: number;
  /** Generated domains for the benchmark. */
  bulk?: BulkOptions;
  /** Mail domains for the soak (scenario.ts soakDomain): `ok-…` mailboxes exist, others do not. */
  acceptingDomains?: number;
  /** The fleet benchmark's domains (scenario.ts FleetOptions). */
  fleet?: FleetOptions;
  /** The finder benchmark's company domains (finder.ts FinderOptions). */
  finder?: FinderOptions;
}

export interface World {
  dnsServer: string;
  smtpPort: number;
  /** host:port of a world MX that greets with 220: a probe's self-check target (MXRAY_SELF_CHECK_TARGETS) inside the world. */
  selfCheckTarget: string;
  truth: Map<string, Expected>;
  /** The scripted addresses, in a stable order (e2e/world/sample.txt). */
  addresses: string[];
  /** The generated addresses, when `bulk` was asked for. */
  bulkAddresses: string[];
  /** The fleet benchmark's list and counters, when `fleet` was asked for. */
  fleet: FleetWorld | null;
  /** The finder benchmark's domains and staff, when `finder` was asked for. */
  finder: FinderWorld | null;
  stats(): { connections: number; rcpts: number; transactions: number; dataCommands: number; perHost: Record<string, HostStats> };
  /** Every SMTP host holds its replies (DNS still answers) until resume(): a test's "not yet". */
  pause(): void;
  resume(): void;
  transcript(host?: string): string[];
  stop(): Promise<void>;
}

const emptyStats = (): HostStats => ({ connections: 0, rcpts: 0, transactions: 0, maxConcurrent: 0, open: 0, deferred: 0 });
const fixture = (f: string) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url));

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const rttMs = opts.rttMs ?? 0;
  const scenario = buildScenario({ greylistDelayMs: opts.greylistDelayMs ?? 1000, bulk: opts.bulk, acceptingDomains: opts.acceptingDomains, fleet: opts.fleet, finder: opts.finder });
  const tlsMaterial = { key: fixture("test-key.pem"), cert: fixture("test-cert.pem") };
  const counters: SmtpWorldCounters = { dataCommands: 0, transcript: [] };
  const gate: SmtpGate = { waiting: null };
  const perHost: Record<string, HostStats> = {};
  const dns = await startDns({ zone: scenario.zone, servfail: scenario.servfail }, rttMs);

  // Every host listens on the same port at its own address; find a port free on all of them.
  const up = scenario.hosts.filter((h) => h.mode !== "down");
  let servers: net.Server[] = [];
  let port = 0;
  for (let tries = 0; tries < 20 && servers.length < up.length; tries++) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    servers = [];
    port = 0;
    try {
      for (const h of up) {
        perHost[h.name] = emptyStats();
        const s = await startHost(h, port, rttMs, tlsMaterial, perHost[h.name]!, counters, gate);
        servers.push(s);
        if (port === 0) port = (s.address() as net.AddressInfo).port;
      }
    } catch {
      // That port is taken at one of the addresses: start again with a new one.
    }
  }
  if (servers.length < up.length) throw new Error("world: no port free on every host address");
  for (const h of scenario.hosts) perHost[h.name] ??= emptyStats();

  return {
    dnsServer: `127.0.0.1:${dns.port}`,
    smtpPort: port,
    selfCheckTarget: `${scenario.hosts.find((h) => h.name === "mx.ok.test")!.ip}:${port}`,
    truth: scenario.truth,
    addresses: scenario.addresses,
    bulkAddresses: scenario.bulkAddresses,
    fleet: scenario.fleet,
    finder: scenario.finder,
    pause() {
      gate.waiting ??= new Set();
    },
    resume() {
      const waiting = gate.waiting;
      gate.waiting = null;
      for (const drain of waiting ?? []) drain();
    },
    stats() {
      const hosts = Object.values(perHost);
      return {
        connections: hosts.reduce((n, h) => n + h.connections, 0),
        rcpts: hosts.reduce((n, h) => n + h.rcpts, 0),
        transactions: hosts.reduce((n, h) => n + h.transactions, 0),
        dataCommands: counters.dataCommands,
        perHost: structuredClone(perHost),
      };
    },
    transcript(host) {
      return host ? counters.transcript.filter((l) => l.startsWith(`${host} `)) : [...counters.transcript];
    },
    async stop() {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await dns.close();
    },
  };
}
