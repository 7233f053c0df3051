// One call's address checks (Engine.verify's inputs, Engine.find's candidates): the lists and
// the typo suggestion (core/), the domain's mail route, an RCPT through the MX group of its hosts,
// the domain's catch-all answer (probe/catchall.ts), then the result record (core/result.ts).
// Identical addresses in flight together are checked once and answered per input; a domain's
// state lives only while it has addresses in flight, an MX group's while it has recipients.
import { parseAddress, type ParsedAddress } from "../core/address.ts";
import type { Result } from "../core/contracts.ts";
import { isDisposable, isFree, isRole } from "../core/lists.ts";
import { buildResult } from "../core/result.ts";
import { suggestDomain } from "../core/suggest.ts";
import type { DnsFacts, Facts } from "../core/verdict.ts";
import type { BoundedCache } from "./cache.ts";
import { CatchAll } from "./catchall.ts";
import { SingleFlight, type Semaphore } from "./concurrency.ts";
import { describeRoute, dnsFacts, type MailRoute, type MxHost, type Resolver } from "./dns.ts";
import type { FindChain } from "./finder.ts";
import type { EngineObserver } from "./observer.ts";
import type { SharedMxState } from "./shared.ts";
import type { WaitingBoard } from "./waiting.ts";
import { MxGroup, type Recipient, type RecipientOutcome, type SchedulerOptions } from "./smtp/scheduler.ts";

type Address = Extract<ParsedAddress, { ok: true }>;
type Answer = (r: Result, index: number) => void;

/** What every call on an engine shares. */
export interface EngineParts {
  resolver: Resolver;
  /** Caps DNS lookups in flight. */
  dnsSlots: Semaphore;
  /** Caps SMTP connections open. */
  slots: Semaphore;
  shared: SharedMxState;
  /** Typo fixes by domain, remembered across calls. */
  suggestions: BoundedCache<string, string | null>;
  catchAllTtlMs: number;
  observer: EngineObserver | undefined;
}

/** One call's budget and settings. */
export interface CallSetup {
  /** When the call must end (VerifyCall.budgetMs). */
  deadline: number;
  /** When an input admitted at `now` is due (VerifyCall.addressBudgetMs, within the deadline). */
  dueFrom(now: number): number;
  signal: AbortSignal | undefined;
  trace: boolean;
  /** What the call's addresses wait on (VerifyCall.waiting). */
  waiting: WaitingBoard | undefined;
  scheduler: SchedulerOptions;
}

interface Entry {
  /** Who takes its result: each verification input of its flight, or a person's chain. */
  owner: { kind: "inputs"; answer: Answer } | { kind: "candidate"; chain: FindChain; email: string; slot: number };
  domain: DomainRun;
  parsed: Address;
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

/** An accepted entry waiting for its domain's catch-all answer. */
interface Waiting {
  entry: Entry;
  outcome: RecipientOutcome;
}

/** A domain while it has addresses in flight in the call: its route and its catch-all answer. */
interface DomainRun {
  name: string;
  route: Promise<MailRoute>;
  /** The route once resolved: a finder's next candidates are queued at once, in the open
   *  transaction, without waiting for a promise. */
  resolved: MailRoute | null;
  /** Its MX hosts once an address was routed to them: a test taken over from the fleet is
   *  queued to them. */
  hosts: MxHost[] | null;
  catchAll: CatchAll<Waiting>;
  /** Entries not yet answered, plus a catch-all answer being learned. */
  active: number;
}

/** A recipient as queued: whom it answers to (no entry: the domain's catch-all test) and its
 *  MX group. The scheduler hands the same object back with its outcome, so nothing per address is
 *  kept beside it. */
interface Routed extends Recipient {
  entry: Entry | null;
  run: DomainRun;
  groupKey: string;
}

export class CallChecks {
  private readonly flights = new SingleFlight<string, { input: string; index: number }>();
  private readonly domains = new Map<string, DomainRun>();
  private readonly groups = new Map<string, { group: MxGroup; outstanding: number }>();
  /** Each MX host list's group key, made once: every address of a domain shares its route's list. */
  private readonly groupKeys = new WeakMap<readonly MxHost[], string>();

