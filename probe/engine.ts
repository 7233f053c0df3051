// The verification engine: syntax and lists (core/), DNS, then SMTP through the per-MX scheduler.
// Everything that verifies addresses (CLI, daemon, benchmark) goes through `createEngine`.
import { parseAddress, type ParsedAddress } from "../core/address.ts";
import type { Result } from "../core/contracts.ts";
import { isDisposable, isFree, isRole } from "../core/lists.ts";
import { suggestDomain } from "../core/suggest.ts";
import { decide, type DnsFacts, type Facts, type RcptClass } from "../core/verdict.ts";
import { createResolver, type MailRoute } from "./dns.ts";
import {
  CircuitBreakers,
  MxGroup,
  Semaphore,
  type Recipient,
  type RecipientOutcome,
} from "./smtp/scheduler.ts";

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
  observer?: EngineObserver;
}

/** Hooks for metrics; every method is optional and must not throw. */
export interface EngineObserver {
  connectionOpened?(mx: string): void;
  connectionClosed?(mx: string): void;
  rcptSent?(mx: string, rcptClass: RcptClass): void;
  dnsLookup?(durationMs: number, outcome: string): void;
  resultReady?(result: Result): void;
}

export interface VerifyCall {
  /** Milliseconds the whole call may take, greylist retries included. */
  budgetMs?: number;
  trace?: boolean;
  signal?: AbortSignal;
}

export interface Engine {
  /** Verifies each address once and calls onResult as each finishes (any order). */
  verify(emails: string[], call: VerifyCall, onResult: (r: Result) => void): Promise<void>;
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
};

interface Entry {
  inputs: string[];
  parsed: Extract<ParsedAddress, { ok: true }>;
  disposable: boolean;
  role: boolean;
  free: boolean;
  suggestion: string | null;
  startedAt: number;
  trace: string[] | null;
  dns: DnsFacts | null;
}

/** Per domain within one call: the catch-all answer, and accepted entries waiting for it. */
interface DomainState {
  catchAll: boolean | null | undefined; // undefined: the probe has not answered yet
  waiting: { entry: Entry; outcome: RecipientOutcome }[];
}

