// The verification engine: syntax and lists (core/), DNS, then SMTP through the per-MX scheduler.
// Everything that verifies addresses (CLI, daemon, benchmark) goes through `createEngine`.
//
// Memory does not grow with the list (issue 9, item 6): addresses are pulled from the caller's
// (async) iterable through a window of `window` addresses admitted and not yet answered, shared
// by every call on the engine; results are handed over as they finish and not kept; per-domain
// state lives only while the domain has addresses in flight, and caches are bounded.
import { setMaxListeners } from "node:events";
import { parseAddress, type ParsedAddress } from "../core/address.ts";
import type { FindAnswer, FindCandidate, Result } from "../core/contracts.ts";
import { composeFind, isKnownPattern, names, refusesMailbox, waveSize } from "../core/finder/answer.ts";
import { isDisposable, isFree, isRole } from "../core/lists.ts";
import { suggestDomain } from "../core/suggest.ts";
import { buildResult, invalidSyntaxResult } from "../core/result.ts";
import type { DnsFacts, Facts } from "../core/verdict.ts";
import { BoundedCache } from "./cache.ts";
import { createResolver, type MailRoute, type MxHost } from "./dns.ts";
import { formatReply } from "./smtp/reply.ts";
import { createSharedMxState, type CatchAllAnswer, type SharedMxState } from "./shared.ts";
import { FairGate, Semaphore } from "./concurrency.ts";
import type { EngineObserver } from "./observer.ts";
import { MxGroup, type Recipient, type RecipientOutcome } from "./smtp/scheduler.ts";

export interface EngineOptions {
  /** MAIL FROM reverse-path; "" sends the null sender `<>`. */
  from: string;
  /** EHLO name; should match the host's PTR record in production. */
  helo: string;
  /** DNS servers as "host" or "host:port"; empty means the system resolver's servers. */
  dnsServers: string[];
  /** SMTP port (25 in production; the simulated world uses another). */
  port: number;
  /** Per-phase SMTP timeout in milliseconds. */
  timeoutMs: number;
  /** Global cap on simultaneous SMTP connections. */
  concurrency: number;
  /** Simultaneous connections to one MX host. */
  perHostConnections: number;
  /** How long greylisted addresses may be retried before answering unknown. */
  greylistBudgetMs: number;
  /** How long a domain's catch-all answer is reused. */
  catchAllTtlMs: number;
  /** Addresses admitted and not yet answered, across all calls: the memory bound. */
  window: number;
  /**
   * Talk SMTP to loopback, private, link-local and other non-public addresses. Off in
   * production: an MX record is anyone's to write (issue 10). The CLI and daemon set it from
   * MXRAY_ALLOW_PRIVATE_TARGETS; tests and benchmarks on the loopback world set it themselves.
   */
  allowPrivateTargets: boolean;
  /** Circuit breakers, catch-all answers and provider deferrals; shared by the fleet through
   *  Redis when the daemon has it, else this engine's own memory. */
  shared?: SharedMxState;
  observer?: EngineObserver;
}

export interface VerifyCall {
  /** Milliseconds the whole call may take, greylist retries included. */
  budgetMs?: number;
  /**
   * Milliseconds one input (an address, or a person's search) may take from its admission to
   * its answer, whatever its mail server does: then it is answered with what it has. With at
   * most `window` inputs admitted at once, a call of n inputs ends within about
   * ceil(n / window) of these (the CLI's --budget).
   */
  addressBudgetMs?: number;
  trace?: boolean;
  signal?: AbortSignal;
  /**
   * Hand results over in input order. The window then spans from the oldest unanswered input to
   * the newest admitted one, so the reorder buffer never exceeds it: a slow address at the head
   * (a silent MX, greylisting) holds admission back once the window is full, trading throughput
   * for bounded memory. Unordered calls only wait for any address to finish.
   */
  ordered?: boolean;
  /** Admitted ahead of other calls' waiting addresses: a single check someone waits for. */
  urgent?: boolean;
}

