// What the simulated world contains: scripted domains (one per behaviour a verifier must get
// right), generated bulk domains for the benchmark, and the truth for every address.
import type { Reason, Verdict } from "../../core/verdict.ts";
import type { ZoneRecords } from "./dns.ts";
import { addFinderWorld, type FinderOptions, type FinderWorld } from "./finder.ts";
import { ACCEPT, GREYLISTED, greylisting, providerLimiter, UNKNOWN, type HostScript, type ProviderLimits } from "./smtp.ts";

export interface Expected {
  verdict: Verdict;
  reason: Reason;
  /** What catch_all should say; null where the world makes no claim. */
  catch_all: boolean | null;
}

export interface Scenario {
  hosts: HostScript[];
  zone: Map<string, ZoneRecords>;
  servfail: Set<string>;
  truth: Map<string, Expected>;
  addresses: string[];
  bulkAddresses: string[];
  fleet: FleetWorld | null;
  finder: FinderWorld | null;
}

type Mailbox = "ok" | "full4" | "full5" | "disabled";

const MAILBOX_REPLY: Record<Mailbox, (a: string) => string[]> = {
  ok: () => ACCEPT,
  full4: () => ["452 4.2.2 Mailbox full"],
  full5: () => ["552 5.2.2 Mailbox full"],
  disabled: () => ["550 5.2.1 Mailbox disabled"],
};
const EXPECT: Record<Mailbox | "missing", Expected> = {
  ok: { verdict: "deliverable", reason: "accepted", catch_all: false },
  full4: { verdict: "risky", reason: "mailbox_full", catch_all: null },
  full5: { verdict: "risky", reason: "mailbox_full", catch_all: null },
  disabled: { verdict: "undeliverable", reason: "mailbox_disabled", catch_all: null },
  missing: { verdict: "undeliverable", reason: "mailbox_not_found", catch_all: false },
};

export interface BulkOptions {
  domains: number;
  addresses: number;
  seed: number;
  /** Every host answers at once: no greylisting domain, no Postfix error-limit delays. For
   *  measuring what the probe holds at scale rather than how long it waits. */
  immediate?: boolean;
}

/**
 * The fleet benchmark's world (issue 13): what several probes rediscover each on their own.
 * Per 10,000 addresses: 10 dead-MX domains (their only MX accepts TCP and never greets), 20
 * catch-all domains, 60 domains on one deferring provider (mx1/mx2.bigmail.test) and 100
 * ordinary ones, every host answering at once.
 */
export interface FleetOptions {
  addresses: number;
  seed: number;
  /** The provider's per-client limits (default: 6 open, 10 per second). */
  provider?: ProviderLimits;
  /** The provider's clock (tests inject one). */
  now?: () => number;
}

export interface FleetWorld {
  /** The list, in the shuffled order a customer's file has. */
  addresses: string[];
  deadHosts: string[];
  deadDomains: string[];
  catchAllDomains: string[];
  providerHosts: string[];
  providerDomains: string[];
  /** RCPTs per catch-all domain for mailboxes not on the list: the verifiers' random-mailbox tests. */
  randomRcpts: Map<string, number>;
}

export const FLEET_PROVIDER_LIMITS: ProviderLimits = { maxOpen: 6, maxPerWindow: 10, windowMs: 1000 };

/** Deterministic PRNG (mulberry32) so the bulk world is the same for every run of a seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The soak world's mail domains (acc<n>.soak.test): each host answers at once, accepting the
 * mailboxes named `ok-…` and refusing every other one, so a generated address's truth is its
 * name and a million of them need no table. Domains under soak.test that are not listed here do
 * not exist (NXDOMAIN, answered without SMTP).
 */
export const soakDomain = (n: number) => `acc${n}.soak.test`;
export const soakAccepts = (local: string) => local.startsWith("ok-");