  constructor(
    private readonly parts: EngineParts,
    private readonly call: CallSetup,
  ) {}

  /** Verifies an input (its position `index`): `answer` is called once with its result. */
  verify(input: string, index: number, answer: Answer): void {
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
      return answer(this.result(null, input, parsed, f, null), index);
    }
    if (!this.flights.join(parsed.normalized, { input, index })) return;
    const entry = this.newEntry(parsed, { kind: "inputs", answer }, this.call.dueFrom(Date.now()));
    this.call.waiting?.start(entry, entry.startedAt);
    void entry.domain.route.then((r) => this.route(entry, r));
  }

  /** Checks a finder's candidate (its person's `slot`): its result goes to the chain. */
  candidate(parsed: Address, email: string, slot: number, chain: FindChain): void {
    const entry = this.newEntry(parsed, { kind: "candidate", chain, email, slot }, chain.deadline);
    const resolved = entry.domain.resolved;
    // Synchronously when the route is known, so the candidates reach the open transaction.
    if (resolved) this.route(entry, resolved);
    else void entry.domain.route.then((r) => this.route(entry, r));
  }

  /** Settles the queued recipients no longer needed, in every MX group of the call. */
  prune(): void {
    for (const g of this.groups.values()) g.group.prune();
  }

  private newEntry(parsed: Address, owner: Entry["owner"], deadline: number): Entry {
    return {
      owner,
      domain: this.domainRun(parsed.domain),
      parsed,
      disposable: isDisposable(parsed.domain),
      role: isRole(parsed.local),
      free: isFree(parsed.domain),
      suggestion: suggestionFor(parsed, this.parts.suggestions),
      startedAt: Date.now(),
      deadline,
      trace: this.call.trace ? [] : null,
      dns: null,
    };
  }

  private domainRun(name: string): DomainRun {
    let run = this.domains.get(name);
    if (!run) {
      const created: DomainRun = {
        name,
        route: Promise.resolve({ kind: "no_mail" }),
        resolved: null,
        hosts: null,
        catchAll: new CatchAll<Waiting>(name, this.parts.shared, this.parts.catchAllTtlMs, {
          settled: (waiting, value) => {
            for (const w of waiting) this.finish(w.entry, w.outcome, value);
            this.settleDomain(created);
          },
          testHere: (test) => {
            const hosts = created.hosts!;
            this.enqueue(hosts, [{ ...test, entry: null, run: created, groupKey: this.groupKeyOf(hosts) }]);
          },
        }),
        active: 0,
      };
      created.route = this.resolve(created);
      run = created;
      this.domains.set(name, run);
    }
    run.active++;
    return run;
  }

  /** The domain's mail route; a domain with mail then gets the fleet's catch-all answer, or is
   *  claimed for testing here, or is left to the probe that claimed it first. */
  private async resolve(run: DomainRun): Promise<MailRoute> {
    await this.parts.dnsSlots.acquire();
    let route: MailRoute;
    try {
      route = await this.parts.resolver.mailRoute(run.name);
    } finally {
      this.parts.dnsSlots.release();
    }
    if ((route.kind === "mx" || route.kind === "implicit_mx") && !isDisposable(run.name)) await run.catchAll.lookup();
    run.resolved = route;
    return route;
  }

  private settleDomain(run: DomainRun): void {
    if (--run.active === 0 && this.domains.get(run.name) === run) this.domains.delete(run.name);
  }

  private route(entry: Entry, route: MailRoute): void {
    const run = entry.domain;
    entry.dns = dnsFacts(route);
    entry.trace?.push(describeRoute(run.name, route));
    // Disposable domains are risky whatever their server says: spare it the RCPTs.
    if ((route.kind !== "mx" && route.kind !== "implicit_mx") || entry.disposable) return this.finish(entry, null, null);
    run.hosts = route.hosts;
    const { local, smtputf8 } = entry.parsed;
    const groupKey = this.groupKeyOf(route.hosts);
    const rcpt: Routed = { local, domain: run.name, smtputf8, catchAllProbe: false, trace: entry.trace, deadline: entry.deadline, entry, run, groupKey };
    const owner = entry.owner;
    if (owner.kind === "candidate") Object.assign(rcpt, owner.chain.hooks(owner.slot));
    else if (this.call.waiting) {
      const board = this.call.waiting;
      rcpt.onGreylisted = (retryAt) => board.greylisted(entry, retryAt);
    }
    const items: Routed[] = [rcpt];
    const learning = run.catchAll.learn(entry.deadline, this.call.signal);
    if (learning) {
      run.active++; // the answer being learned keeps the domain
      if (learning.kind === "test") items.push({ ...learning.test, entry: null, run, groupKey });
    }
    this.enqueue(route.hosts, items);
  }