export interface Engine {
  /**
   * Verifies each input and calls onResult once per input with its position (from 0), as each
   * finishes (in input order when `call.ordered`). Inputs are pulled only as the window has room,
   * so a slow consumer of an async source holds admission back. A source that throws stops
   * admission; verify rejects with its error once the addresses in flight are answered.
   */
  verify(
    emails: Iterable<string> | AsyncIterable<string>,
    call: VerifyCall,
    onResult: (r: Result, index: number) => void,
  ): Promise<void>;
  /**
   * Finds each person's address (issue 14): their candidates, likeliest first, are asked about in
   * one SMTP transaction, 1, 2, 4… at a time (pipelined), until one is accepted or shows its
   * mailbox exists; a refusal of one mailbox moves on, any other answer (no mail, a block, a
   * timeout) ends the search. A greylisting server gets every remaining candidate at once, so all
   * their retries fall due together. The catch-all test and the budget are verification's.
   * onAnswer is called once per person with its position.
   */
  find(
    people: Iterable<FindCandidate[]> | AsyncIterable<FindCandidate[]>,
    call: VerifyCall,
    onAnswer: (a: FindAnswer, index: number) => void,
  ): Promise<void>;
  /** SMTP connections currently open. */
  openConnections(): number;
  close(): Promise<void>;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  from: "",
  helo: "localhost",
  dnsServers: [],
  port: 25,
  timeoutMs: 10_000,
  concurrency: 32,
  perHostConnections: 2,
  greylistBudgetMs: 3 * 60_000,
  catchAllTtlMs: 24 * 60 * 60_000,
  window: 2048,
  allowPrivateTargets: false,
};

interface Entry {
  /** Each input that normalised to this address while it was in flight, with its position. */
  inputs: { input: string; index: number }[];
  /** A finder's candidate: answered to its person's search, not to the caller. */
  chain: Chain | null;
  domain: DomainRun;
  parsed: Extract<ParsedAddress, { ok: true }>;
  disposable: boolean;
  role: boolean;
  free: boolean;
  suggestion: string | null;
  startedAt: number;
  /** When its answer is due (VerifyCall.addressBudgetMs, or the call's budget). */
  deadline: number;
  trace: string[] | null;
  dns: DnsFacts | null;
}

/** One person's search for an address (Engine.find). */
interface Chain {
  index: number;
  candidates: FindCandidate[];
  /** Results of the candidates asked about, by candidate position. */
  results: (Result | undefined)[];
  /** The next candidate to ask about. */
  next: number;
  round: number;
  /** Candidates asked about and not yet answered. */
  open: number;
  startedAt: number;
  /** The person's answer is due then: every candidate shares it. */
  deadline: number;
  /** The server greylisted a candidate of a pattern not known for the domain: the rest have
   *  been asked at once. */
  greylisted: boolean;
  /** The likeliest candidate so far that named a mailbox: the ones after it are not needed. */
  found: number | null;
  answered: boolean;
}

/** Per domain within one call, while it has addresses in flight: its route, the catch-all
 *  answer, and accepted entries waiting for it. */
interface DomainRun {
  name: string;
  route: Promise<MailRoute>;
  catchAll: boolean | null | undefined; // undefined: the probe has not answered yet
  /** What showed the catch-all answer (this probe's test, or the fleet's). */
  evidence: CatchAllAnswer | null;
  /** Who tests the domain: this run, or another probe whose answer is awaited. */
  tester: "self" | "fleet";
  /** The domain's MX hosts once resolved: a test taken over from the fleet is queued to them. */
  hosts: MxHost[] | null;
  /** The route once resolved: a finder's next candidates are queued at once, in the open
   *  transaction, without waiting for a promise. */
  resolved: MailRoute | null;
  probing: boolean;
  waiting: { entry: Entry; outcome: RecipientOutcome }[];
  /** Entries not yet answered, plus an outstanding catch-all probe. */
  active: number;
}

/** Rejections a session may reach while a finder's chained candidates continue its transaction
 *  (those of earlier transactions count too): the candidates of one person belong together, and
 *  Postfix only drops a client at 20 (smtpd_hard_error_limit). */