const DNS_CONCURRENCY = 64;
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
  const breakers = new CircuitBreakers();
  const catchAllCache = new Map<string, { value: boolean; at: number }>();

  function cachedCatchAll(domain: string): boolean | undefined {
    const hit = catchAllCache.get(domain);
    if (!hit) return undefined;
    if (Date.now() - hit.at > opts.catchAllTtlMs) {
      catchAllCache.delete(domain);
      return undefined;
    }
    return hit.value;
  }

  async function verify(emails: string[], call: VerifyCall, onResult: (r: Result) => void) {
    const deadline = call.budgetMs ? Date.now() + call.budgetMs : Number.POSITIVE_INFINITY;
    const signals = [call.signal, call.budgetMs ? AbortSignal.timeout(call.budgetMs) : undefined];
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    const signal = live.length ? AbortSignal.any(live) : undefined;
    const emit = (entry: Entry | null, input: string, parsed: ParsedAddress, f: Facts, o: RecipientOutcome | null) => {
      const d = decide(f);
      const smtp = o?.smtp;
      const reply = smtp?.kind === "reply" ? smtp.reply : smtp?.kind === "protocol_error" ? smtp.reply : null;
      const mx =
        smtp && "mx" in smtp && smtp.mx
          ? smtp.mx
          : f.dns?.kind === "mx" || f.dns?.kind === "implicit_mx"
            ? (f.dns.hosts[0] ?? null)
            : null;
      const result: Result = {
        email: input,
        normalized: parsed.ok ? parsed.normalized : null,
        verdict: d.verdict,
        reason: d.reason,
        catch_all: f.catchAll,
        disposable: f.disposable,
        role: f.role,
        free: f.free,
        greylisted: d.greylisted,
        suggestion: entry?.suggestion ?? null,
        score: d.score,
        mx,
        smtp: reply,
        duration_ms: Math.max(0, Date.now() - (entry?.startedAt ?? Date.now())),
        retry_after: d.greylisted && o?.greylistedUntil ? new Date(o.greylistedUntil).toISOString() : null,
        ...(call.trace ? { trace: entry?.trace ?? [] } : {}),
      };
      opts.observer?.resultReady?.(result);
      onResult(result);
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
      for (const input of entry.inputs) emit(entry, input, entry.parsed, f, outcome);
    };

    // 1. Syntax and lists; identical addresses are checked once and answered per input.
    const entries = new Map<string, Entry>();
    const suggestions = new Map<string, string | null>(); // typo fixes depend on the domain only
    for (const input of emails) {
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
        emit(null, input, parsed, f, null);
        continue;
      }
      const existing = entries.get(parsed.normalized);
      if (existing) {
        existing.inputs.push(input);
        continue;
      }
      entries.set(parsed.normalized, {
        inputs: [input],
        parsed,
        disposable: isDisposable(parsed.domain),
        role: isRole(parsed.local),
        free: isFree(parsed.domain),
        suggestion: suggestionFor(parsed, suggestions),
        startedAt: Date.now(),
        trace: call.trace ? [] : null,
        dns: null,
      });
    }

    // 2. DNS per domain, then SMTP per MX host set, as each domain's answer arrives.
    const byDomain = new Map<string, Entry[]>();
    for (const e of entries.values()) {
      const list = byDomain.get(e.parsed.domain) ?? [];
      list.push(e);
      byDomain.set(e.parsed.domain, list);
    }
    entries.clear();
    const groups = new Map<string, MxGroup>();
    const domainState = new Map<string, DomainState>();
    const byId = new Map<number, Entry>();
    let nextId = 0;

    const onOutcome = (rcpt: Recipient, outcome: RecipientOutcome) => {
      const state = domainState.get(rcpt.domain)!;
      if (rcpt.catchAllProbe) {
        const value = catchAllFromOutcome(outcome);
        state.catchAll = value;
        if (value !== null) catchAllCache.set(rcpt.domain, { value, at: Date.now() });
        for (const w of state.waiting.splice(0)) finish(w.entry, w.outcome, value);
        return;
      }
      const entry = byId.get(rcpt.id)!;
      byId.delete(rcpt.id);
      const accepted = outcome.smtp.kind === "reply" && outcome.smtp.rcpt === "accepted";
      if (accepted && state.catchAll === undefined) {
        state.waiting.push({ entry, outcome });
        return;
      }
      finish(entry, outcome, accepted ? (state.catchAll ?? null) : (state.catchAll ?? catchAllFromOutcome(outcome)));
    };

    const schedulerOpts = {
      from: opts.from,
      helo: opts.helo,
      port: opts.port,
      timeoutMs: opts.timeoutMs,
      perHostConnections: opts.perHostConnections,
      greylistBudgetMs: opts.greylistBudgetMs,
      tls: true,
      trace: call.trace ?? false,
      ...(opts.observer ? { observer: opts.observer } : {}),
    };

    const routeDomain = async (domain: string, list: Entry[]) => {
      const route = await resolver.mailRoute(domain);
      const facts = dnsFacts(route);
      for (const e of list) {
        e.dns = facts;
        e.trace?.push(describeRoute(domain, route));
      }
      if (route.kind !== "mx" && route.kind !== "implicit_mx") {
        for (const e of list) finish(e, null, null);
        return;
      }
      // Disposable domains are risky whatever their server says: spare it the RCPTs.
      const toCheck = list.filter((e) => {
        if (!e.disposable) return true;
        finish(e, null, null);
        return false;
      });
      if (toCheck.length === 0) return;
      const known = cachedCatchAll(domain);
      domainState.set(domain, { catchAll: known, waiting: [] });
      const rcpts: Recipient[] = toCheck.map((e) => {
        byId.set(nextId, e);
        return {
          id: nextId++,
          local: e.parsed.local,
          domain,
          smtputf8: e.parsed.smtputf8,
          catchAllProbe: false,
          trace: e.trace,
        };
      });
      if (known === undefined) {
        rcpts.push({ id: nextId++, local: randomLocalPart(), domain, smtputf8: false, catchAllProbe: true, trace: null });
      }
      const key = route.hosts.map((h) => `${h.preference}:${h.name}`).join(",");
      let group = groups.get(key);
      if (!group) {
        group = new MxGroup(route.hosts, schedulerOpts, slots, breakers, () => deadline, onOutcome, signal);
        groups.set(key, group);
      }
      group.add(rcpts);
    };

    await mapLimit([...byDomain], DNS_CONCURRENCY, ([domain, list]) => routeDomain(domain, list));
    await Promise.all([...groups.values()].map((g) => g.done()));
    // Every probe has an outcome by now; this only guards against an entry left waiting.
    for (const s of domainState.values()) {
      for (const w of s.waiting.splice(0)) finish(w.entry, w.outcome, null);
    }
  }

  return {
    verify,
    openConnections: () => slots.inUse,
    close: async () => {},
  };
}

function suggestionFor(parsed: Extract<ParsedAddress, { ok: true }>, cache: Map<string, string | null>): string | null {
  let fixed = cache.get(parsed.unicodeDomain);
  if (fixed === undefined) {
    fixed = suggestDomain(parsed.unicodeDomain);
    cache.set(parsed.unicodeDomain, fixed);
  }
  return fixed ? `${parsed.local}@${fixed}` : null;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