  private groupKeyOf(hosts: readonly MxHost[]): string {
    let key = this.groupKeys.get(hosts);
    if (key === undefined) {
      // Hosts in preference order; equal preferences are shuffled per lookup, so sort for the key.
      key = hosts.map((h) => `${h.preference}:${h.name}`).sort().join(",");
      this.groupKeys.set(hosts, key);
    }
    return key;
  }

  /** Queues recipients (all of one group key) to the MX group of these hosts. */
  private enqueue(hosts: MxHost[], rcpts: Routed[]): void {
    const groupKey = rcpts[0]!.groupKey;
    let g = this.groups.get(groupKey);
    if (!g) {
      const { scheduler, signal } = this.call;
      g = { group: new MxGroup(hosts, scheduler, this.parts.slots, this.parts.shared, () => this.call.deadline, this.onOutcome, signal), outstanding: 0 };
      this.groups.set(groupKey, g);
    }
    g.outstanding += rcpts.length;
    g.group.add(rcpts);
  }

  private readonly onOutcome = (rcpt: Recipient, outcome: RecipientOutcome): void => {
    // Every recipient of our groups was queued by enqueue, as Routed.
    const { entry, run, groupKey } = rcpt as Routed;
    const g = this.groups.get(groupKey);
    if (g && --g.outstanding === 0) {
      // An idle group is dropped once its sessions have said QUIT; a later address for the
      // same hosts starts a new one.
      void g.group.done().then(() => {
        if (g.outstanding === 0 && this.groups.get(groupKey) === g) this.groups.delete(groupKey);
      });
    }
    if (!entry) return run.catchAll.tested(outcome);
    const catchAll = run.catchAll.answerFor(outcome);
    if (catchAll === undefined) run.catchAll.wait({ entry, outcome });
    else this.finish(entry, outcome, catchAll);
  };

  private finish(entry: Entry, outcome: RecipientOutcome | null, catchAll: boolean | null): void {
    const f: Facts = {
      syntax: { ok: true },
      disposable: entry.disposable,
      role: entry.role,
      free: entry.free,
      dns: entry.dns,
      smtp: outcome?.smtp ?? null,
      catchAll,
    };
    if (entry.trace) {
      if (outcome?.smtp.kind === "private_target") {
        const { mx, address } = outcome.smtp;
        entry.trace.push(`smtp: not connecting to ${mx} [${address}]: not a public address (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it)`);
      }
      const evidence = entry.domain.catchAll.describeEvidence();
      if (evidence) entry.trace.push(evidence);
    }
    this.call.waiting?.done(entry);
    const owner = entry.owner;
    if (owner.kind === "candidate") owner.chain.answered(owner.slot, this.result(entry, owner.email, entry.parsed, f, outcome));
    else {
      for (const { input, index } of this.flights.land(entry.parsed.normalized)) {
        owner.answer(this.result(entry, input, entry.parsed, f, outcome), index);
      }
    }
    this.settleDomain(entry.domain);
  }

  private result(entry: Entry | null, input: string, parsed: ParsedAddress, f: Facts, o: RecipientOutcome | null): Result {
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
      ...(this.call.trace ? { trace: entry?.trace ?? [] } : {}),
    });
    this.parts.observer?.resultReady?.(result);
    return result;
  }
}

function suggestionFor(parsed: Address, cache: BoundedCache<string, string | null>): string | null {
  let fixed = cache.get(parsed.unicodeDomain);
  if (fixed === undefined) {
    fixed = suggestDomain(parsed.unicodeDomain);
    cache.set(parsed.unicodeDomain, fixed);
  }
  return fixed ? `${parsed.local}@${fixed}` : null;
}