export const CHAIN_REJECTION_LIMIT = 16;
const DNS_CONCURRENCY = 64;
/** Domains whose typo fix is remembered across calls. */
const DOMAIN_CACHE_ENTRIES = 20_000;
const PROBE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A mailbox name nobody has: letters and digits, starting with a letter. */
function randomLocalPart(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  let s = PROBE_ALPHABET[bytes[0]! % 26]!;
  for (const b of bytes.subarray(1)) s += PROBE_ALPHABET[b % PROBE_ALPHABET.length];
  return s;
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

function describeRoute(domain: string, route: MailRoute): string {
  if (route.kind === "no_mx_address") {
    return `dns: ${domain} MX → ${route.hosts.map((h) => `${h.preference} ${h.name} [${h.why}]`).join("; ")}`;
  }
  if (route.kind !== "mx" && route.kind !== "implicit_mx") return `dns: ${domain} → ${route.kind}`;
  const hosts = route.hosts.map((h) => `${h.preference} ${h.name} [${h.addresses.join(", ")}]`);
  return `dns: ${domain} ${route.kind === "mx" ? "MX" : "implicit MX"} → ${hosts.join("; ")}`;
}

/** What a rejected mailbox says about its domain's catch-all status, when nothing better is known. */
function catchAllFromOutcome(o: RecipientOutcome): boolean | null {
  if (o.smtp.kind !== "reply") return null;
  switch (o.smtp.rcpt) {
    case "accepted":
      return true;
    case "mailbox_not_found":
    case "mailbox_disabled":
      return false; // it refuses some mailboxes, so it does not accept all
    // A policy refusal or an unplaced 5xx says nothing about whether every mailbox is taken.
    default:
      return null;
  }
}

export function createEngine(options: Partial<EngineOptions> = {}): Engine {
  const opts: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  const resolver = createResolver({
    servers: opts.dnsServers.length ? opts.dnsServers : undefined,
    onLookup: (ms, outcome) => opts.observer?.dnsLookup?.(ms, outcome),
  });
  const slots = new Semaphore(opts.concurrency);
  const dnsSlots = new Semaphore(DNS_CONCURRENCY);
  // Shared by every call (batches and single checks), handed out fairly between them.
  const admission = new FairGate(opts.window);
  const shared = opts.shared ?? createSharedMxState({ probeId: "local" });
  const suggestions = new BoundedCache<string, string | null>({ maxEntries: DOMAIN_CACHE_ENTRIES });

  /** Verification and finding share one run: an input is an address, or a person's candidates. */
  async function run<Out>(
    source: Iterable<string | FindCandidate[]> | AsyncIterable<string | FindCandidate[]>,
    call: VerifyCall,
    onResult: (out: Out, index: number) => void,
  ) {
    const deadline = call.budgetMs ? Date.now() + call.budgetMs : Number.POSITIVE_INFINITY;
    /** When an input admitted now is due. */
    const dueFrom = (now: number) => Math.min(deadline, call.addressBudgetMs ? now + call.addressBudgetMs : Number.POSITIVE_INFINITY);
    const signals = [call.signal, call.budgetMs ? AbortSignal.timeout(call.budgetMs) : undefined];
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    const signal = live.length ? AbortSignal.any(live) : undefined;
    // Every session and wait of the call listens to it: many listeners is the design, not a leak.
    if (signal) setMaxListeners(0, signal);

    // Answered inputs leave here: in order (held until the head is answered) or at once. Each
    // one hands its admission slot back.
    const flow = admission.flow(call.urgent ?? false);
    const held = new Map<number, Out>();
    let head = 0;
    let unanswered = 0;
    let sourceDone = false;
    let allAnswered: (() => void) | null = null;
    const release = (r: Out, index: number) => {
      admission.release(flow);
      unanswered--;
      onResult(r, index);
    };
    const answer = (r: Out, index: number) => {
      if (!call.ordered) release(r, index);
      else {
        held.set(index, r);
        for (let next = held.get(head); next; next = held.get(head)) {
          held.delete(head);
          release(next, head++);
        }
      }
      if (sourceDone && unanswered === 0) allAnswered?.();
    };

    const emit = (entry: Entry | null, input: string, index: number, parsed: ParsedAddress, f: Facts, o: RecipientOutcome | null) => {
      const smtp = o?.smtp;
      const mx =
        smtp && "mx" in smtp && smtp.mx
          ? smtp.mx
          : f.dns?.kind === "mx" || f.dns?.kind === "implicit_mx"
            ? (f.dns.hosts[0] ?? null)
            : null;
      const result = buildResult({
        email: input,
        normalized: parsed.ok ? parsed.normalized : null,
        facts: f,
        suggestion: entry?.suggestion ?? null,
        mx,
        smtp: smtp?.kind === "reply" ? smtp.reply : smtp?.kind === "protocol_error" ? smtp.reply : null,
        durationMs: Date.now() - (entry?.startedAt ?? Date.now()),
        greylistedUntil: o?.greylistedUntil ?? null,
        ...(call.trace ? { trace: entry?.trace ?? [] } : {}),
      });
      opts.observer?.resultReady?.(result);
      if (entry?.chain) candidateAnswered(entry.chain, index, result);
      else answer(result as Out, index);
    };

    // Identical addresses in flight together are checked once and answered per input.
    const inFlight = new Map<string, Entry>();
    const domains = new Map<string, DomainRun>();
    const groups = new Map<string, { group: MxGroup; outstanding: number }>();
    const byId = new Map<number, { entry: Entry | null; run: DomainRun; groupKey: string }>();
    let nextId = 0;

    const settleDomain = (run: DomainRun) => {
      if (--run.active === 0 && domains.get(run.name) === run) domains.delete(run.name);
    };

    const finish = (entry: Entry, outcome: RecipientOutcome | null, catchAll: boolean | null) => {
      const f: Facts = {
        syntax: { ok: true },
        disposable: entry.disposable,
        role: entry.role,
        free: entry.free,
        dns: entry.dns,
        smtp: outcome?.smtp ?? null,
        catchAll,
      };
      if (outcome?.smtp.kind === "private_target") {
        const { mx, address } = outcome.smtp;
        entry.trace?.push(`smtp: not connecting to ${mx} [${address}]: not a public address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)`);
      }
      const evidence = entry.domain.evidence;
      if (evidence) {
        const when = new Date(evidence.testedAt).toISOString();
        entry.trace?.push(`catch-all: ${evidence.catchAll ? "yes" : "no"}: a random mailbox got ${evidence.reply} from ${evidence.mx} (probe ${evidence.probe}, ${when})`);
      }
      if (!entry.chain) inFlight.delete(entry.parsed.normalized);
      for (const { input, index } of entry.inputs) emit(entry, input, index, entry.parsed, f, outcome);
      settleDomain(entry.domain);
    };

    const settleCatchAll = (run: DomainRun, value: boolean | null, evidence: CatchAllAnswer | null) => {
      run.catchAll = value;
      run.evidence = evidence;
      run.probing = false;
      for (const w of run.waiting.splice(0)) finish(w.entry, w.outcome, value);
      settleDomain(run);
    };

    const onOutcome = (rcpt: Recipient, outcome: RecipientOutcome) => {
      const { entry, run, groupKey } = byId.get(rcpt.id)!;
      byId.delete(rcpt.id);
      const g = groups.get(groupKey);
      if (g && --g.outstanding === 0) {
        // An idle group is dropped once its sessions have said QUIT; a later address for the
        // same hosts starts a new one.
        void g.group.done().then(() => {
          if (g.outstanding === 0 && groups.get(groupKey) === g) groups.delete(groupKey);
        });
      }
      if (!entry) {
        const value = catchAllFromOutcome(outcome);
        const smtp = outcome.smtp;
        const answer =
          value === null || smtp.kind !== "reply"
            ? null
            : { catchAll: value, reply: formatReply(smtp.reply), mx: smtp.mx, probe: shared.probeId, testedAt: Date.now() };
        void shared.saveCatchAll(run.name, answer, opts.catchAllTtlMs);
        return settleCatchAll(run, value, answer);
      }
      const accepted = outcome.smtp.kind === "reply" && outcome.smtp.rcpt === "accepted";
      if (accepted && run.catchAll === undefined) {
        run.waiting.push({ entry, outcome });
        return;
      }
      finish(entry, outcome, accepted ? (run.catchAll ?? null) : (run.catchAll ?? catchAllFromOutcome(outcome)));
    };

    const schedulerOpts = {
      from: opts.from,
      helo: opts.helo,
      port: opts.port,
      timeoutMs: opts.timeoutMs,
      perHostConnections: opts.perHostConnections,
      greylistBudgetMs: opts.greylistBudgetMs,
      tls: true,
      allowPrivateTargets: opts.allowPrivateTargets,
      trace: call.trace ?? false,
      followUpRejectionLimit: CHAIN_REJECTION_LIMIT,
      ...(opts.observer ? { observer: opts.observer } : {}),
    };

    const domainRun = (name: string): DomainRun => {
      let run = domains.get(name);
      if (!run) {
        const created: DomainRun = {
          name,
          route: Promise.resolve({ kind: "no_mail" }),
          catchAll: undefined,
          evidence: null,
          tester: "self",
          hosts: null,
          resolved: null,
          probing: false,
          waiting: [],
          active: 0,
        };
        // A domain with mail gets the fleet's catch-all answer, or is claimed for testing here,
        // or is left to the probe that claimed it first.
        created.route = (async () => {
          await dnsSlots.acquire();
          let route: MailRoute;
          try {
            route = await resolver.mailRoute(name);
          } finally {
            dnsSlots.release();
          }
          if ((route.kind === "mx" || route.kind === "implicit_mx") && !isDisposable(name)) {
            const found = await shared.lookupCatchAll(name);
            if (typeof found === "string") created.tester = found === "test" ? "self" : "fleet";
            else {
              created.catchAll = found.catchAll;
              created.evidence = found;
            }
          }
          created.resolved = route;
          return route;
        })();
        run = created;
        domains.set(name, run);
      }
      run.active++;
      return run;
    };

    /** Queues recipients, with whom each answers to, to the MX group of these hosts. */
    type Queued = { rcpt: Omit<Recipient, "id">; entry: Entry | null; run: DomainRun };
    const enqueue = (hosts: MxHost[], items: Queued[]) => {
      // Hosts in preference order; equal preferences are shuffled per lookup, so sort for the key.
      const groupKey = hosts.map((h) => `${h.preference}:${h.name}`).sort().join(",");
      let g = groups.get(groupKey);
      if (!g) {
        g = { group: new MxGroup(hosts, schedulerOpts, slots, shared, () => deadline, onOutcome, signal), outstanding: 0 };
        groups.set(groupKey, g);
      }
      const rcpts = items.map(({ rcpt, entry, run }) => {
        const id = nextId++;
        byId.set(id, { entry, run, groupKey });
        return { ...rcpt, id };
      });
      g.outstanding += rcpts.length;
      g.group.add(rcpts);
    };
    /** The domain's random-mailbox test, due when the address that asked for it is. */
    const catchAllTest = (run: DomainRun, due: number): Queued => ({
      rcpt: { local: randomLocalPart(), domain: run.name, smtputf8: false, catchAllProbe: true, trace: null, deadline: due },
      entry: null,
      run,
    });

    const route = (entry: Entry, route: MailRoute) => {
      const run = entry.domain;
      entry.dns = dnsFacts(route);
      entry.trace?.push(describeRoute(run.name, route));
      // Disposable domains are risky whatever their server says: spare it the RCPTs.
      if ((route.kind !== "mx" && route.kind !== "implicit_mx") || entry.disposable) return finish(entry, null, null);
      run.hosts = route.hosts;
      const { local, smtputf8 } = entry.parsed;
      const rcpt: Omit<Recipient, "id"> = { local, domain: run.name, smtputf8, catchAllProbe: false, trace: entry.trace, deadline: entry.deadline };
      const chain = entry.chain;
      if (chain) {
        // The candidates after the first continue its transaction.
        if (chain.round > 1 || chain.greylisted) rcpt.followUp = true;
        const slot = entry.inputs[0]!.index;
        rcpt.onGreylisted = () => greylistedCandidate(chain, slot);
        rcpt.needed = () => chain.found === null || slot < chain.found;
      }
      const items: Queued[] = [{ rcpt, entry, run }];
      if (run.catchAll === undefined && !run.probing) {
        run.probing = true;
        run.active++;
        if (run.tester === "self") items.push(catchAllTest(run, entry.deadline));
        else {
          // Half the time left at most, so a claimant that died still leaves time to test here.
          void shared.awaitCatchAll(run.name, (entry.deadline - Date.now()) / 2, signal).then((answer) => {
            if (answer) settleCatchAll(run, answer.catchAll, answer);
            else enqueue(route.hosts, [catchAllTest(run, entry.deadline)]); // nobody answered in time: test it here
          });
        }
      }
      enqueue(route.hosts, items);
    };

    const newEntry = (parsed: Extract<ParsedAddress, { ok: true }>, input: string, index: number, chain: Chain | null): Entry => ({
      inputs: [{ input, index }],
      chain,
      domain: domainRun(parsed.domain),
      parsed,
      disposable: isDisposable(parsed.domain),
      role: isRole(parsed.local),
      free: isFree(parsed.domain),
      suggestion: suggestionFor(parsed, suggestions),
      startedAt: Date.now(),
      deadline: chain ? chain.deadline : dueFrom(Date.now()),
      trace: call.trace ? [] : null,
      dns: null,
    });

    /** Asks about the chain's next wave of candidates (all the rest once greylisted). */
    const askNext = (chain: Chain) => {
      const size = chain.greylisted ? chain.candidates.length : waveSize(chain.round);
      chain.round++;
      const wave = chain.candidates.slice(chain.next, chain.next + size).map((c, i) => ({ email: c.email, slot: chain.next + i }));
      chain.next += wave.length;
      chain.open += wave.length;
      for (const { email, slot } of wave) {
        const parsed = parseAddress(email);
        if (!parsed.ok) {
          candidateAnswered(chain, slot, invalidSyntaxResult(email));
          continue;
        }
        const entry = newEntry(parsed, email, slot, chain);
        const resolved = entry.domain.resolved;
        // Synchronously when the route is known, so the candidates reach the open transaction.
        if (resolved) route(entry, resolved);
        else void entry.domain.route.then((r) => route(entry, r));
      }
    };

    // A known pattern's candidate is likely right: its retry alone usually settles the search.
    // Otherwise every candidate's greylisting clock should start now, not one wave per delay.
    const greylistedCandidate = (chain: Chain, slot: number) => {
      if (chain.greylisted || isKnownPattern(chain.candidates[slot]!)) return;
      chain.greylisted = true;
      if (chain.next < chain.candidates.length) askNext(chain);
    };

    const candidateAnswered = (chain: Chain, slot: number, result: Result) => {
      chain.results[slot] = result;
      chain.open--;
      if (names(result) && (chain.found === null || slot < chain.found)) {
        chain.found = slot;
        // Later candidates still waiting (a greylisting retry) are settled without asking.
        if (chain.open > 0) for (const g of groups.values()) g.group.prune();
      }
      if (chain.open > 0 || chain.answered) return;
      const asked = chain.results.filter((r): r is Result => r !== undefined);
      const searching = !asked.some(names) && asked.every(refusesMailbox) && chain.next < chain.candidates.length;
      if (searching) return askNext(chain);
      chain.answered = true;
      answer(composeFind(chain.candidates, chain.results, Date.now() - chain.startedAt) as Out, chain.index);
    };

    const admitPerson = (candidates: FindCandidate[], index: number) => {
      const now = Date.now();
      const chain: Chain = { index, candidates, results: [], next: 0, round: 0, open: 0, startedAt: now, deadline: dueFrom(now), greylisted: false, found: null, answered: false };
      if (candidates.length === 0) return answer(composeFind([], [], 0) as Out, index);
      askNext(chain);
    };

    const admit = (input: string, index: number) => {
      // Lists carry stray spaces and tabs around cells; nothing else is forgiven.
      const parsed = parseAddress(input.replace(/^[ \t]+|[ \t]+$/g, ""));
      if (!parsed.ok) {
        const f: Facts = {
          syntax: { ok: false, reason: parsed.reason },
          disposable: false,
          role: false,
          free: false,
          dns: null,
          smtp: null,
          catchAll: null,
        };
        return emit(null, input, index, parsed, f, null);
      }
      const existing = inFlight.get(parsed.normalized);
      if (existing) return void existing.inputs.push({ input, index });
      const entry = newEntry(parsed, input, index, null);
      inFlight.set(parsed.normalized, entry);
      void entry.domain.route.then((r) => route(entry, r));
    };

    let sourceError: { error: unknown } | null = null;
    let index = 0;
    try {
      for await (const input of source) {
        await admission.acquire(flow);
        unanswered++;
        if (typeof input === "string") admit(input, index++);
        else admitPerson(input, index++);
      }
    } catch (error) {
      sourceError = { error };
    }
    sourceDone = true;
    if (unanswered > 0) await new Promise<void>((resolve) => (allAnswered = resolve));
    if (sourceError) throw sourceError.error;
  }

  return {
    verify: (emails, call, onResult) => run<Result>(emails, call, onResult),
    find: (people, call, onAnswer) => run<FindAnswer>(people, call, onAnswer),
    openConnections: () => slots.inUse,
    close: async () => {},
  };
}

function suggestionFor(parsed: Extract<ParsedAddress, { ok: true }>, cache: BoundedCache<string, string | null>): string | null {
  let fixed = cache.get(parsed.unicodeDomain);
  if (fixed === undefined) {
    fixed = suggestDomain(parsed.unicodeDomain);
    cache.set(parsed.unicodeDomain, fixed);
  }
  return fixed ? `${parsed.local}@${fixed}` : null;
}