export function buildScenario(opts: {
  greylistDelayMs: number;
  bulk?: BulkOptions | undefined;
  acceptingDomains?: number | undefined;
  fleet?: FleetOptions | undefined;
  finder?: FinderOptions | undefined;
}): Scenario {
  const hosts: HostScript[] = [];
  const zone = new Map<string, ZoneRecords>();
  const servfail = new Set<string>();
  const truth = new Map<string, Expected>();
  const addresses: string[] = [];
  const bulkAddresses: string[] = [];
  let nextIp = 10;
  const ip = () => `127.0.0.${nextIp++}`;

  const expect = (address: string, e: Expected, bulk = false) => {
    truth.set(address, e);
    (bulk ? bulkAddresses : addresses).push(address);
  };

  /** A host whose RCPT answers come from a mailbox table; unknown mailboxes get `missing`. */
  function mailboxRcpt(table: Map<string, Mailbox>, missing = UNKNOWN) {
    return (address: string) => {
      const local = address.slice(0, address.lastIndexOf("@")).toLowerCase();
      const box = table.get(local);
      return box ? MAILBOX_REPLY[box](address) : missing(address);
    };
  }

  function addHost(script: Omit<HostScript, "ip"> & { ip?: string }): HostScript {
    const h = { ...script, ip: script.ip ?? ip() } as HostScript;
    hosts.push(h);
    zone.set(h.name, { ...(zone.get(h.name) ?? {}), A: [h.ip] });
    return h;
  }

  function mxDomain(domain: string, mx: { preference: number; host: HostScript }[]) {
    zone.set(domain, { ...(zone.get(domain) ?? {}), MX: mx.map((m) => ({ preference: m.preference, exchange: m.host.name })) });
  }

  /** A domain on its own host, with a mailbox table; returns the table for truth-keeping. */
  function simpleDomain(domain: string, boxes: Record<string, Mailbox>, missing: string[], extra: Partial<HostScript> = {}) {
    const table = new Map(Object.entries(boxes));
    const host = addHost({ name: `mx.${domain}`, mode: "up", rcpt: mailboxRcpt(table), ...extra });
    mxDomain(domain, [{ preference: 10, host }]);
    for (const [local, box] of table) expect(`${local}@${domain}`, EXPECT[box]);
    for (const local of missing) expect(`${local}@${domain}`, EXPECT.missing);
    return host;
  }

  // A plain Postfix-like domain, with a role account and full and disabled mailboxes.
  simpleDomain("ok.test", { alice: "ok", bob: "ok", carol: "ok", info: "ok", fullbox: "full4", overquota: "full5", gone: "disabled" }, ["nobody", "no.such.user"]);

  // Gmail-like: multi-line greeting and rejections, free provider.
  {
    const table = new Map<string, Mailbox>([["jane.doe", "ok"], ["john.smith", "ok"]]);
    const host = addHost({
      name: "gmail-smtp-in.l.google.com",
      mode: "up",
      greeting: ["220-mx.google.com ESMTP ready", "220 mx.google.com at your service"],
      rcpt: mailboxRcpt(table, () => [
        "550-5.1.1 The email account that you tried to reach does not exist. Please try",
        "550-5.1.1 double-checking the recipient's email address for typos or",
        "550-5.1.1 unnecessary spaces. For more information, go to",
        "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser world - gsmtp",
      ]),
    });
    mxDomain("gmail.com", [{ preference: 5, host }]);
    for (const l of table.keys()) expect(`${l}@gmail.com`, EXPECT.ok);
    expect("no.such.person@gmail.com", EXPECT.missing);
  }

  // Accept-all.
  {
    const host = addHost({ name: "mx.catchall.test", mode: "up", rcpt: () => ACCEPT });
    mxDomain("catchall.test", [{ preference: 10, host }]);
    for (const l of ["anyone", "sales"]) expect(`${l}@catchall.test`, { verdict: "risky", reason: "catch_all", catch_all: true });
  }

  // DNS-level outcomes.
  zone.set("nullmx.test", { MX: [{ preference: 0, exchange: "." }], A: ["127.0.0.1"] });
  expect("user@nullmx.test", { verdict: "undeliverable", reason: "null_mx", catch_all: null });
  expect("user@nxdomain.test", { verdict: "undeliverable", reason: "no_such_domain", catch_all: null });
  zone.set("nomail.test", { TXT: ["v=spf1 -all"] });
  expect("user@nomail.test", { verdict: "undeliverable", reason: "no_mail_server", catch_all: null });
  servfail.add("servfail.test");
  expect("user@servfail.test", { verdict: "unknown", reason: "dns_error", catch_all: null });

  // Sender domains for the bulk-sender checklist (probe/sending/sendercheck.ts, issue 23): one that
  // meets Gmail's and Yahoo's rules (SPF, DKIM at selector mx1, DMARC p=quarantine, an MX for its
  // bounce domain), one that is weak (no SPF, DMARC p=none, no bounce MX), one with two SPF records.
  zone.set("sender.test", { TXT: ["v=spf1 include:_spf.relay.test -all", "sender-site-verification=4f1c2a"] });
  zone.set("mx1._domainkey.sender.test", { TXT: ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"] });
  zone.set("_dmarc.sender.test", { TXT: ["v=DMARC1; p=quarantine; rua=mailto:dmarc@sender.test"] });
  zone.set("bounce.sender.test", { MX: [{ preference: 10, exchange: "mx.bounce.sender.test" }] });
  zone.set("weak.test", { TXT: ["weak-site-verification=9a7b"] });
  zone.set("_dmarc.weak.test", { TXT: ["v=DMARC1; p=none; rua=mailto:dmarc@weak.test"] });
  zone.set("revoked._domainkey.weak.test", { TXT: ["v=DKIM1; p="] });
  zone.set("twospf.test", { TXT: ["v=spf1 include:a.test -all", "v=spf1 include:b.test ~all"] });

  // MX targets that do not exist (RFC 5321 §5.1): every target NXDOMAIN, or without A/AAAA, is
  // undeliverable; one dead target beside a live one is only skipped; a target whose lookup
  // fails says nothing. A CNAME'd target resolves like any other.
  zone.set("deadmx.test", { MX: [{ preference: 10, exchange: "mx1.deadmx.test" }, { preference: 20, exchange: "mx2.deadmx.test" }] });
  expect("user@deadmx.test", { verdict: "undeliverable", reason: "no_mx_address", catch_all: null });
  zone.set("noaddrmx.test", { MX: [{ preference: 10, exchange: "mx.noaddrmx.test" }] });
  zone.set("mx.noaddrmx.test", { TXT: ["a name with no address"] });
  expect("user@noaddrmx.test", { verdict: "undeliverable", reason: "no_mx_address", catch_all: null });
  {
    const up = addHost({ name: "mx2.halfdead.test", mode: "up", rcpt: mailboxRcpt(new Map([["user", "ok"]])) });
    zone.set("halfdead.test", { MX: [{ preference: 10, exchange: "mx1.halfdead.test" }, { preference: 20, exchange: up.name }] });
    expect("user@halfdead.test", EXPECT.ok);
    expect("nobody@halfdead.test", EXPECT.missing);
  }
  zone.set("mxservfail.test", { MX: [{ preference: 10, exchange: "mx1.mxservfail.test" }, { preference: 20, exchange: "mx2.mxservfail.test" }] });
  servfail.add("mx2.mxservfail.test"); // mx1 is NXDOMAIN: still not proof, mx2 might exist
  expect("user@mxservfail.test", { verdict: "unknown", reason: "dns_error", catch_all: null });
  {
    const real = addHost({ name: "real.cnamemx.test", mode: "up", rcpt: mailboxRcpt(new Map([["user", "ok"]])) });
    zone.set("mx.cnamemx.test", { CNAME: real.name });
    zone.set("cnamemx.test", { MX: [{ preference: 10, exchange: "mx.cnamemx.test" }] });
    expect("user@cnamemx.test", EXPECT.ok);
  }

  // Implicit MX: no MX record, the domain's own A record takes mail.
  {
    const host = addHost({ name: "implicit.test", mode: "up", rcpt: mailboxRcpt(new Map([["user", "ok"]])) });
    void host;
    expect("user@implicit.test", EXPECT.ok);
    expect("nobody@implicit.test", EXPECT.missing);
  }

  // Primary MX down, secondary up.
  {
    const down = addHost({ name: "mx1.failover.test", mode: "down", rcpt: () => ACCEPT });
    const up = addHost({ name: "mx2.failover.test", mode: "up", rcpt: mailboxRcpt(new Map([["user", "ok"]])) });
    mxDomain("failover.test", [{ preference: 10, host: down }, { preference: 20, host: up }]);
    expect("user@failover.test", EXPECT.ok);
    expect("nobody@failover.test", EXPECT.missing);
  }

  // Every MX refuses connections.
  {
    const a = addHost({ name: "mx1.alldown.test", mode: "down", rcpt: () => ACCEPT });
    const b = addHost({ name: "mx2.alldown.test", mode: "down", rcpt: () => ACCEPT });
    mxDomain("alldown.test", [{ preference: 10, host: a }, { preference: 20, host: b }]);
    expect("user@alldown.test", { verdict: "unknown", reason: "mx_unreachable", catch_all: null });
  }

  // Banner never comes.
  {
    const host = addHost({ name: "mx.slowbanner.test", mode: "silent", rcpt: () => ACCEPT });
    mxDomain("slowbanner.test", [{ preference: 10, host }]);
    expect("user@slowbanner.test", { verdict: "unknown", reason: "timeout", catch_all: null });
  }

  // Greylisting (Postgrey-like), resolved after greylistDelayMs; and one that never lets go.
  {
    const table = new Map<string, Mailbox>([["user", "ok"], ["second", "ok"]]);
    const host = addHost({
      name: "mx.greylist.test",
      mode: "up",
      rcpt: greylisting(opts.greylistDelayMs, mailboxRcpt(table), (address) => [
        `450 4.2.0 <${address}>: Recipient address rejected: Greylisted, see http://postgrey.world.test/`,
      ]),
    });
    mxDomain("greylist.test", [{ preference: 10, host }]);
    expect("user@greylist.test", EXPECT.ok);
    expect("second@greylist.test", EXPECT.ok);
    expect("ghost@greylist.test", EXPECT.missing);
    const forever = addHost({ name: "mx.greyforever.test", mode: "up", rcpt: () => ["451 4.7.1 Please try again later"] });
    mxDomain("greyforever.test", [{ preference: 10, host: forever }]);
    expect("user@greyforever.test", { verdict: "unknown", reason: "greylisted", catch_all: null });
  }

  // Policy: a blocklist rejection on RCPT, and a refused greeting.
  {
    const host = addHost({
      name: "mx.policy.test",
      mode: "up",
      rcpt: () => ["550 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"],
    });
    mxDomain("policy.test", [{ preference: 10, host }]);
    expect("user@policy.test", { verdict: "unknown", reason: "policy_block", catch_all: null });
    const blocked = addHost({ name: "mx.blocked.test", mode: "up", greeting: ["554 5.7.1 Access denied"], rcpt: () => ACCEPT });
    mxDomain("blocked.test", [{ preference: 10, host: blocked }]);
    expect("user@blocked.test", { verdict: "unknown", reason: "policy_block", catch_all: null });
  }

  // Limits: 421 after 3 RCPTs per connection; 452 4.5.3 after 3 per transaction.
  {
    const users = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`u${i + 1}`, "ok" as Mailbox]));
    simpleDomain("limit421.test", users, ["x1", "x2"], { closeAfterRcpts: 3 });
    simpleDomain("rcptlimit.test", users, ["x1", "x2"], { maxRcptsPerTx: 3 });
  }

  // STARTTLS required before MAIL.
  simpleDomain("tls.test", { secure: "ok" }, ["nobody"], { starttls: true, requireTls: true });

  // SMTPUTF8 offered, and not offered.
  simpleDomain("utf8.test", { "josé": "ok", "用户": "ok" }, ["nadie"], { smtputf8: true });
  {
    simpleDomain("noutf8.test", { plain: "ok" }, [], { smtputf8: false });
    expect("josé@noutf8.test", { verdict: "undeliverable", reason: "smtputf8_unsupported", catch_all: null });
  }

  // Postfix-like error limits: soft 3 (then 200 ms per reply), hard 6 (then 421).
  simpleDomain(
    "errlimit.test",
    Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`real${i + 1}`, "ok" as Mailbox])),
    Array.from({ length: 12 }, (_, i) => `miss${i + 1}`),
    { errorLimits: { soft: 3, hard: 6, delayMs: 200 } },
  );

  // Postfix's default error limits (smtpd_soft_error_limit 10, smtpd_hard_error_limit 20), for a
  // finder's long chains of refused candidates; one mailbox, and no listed addresses (the
  // finder's tests ask it, verification's truth does not include it).
  {
    const host = addHost({ name: "mx.postfix.test", mode: "up", rcpt: mailboxRcpt(new Map([["real", "ok" as Mailbox]])), errorLimits: { soft: 10, hard: 20, delayMs: 50 } });
    mxDomain("postfix.test", [{ preference: 10, host }]);
  }

  // A pre-ESMTP server: EHLO unknown (client falls back to HELO), no PIPELINING.
  simpleDomain("oldhost.test", { user: "ok" }, ["nobody"], { ehlo: false, pipelining: false });

  // An IDN domain (bücher.test), reached by its A-label.
  {
    const host = addHost({ name: "mx.xn--bcher-kva.test", mode: "up", rcpt: mailboxRcpt(new Map([["kontakt", "ok"]])) });
    mxDomain("xn--bcher-kva.test", [{ preference: 10, host }]);
    expect("kontakt@bücher.test", EXPECT.ok);
  }

  // A disposable service (accepts everything; risky whatever SMTP says).
  {
    const host = addHost({ name: "mail.mailinator.com", mode: "up", rcpt: () => ACCEPT });
    mxDomain("mailinator.com", [{ preference: 10, host }]);
    expect("throwaway@mailinator.com", { verdict: "risky", reason: "disposable", catch_all: null });
  }

  // Invalid syntax never reaches the network.
  expect("not-an-address", { verdict: "undeliverable", reason: "invalid_syntax", catch_all: null });
  expect("double..dot@ok.test", { verdict: "undeliverable", reason: "invalid_syntax", catch_all: null });

  if (opts.bulk) addBulk(opts.bulk);
  const fleet = opts.fleet ? addFleet(opts.fleet) : null;
  const finder = opts.finder ? addFinderWorld(opts.finder, { rand: prng(opts.finder.seed), styleRand: prng(opts.finder.seed + 0x9e3779b9), greylistDelayMs: opts.greylistDelayMs, addHost, mxDomain }) : null;
  for (let d = 0; d < (opts.acceptingDomains ?? 0); d++) {
    const domain = soakDomain(d);
    // 127.1.x.y: clear of the scripted (127.0.0.x) and bulk (127.0.x.y) hosts.
    const host = addHost({
      name: `mx.${domain}`,
      ip: `127.1.${Math.floor(d / 250)}.${1 + (d % 250)}`,
      mode: "up",
      rcpt: (address) => (soakAccepts(address.slice(0, address.lastIndexOf("@"))) ? ACCEPT : UNKNOWN(address)),
    });
    mxDomain(domain, [{ preference: 10, host }]);
  }

  /** The benchmark's world: generated domains with a realistic mix, Postfix default limits. */
  function addBulk(bulk: BulkOptions) {
    const rand = prng(bulk.seed);
    const weights = Array.from({ length: bulk.domains }, (_, i) => 1 / Math.pow(i + 1, 0.8));
    const sum = weights.reduce((a, b) => a + b, 0);
    let hostIndex = 0;
    const bulkIp = () => {
      const n = hostIndex++;
      return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
    };
    let made = 0;
    for (let d = 0; d < bulk.domains; d++) {
      const domain = `bulk${d}-${Math.floor(rand() * 1e6).toString(36)}.test`;
      const count = d === bulk.domains - 1 ? bulk.addresses - made : Math.max(1, Math.round((weights[d]! / sum) * bulk.addresses));
      const n = Math.min(count, bulk.addresses - made);
      made += n;
      const kind = d === 1 || d === 7 ? "catchall" : d === 5 ? "nullmx" : d === 9 ? "nxdomain" : d === 3 && !bulk.immediate ? "greylist" : "normal";
      const locals = Array.from({ length: n }, (_, i) => `user${i}.${Math.floor(rand() * 1e9).toString(36)}`);
      if (kind === "nullmx") {
        zone.set(domain, { MX: [{ preference: 0, exchange: "." }] });
        for (const l of locals) expect(`${l}@${domain}`, { verdict: "undeliverable", reason: "null_mx", catch_all: null }, true);
        continue;
      }
      if (kind === "nxdomain") {
        for (const l of locals) expect(`${l}@${domain}`, { verdict: "undeliverable", reason: "no_such_domain", catch_all: null }, true);
        continue;
      }
      const table = new Map<string, Mailbox>();
      for (const l of locals) {
        const r = rand();
        if (kind === "catchall") {
          expect(`${l}@${domain}`, { verdict: "risky", reason: "catch_all", catch_all: true }, true);
          continue;
        }
        if (r < 0.83) table.set(l, "ok");
        else if (r < 0.85) table.set(l, "full4");
        expect(`${l}@${domain}`, table.has(l) ? EXPECT[table.get(l)!] : EXPECT.missing, true);
      }
      const inner = kind === "catchall" ? () => ACCEPT : mailboxRcpt(table);
      const rcpt = kind === "greylist" ? greylisting(opts.greylistDelayMs, inner, () => GREYLISTED) : inner;
      const host = addHost({
        name: `mx.${domain}`,
        ip: bulkIp(),
        mode: "up",
        rcpt,
        errorLimits: { soft: 10, hard: 20, delayMs: bulk.immediate ? 0 : 1000 }, // Postfix's defaults
      });
      mxDomain(domain, [{ preference: 10, host }]);
    }
  }

  function addFleet(f: FleetOptions): FleetWorld {
    const rand = prng(f.seed);
    const per10k = (n: number) => Math.max(1, Math.round((n * f.addresses) / 10_000));
    let hostIndex = 0;
    // 127.2.x.y: clear of the scripted (127.0.0.x), bulk (127.0.x.y) and soak (127.1.x.y) hosts.
    const fleetIp = () => {
      const n = hostIndex++;
      return `127.2.${Math.floor(n / 250)}.${1 + (n % 250)}`;
    };
    const name = (kind: string, i: number) => `${kind}${i}-${Math.floor(rand() * 1e6).toString(36)}.test`;
    const world: FleetWorld = { addresses: [], deadHosts: [], deadDomains: [], catchAllDomains: [], providerHosts: [], providerDomains: [], randomRcpts: new Map() };
    const ordinary: string[] = [];
    for (let i = 0; i < per10k(10); i++) world.deadDomains.push(name("dead", i));
    for (let i = 0; i < per10k(20); i++) world.catchAllDomains.push(name("accept", i));
    for (let i = 0; i < per10k(60); i++) world.providerDomains.push(name("onbig", i));
    for (let i = 0; i < per10k(100); i++) ordinary.push(name("plain", i));

    // Shares of the list: 8% dead MX, 15% catch-all, 30% on the provider, the rest ordinary.
    const pick = (domains: string[]) => domains[Math.floor(rand() * domains.length)]!;
    const locals = new Map<string, Set<string>>();
    for (let i = 0; i < f.addresses; i++) {
      const r = rand();
      const domain = pick(r < 0.08 ? world.deadDomains : r < 0.23 ? world.catchAllDomains : r < 0.53 ? world.providerDomains : ordinary);
      const local = `user${i}.${Math.floor(rand() * 1e9).toString(36)}`;
      let set = locals.get(domain);
      if (!set) locals.set(domain, (set = new Set()));
      set.add(local);
      world.addresses.push(`${local}@${domain}`);
    }
    // Fisher–Yates with the seeded PRNG: a domain's addresses are spread through the file.
    for (let i = world.addresses.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [world.addresses[i], world.addresses[j]] = [world.addresses[j]!, world.addresses[i]!];
    }
    const immediate = { soft: 10, hard: 20, delayMs: 0 }; // Postfix's error limits, without its sleeps

    /** Mailboxes for a domain's list addresses (83% exist, 2% full), with their truth. */
    const table = (domain: string, into: Map<string, Mailbox> = new Map()) => {
      for (const local of locals.get(domain) ?? []) {
        const r = rand();
        if (r < 0.83) into.set(local, "ok");
        else if (r < 0.85) into.set(local, "full4");
        truth.set(`${local}@${domain}`, into.has(local) ? EXPECT[into.get(local)!] : EXPECT.missing);
      }
      return into;
    };

    for (const domain of world.deadDomains) {
      const host = addHost({ name: `mx.${domain}`, ip: fleetIp(), mode: "silent", rcpt: () => ACCEPT });
      mxDomain(domain, [{ preference: 10, host }]);
      world.deadHosts.push(host.name);
      for (const local of locals.get(domain) ?? []) truth.set(`${local}@${domain}`, { verdict: "unknown", reason: "timeout", catch_all: null });
    }
    for (const domain of world.catchAllDomains) {
      const listed = locals.get(domain) ?? new Set<string>();
      world.randomRcpts.set(domain, 0);
      const rcpt = (address: string) => {
        if (!listed.has(address.slice(0, address.lastIndexOf("@")))) world.randomRcpts.set(domain, world.randomRcpts.get(domain)! + 1);
        return ACCEPT;
      };
      const host = addHost({ name: `mx.${domain}`, ip: fleetIp(), mode: "up", rcpt, errorLimits: immediate });
      mxDomain(domain, [{ preference: 10, host }]);
      for (const local of listed) truth.set(`${local}@${domain}`, { verdict: "risky", reason: "catch_all", catch_all: true });
    }
    {
      // One provider for many domains: one mailbox table keyed by the whole address.
      const boxes = new Map<string, Mailbox>();
      for (const domain of world.providerDomains) {
        for (const [local, box] of table(domain)) boxes.set(`${local}@${domain}`, box);
      }
      const rcpt = (address: string) => {
        const box = boxes.get(address.toLowerCase());
        return box ? MAILBOX_REPLY[box](address) : UNKNOWN(address);
      };
      const limiter = providerLimiter(f.provider ?? FLEET_PROVIDER_LIMITS, f.now);
      const mx = [1, 2].map((n) => addHost({ name: `mx${n}.bigmail.test`, ip: fleetIp(), mode: "up", rcpt, limiter, errorLimits: immediate }));
      world.providerHosts.push(...mx.map((h) => h.name));
      for (const domain of world.providerDomains) mxDomain(domain, mx.map((host) => ({ preference: 10, host })));
    }
    for (const domain of ordinary) {
      const host = addHost({ name: `mx.${domain}`, ip: fleetIp(), mode: "up", rcpt: mailboxRcpt(table(domain)), errorLimits: immediate });
      mxDomain(domain, [{ preference: 10, host }]);
    }
    return world;
  }

  return { hosts, zone, servfail, truth, addresses, bulkAddresses, fleet, finder };
}
