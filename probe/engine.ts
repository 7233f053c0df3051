// The verification engine: syntax and lists (core/), DNS, then SMTP through the per-MX scheduler.
// Everything that verifies addresses (CLI, daemon, benchmark) goes through `createEngine`, which
// composes the parts: the admission window and the answer order (concurrency.ts), one call's
// address checks (checks.ts, with catch-all coordination in catchall.ts) and the finder's chain
// (finder.ts).
//
// Memory does not grow with the list (issue 9, item 6): addresses are pulled from the caller's
// (async) iterable through a window of `window` addresses admitted and not yet answered, shared
// by every call on the engine; results are handed over as they finish and not kept; per-domain
// state lives only while the domain has addresses in flight, and caches are bounded.
import { setMaxListeners } from "node:events";
import type { FindAnswer, FindCandidate, Result } from "../core/contracts.ts";
import { BoundedCache } from "./cache.ts";
import { CallChecks, type CallSetup, type EngineParts } from "./checks.ts";
import { AnswerWindow, FairGate, Semaphore } from "./concurrency.ts";
import { createResolver } from "./dns.ts";
import { CHAIN_REJECTION_LIMIT, FindChain } from "./finder.ts";
import type { WaitingBoard } from "./waiting.ts";
import type { EngineObserver } from "./observer.ts";
import { createSharedMxState, type SharedMxState } from "./shared.ts";

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
  /** Told what each address in flight waits on (a batch's chunks carry its summary, issue 26). */
  waiting?: WaitingBoard;
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

const DNS_CONCURRENCY = 64;
/** Domains whose typo fix is remembered across calls. */
const DOMAIN_CACHE_ENTRIES = 20_000;

export function createEngine(options: Partial<EngineOptions> = {}): Engine {
  const opts: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  const slots = new Semaphore(opts.concurrency);
  const parts: EngineParts = {
    resolver: createResolver({
      servers: opts.dnsServers.length ? opts.dnsServers : undefined,
      onLookup: (ms, outcome) => opts.observer?.dnsLookup?.(ms, outcome),
    }),
    dnsSlots: new Semaphore(DNS_CONCURRENCY),
    slots,
    shared: opts.shared ?? createSharedMxState({ probeId: "local" }),
    suggestions: new BoundedCache<string, string | null>({ maxEntries: DOMAIN_CACHE_ENTRIES }),
    catchAllTtlMs: opts.catchAllTtlMs,
    observer: opts.observer,
  };
  // Shared by every call (batches and single checks), handed out fairly between them.
  const admission = new FairGate(opts.window);

  /** A call's budget, its signal and its SMTP settings. */
  function setup(call: VerifyCall): CallSetup {
    const deadline = call.budgetMs ? Date.now() + call.budgetMs : Number.POSITIVE_INFINITY;
    const signals = [call.signal, call.budgetMs ? AbortSignal.timeout(call.budgetMs) : undefined];
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    const signal = live.length ? AbortSignal.any(live) : undefined;
    // Every session and wait of the call listens to it: many listeners is the design, not a leak.
    if (signal) setMaxListeners(0, signal);
    return {
      deadline,
      dueFrom: (now) => Math.min(deadline, call.addressBudgetMs ? now + call.addressBudgetMs : Number.POSITIVE_INFINITY),
      signal,
      trace: call.trace ?? false,
      waiting: call.waiting,
      scheduler: {
        from: opts.from,
        helo: opts.helo,
        port: opts.port,
        timeoutMs: opts.timeoutMs,
        perHostConnections: opts.perHostConnections,
        greylistBudgetMs: opts.greylistBudgetMs,
        tls: true,
        allowPrivateTargets: opts.allowPrivateTargets,
        trace: call.trace ?? false,
        // A person's candidates continue one transaction (probe/finder.ts).
        followUpRejectionLimit: CHAIN_REJECTION_LIMIT,
        ...(opts.observer ? { observer: opts.observer } : {}),
      },
    };
  }

  return {
    verify: async (emails, call, onResult) => {
      const checks = new CallChecks(parts, setup(call));
      // Answered inputs leave in order (held until the head is answered) or at once; each one
      // hands its admission slot back.
      const window = new AnswerWindow<Result>(admission, call.ordered ?? false, call.urgent ?? false, onResult);
      const answer = (r: Result, index: number) => window.answer(r, index);
      return window.pull(emails, (email, index) => checks.verify(email, index, answer));
    },
    find: async (people, call, onAnswer) => {
      const callSetup = setup(call);
      const checks = new CallChecks(parts, callSetup);
      const window = new AnswerWindow<FindAnswer>(admission, call.ordered ?? false, call.urgent ?? false, onAnswer);
      return window.pull(people, (candidates, index) => {
        const now = Date.now();
        const chain: FindChain = new FindChain(candidates, now, callSetup.dueFrom(now), {
          check: (parsed, email, slot) => checks.candidate(parsed, email, slot, chain),
          prune: () => checks.prune(),
          answer: (a) => window.answer(a, index),
        });
        chain.start();
      });
    },
    openConnections: () => slots.inUse,
    close: async () => {},
  };
}
