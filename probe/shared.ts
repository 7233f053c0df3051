// Fleet-shared MX state (issue 13): a circuit breaker per MX address, the catch-all answer per
// domain, and deferrals per provider. Each is kept in memory for speed and shared through Upstash
// Redis, so what one probe learns (a dead host, an accept-all domain, a provider that defers)
// spares every other probe from learning it again. Redis is a help, not a dependency: when it
// cannot be reached the probe runs on its memory alone, says so in stats(), and tries again after
// a pause. Cross-probe steps that must not race (opening a breaker, granting its one half-open
// trial, raising a deferral level) are single Lua scripts.
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "@upstash/redis";
import { BoundedCache } from "./cache.ts";
import { DEFERRED_BUDGET, PROVIDER_BUDGETS, type ProviderBudget } from "./providers.ts";
import type { SessionError } from "./smtp/connection.ts";

export interface SharedTuning {
  /** Connection failures (refused, timed out) across the fleet that open a breaker… */
  breakerFailures: number;
  /** …within this window. */
  breakerWindowMs: number;
  /** How long a breaker first stays open; each failed half-open trial doubles it, up to the max. */
  breakerCooldownMs: number;
  breakerMaxCooldownMs: number;
  /** How long one probe's half-open trial keeps the others out. */
  trialLeaseMs: number;
  /** How long a fleet answer read from Redis is reused before it is read again. */
  freshMs: number;
  /** How long other probes wait for the probe testing a domain for catch-all. */
  catchAllClaimMs: number;
  catchAllPollMs: number;
  /** Pause of new connections to a provider after its first deferral; doubles per level. */
  deferralPauseMs: number;
  deferralMaxPauseMs: number;
  /** A provider's deferral level (its pause and budget halvings) drops by one for each this long
   *  without a deferral after its pause: slow down at once, speed up step by step. */
  deferralDecayMs: number;
  redisTimeoutMs: number;
  /** After Redis fails, memory only for this long before it is tried again. */
  redisRetryMs: number;
}

export const DEFAULT_TUNING: SharedTuning = {
  breakerFailures: 3,
  breakerWindowMs: 2 * 60_000,
  breakerCooldownMs: 60_000,
  breakerMaxCooldownMs: 15 * 60_000,
  trialLeaseMs: 30_000,
  freshMs: 5_000,
  catchAllClaimMs: 10_000,
  catchAllPollMs: 250,
  deferralPauseMs: 15_000,
  deferralMaxPauseMs: 5 * 60_000,
  deferralDecayMs: 2 * 60_000,
  redisTimeoutMs: 1_000,
  redisRetryMs: 30_000,
};

export interface Clock {
  now(): number;
  /** Resolves after ms, or early when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // Node's timer rejects when the signal aborts; an abort here just ends the wait early.
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => {}),
};

/** A domain's answer to a random mailbox, with what showed it. */
export interface CatchAllAnswer {
  catchAll: boolean;
  /** The random mailbox's RCPT reply, e.g. "250 2.1.5 Ok". */
  reply: string;
  mx: string;
  probe: string;
  testedAt: number;
}

export interface SharedStats {
  /** "redis" while the fleet store answers; "local" when it is not configured or unreachable. */
  mode: "redis" | "local";
  redisErrors: number;
  openBreakers: number;
  /** Decisions taken on another probe's discovery: repeated work saved. */
  fleetHits: { breaker: number; catchAll: number; deferral: number };
}

export interface SharedMxState {
  readonly probeId: string;
  /** null when a connection to this MX address may be tried; else the failure that opened its breaker. */
  admit(ip: string): Promise<SessionError | null>;
  // The writes below act on memory at once; their promises resolve once the fleet has them too
  // (callers on the hot path do not wait for that).
  connected(ip: string): Promise<void>;
  /** A connection that could not be made (refused, timed out): the host's fault. */
  failed(ip: string, err: SessionError): Promise<void>;

  /**
   * The domain's catch-all answer if this probe or the fleet has a fresh one; else "test" (this
   * probe has claimed the test) or "wait" (another probe claimed it: awaitCatchAll).
   */
  lookupCatchAll(domain: string): Promise<CatchAllAnswer | "test" | "wait">;
  /** The claimant's answer, or undefined when it gave none within the claim or maxWaitMs (then
   *  test it yourself: a claimant may have died holding its claim). */
  awaitCatchAll(domain: string, maxWaitMs: number, signal?: AbortSignal): Promise<CatchAllAnswer | undefined>;
  /** Records the answer (null: the test said nothing definite) and releases the claim. */
  saveCatchAll(domain: string, answer: CatchAllAnswer | null, ttlMs: number): Promise<void>;

  /**
   * Waits out the provider's pause, its connections a minute and its connections open at once,
   * then counts one open (connectionDone gives it back). False, counting nothing, when that would
   * pass the deadline.
   */
  beforeConnect(provider: string, deadline: number, signal?: AbortSignal): Promise<boolean>;
  /** A session that beforeConnect let through has ended (or never opened). */
  connectionDone(provider: string): void;
  /** Waits for the provider's RCPT budget to cover n recipients. False past the deadline. */
  beforeRcpts(provider: string, n: number, deadline: number, signal?: AbortSignal): Promise<boolean>;
  /** The provider deferred us (a 4xx greeting, 421 or 4.7.x rate reply): the fleet pauses. */
  deferred(provider: string): Promise<void>;

  stats(): SharedStats;
}

export interface SharedMxStateOptions {
  probeId: string;
  /** Upstash Redis REST credentials; absent: memory only (one probe's view). */
  redis?: { url: string; token: string };
  tuning?: Partial<SharedTuning>;
  /** Budgets by provider name, over PROVIDER_BUDGETS. */
  providers?: Record<string, ProviderBudget>;
  clock?: Clock;
  /** [0, 1): spreads the fleet's return after a pause (tests pin it). */
  random?: () => number;
}

const KEY = {
  breaker: (ip: string) => `mxray:mx:breaker:${ip}`,
  failures: (ip: string) => `mxray:mx:failures:${ip}`,
  trial: (ip: string) => `mxray:mx:trial:${ip}`,
  catchAll: (domain: string) => `mxray:mx:catchall:${domain}`,
  catchAllTest: (domain: string) => `mxray:mx:catchall-test:${domain}`,
  deferral: (provider: string) => `mxray:mx:deferral:${provider}`,
};

// A breaker record is kept for an hour past its cooldown: while it exists and its time is up, the
// host is half-open (one trial at a time) and a failure doubles the cooldown.
const BREAKER_MEMORY_MS = 60 * 60_000;

/** KEYS breaker, failures, trial; ARGV now, probe, trialLease. {0, "", failures} | {1, record} open | {2, record} trial granted. */
const ADMIT = `
local rec = redis.call('GET', KEYS[1])
if not rec then return {0, '', tonumber(redis.call('GET', KEYS[2]) or '0')} end
if cjson.decode(rec)['until'] > tonumber(ARGV[1]) then return {1, rec, 0} end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then return {2, rec, 0} end
return {1, rec, 0}`;

/** KEYS breaker, failures, trial; ARGV now, failures, window, cooldown, maxCooldown, error, memory. The record if open. */
const FAIL = `
local now = tonumber(ARGV[1])
local rec = redis.call('GET', KEYS[1])
local cooldown = tonumber(ARGV[4])
if rec then
  local r = cjson.decode(rec)
  if r['until'] > now then return rec end
  cooldown = math.min(r.cooldown * 2, tonumber(ARGV[5]))
else
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
  if n < tonumber(ARGV[2]) then return false end
end
local out = cjson.encode({['until'] = now + cooldown, cooldown = cooldown, error = ARGV[6]})
redis.call('SET', KEYS[1], out, 'PX', cooldown + tonumber(ARGV[7]))
redis.call('DEL', KEYS[2], KEYS[3])
return out`;

/** KEYS answer, test claim; ARGV probe, claimMs. {1, answer} | {2} claimed here | {3} claimed by another probe. */
const LOOKUP_CATCH_ALL = `
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end
return {3, ''}`;

/** KEYS deferral; ARGV now, basePause, maxPause, decay, maxLevel. The record (unchanged while a pause runs). */
const DEFER = `
local now = tonumber(ARGV[1])
local decay = tonumber(ARGV[4])
local rec = redis.call('GET', KEYS[1])
local level = 0
if rec then
  local r = cjson.decode(rec)
  if r['until'] > now then return rec end
  level = math.max(0, r.level - math.floor((now - r['until']) / decay))
end
level = math.min(level + 1, tonumber(ARGV[5]))
local pause = math.min(tonumber(ARGV[2]) * 2 ^ (level - 1), tonumber(ARGV[3]))
local out = cjson.encode({level = level, ['until'] = now + pause})
redis.call('SET', KEYS[1], out, 'PX', math.floor(pause + level * decay))
return out`;

/** Halvings of a provider's budget at most (1/32 of it). */
const MAX_DEFERRAL_LEVEL = 5;

interface LocalBreaker {
  /** Failures in the current window, and when it began. */
  failures: number;
  windowStart: number;
  /** Open until; 0 when never opened (or closed by a success). */
  until: number;
  cooldown: number;
  error: SessionError | null;
  /** This probe holds the half-open trial. */
  trial: boolean;
  trialUntil: number;
  /** When the fleet's view was last read, and whether it had failures we should clear. */
  checkedAt: number;
  fleetFailures: number;
  /** Opened by what another probe saw (for fleetHits). */
  fromFleet: boolean;
}

interface Deferral {
  level: number;
  until: number;
  checkedAt: number;
  fromFleet: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

const LOCAL_ENTRIES = 10_000;
const UNTIL_RELEASE = -1;
const DOMAIN_ENTRIES = 20_000;

export function createSharedMxState(opts: SharedMxStateOptions): SharedMxState {
  const t: SharedTuning = { ...DEFAULT_TUNING, ...opts.tuning };
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const budgets = { ...PROVIDER_BUDGETS, ...opts.providers };
  const redis = opts.redis
    ? new Redis({
        url: opts.redis.url,
        token: opts.redis.token,
        automaticDeserialization: false,
        enableTelemetry: false,
        retry: false,
        signal: () => AbortSignal.timeout(t.redisTimeoutMs),
      })
    : null;

  let redisErrors = 0;
  let retryAt = 0;
  const fleetHits = { breaker: 0, catchAll: 0, deferral: 0 };
  const breakers = new BoundedCache<string, LocalBreaker>({ maxEntries: LOCAL_ENTRIES, now: clock.now });
  const catchAlls = new BoundedCache<string, CatchAllAnswer>({ maxEntries: DOMAIN_ENTRIES, now: clock.now });
  /** Catch-all saves still on their way to Redis: this probe's next lookup of the domain waits
   *  for its own write, else it can find its own released claim still held and wait on itself. */
  const catchAllSaves = new Map<string, Promise<unknown>>();
  // Per provider, bounded like every per-domain map of the probe (issue 9): a list of a million
  // domains has about as many providers.
  const deferrals = new BoundedCache<string, Deferral>({ maxEntries: DOMAIN_ENTRIES, now: clock.now });
  const connectBuckets = new BoundedCache<string, Bucket>({ maxEntries: DOMAIN_ENTRIES, now: clock.now });
  const rcptBuckets = new BoundedCache<string, Bucket>({ maxEntries: DOMAIN_ENTRIES, now: clock.now });

  const online = () => redis !== null && clock.now() >= retryAt;

  /** One Redis step; undefined when Redis is off or failed (the caller goes on with memory). */
  async function fleet<T>(step: (r: Redis) => Promise<T>): Promise<T | undefined> {
    if (!redis || !online()) return undefined;
    try {
      return await step(redis);
    } catch {
      redisErrors++;
      retryAt = clock.now() + t.redisRetryMs;
      return undefined;
    }
  }

  function breakerOf(ip: string): LocalBreaker {
    let b = breakers.get(ip);
    if (!b) {
      b = { failures: 0, windowStart: 0, until: 0, cooldown: 0, error: null, trial: false, trialUntil: 0, checkedAt: 0, fleetFailures: 0, fromFleet: false };
      breakers.set(ip, b);
    }
    return b;
  }

  function applyRecord(b: LocalBreaker, raw: string, fromFleet: boolean): void {
    const r = JSON.parse(raw) as { until: number; cooldown: number; error: string };
    if (r.until > b.until) b.fromFleet = fromFleet;
    b.until = Math.max(b.until, r.until);
    b.cooldown = r.cooldown;
    b.error = JSON.parse(r.error) as SessionError;
  }

  function openLocally(b: LocalBreaker, err: SessionError, now: number): void {
    b.cooldown = b.cooldown > 0 ? Math.min(b.cooldown * 2, t.breakerMaxCooldownMs) : t.breakerCooldownMs;
    b.until = now + b.cooldown;
    b.error = err;
    b.failures = 0;
    b.fromFleet = false;
  }

  async function admit(ip: string): Promise<SessionError | null> {
    const now = clock.now();
    const b = breakerOf(ip);
    if (b.until > now) {
      if (b.fromFleet) fleetHits.breaker++;
      return b.error;
    }
    // A host nobody has seen fail is taken as closed for a few seconds without asking again.
    const knownClosed = b.cooldown === 0 && b.failures === 0 && b.fleetFailures === 0 && b.checkedAt + t.freshMs > now;
    if (!knownClosed) {
      const answer = await fleet((r) =>
        r.eval<string[], [number, string, number]>(ADMIT, [KEY.breaker(ip), KEY.failures(ip), KEY.trial(ip)], [String(now), opts.probeId, String(t.trialLeaseMs)]),
      );
      if (answer) {
        const [state, raw, failures] = answer;
        b.checkedAt = now;
        if (state === 0) {
          b.fleetFailures = Number(failures);
          b.until = 0;
          b.cooldown = 0;
          return null;
        }
        applyRecord(b, raw, true);
        if (state === 2) {
          b.trial = true;
          return null;
        }
        // Open, or its trial is another probe's: look again when the fresh window ends.
        if (b.until <= now) b.until = now + t.freshMs;
        fleetHits.breaker++;
        return b.error;
      }
    }
    // Memory only: the same machine, for this probe alone.
    if (b.cooldown > 0) {
      if (b.trialUntil > now) return b.error;
      b.trial = true;
      b.trialUntil = now + t.trialLeaseMs;
    }
    return null;
  }

  async function connected(ip: string): Promise<void> {
    const b = breakers.get(ip);
    if (!b) return;
    const clearFleet = b.failures > 0 || b.fleetFailures > 0 || b.trial || b.cooldown > 0;
    Object.assign(b, { failures: 0, until: 0, cooldown: 0, error: null, trial: false, trialUntil: 0, fleetFailures: 0, fromFleet: false });
    if (clearFleet) await fleet((r) => r.del(KEY.breaker(ip), KEY.failures(ip), KEY.trial(ip)));
  }

  async function failed(ip: string, err: SessionError): Promise<void> {
    const now = clock.now();
    const b = breakerOf(ip);
    if (b.windowStart + t.breakerWindowMs <= now) {
      b.windowStart = now;
      b.failures = 0;
    }
    b.failures++;
    const halfOpen = b.cooldown > 0 && b.until <= now;
    if (halfOpen || b.failures >= t.breakerFailures) openLocally(b, err, now);
    b.trial = false;
    b.trialUntil = 0;
    await fleet(async (r) => {
      const args = [now, t.breakerFailures, t.breakerWindowMs, t.breakerCooldownMs, t.breakerMaxCooldownMs, JSON.stringify(err), BREAKER_MEMORY_MS];
      const raw = await r.eval<string[], string | null>(FAIL, [KEY.breaker(ip), KEY.failures(ip), KEY.trial(ip)], args.map(String));
      if (raw) applyRecord(b, raw, false);
    });
  }

  /** An answer another probe stored, kept here for the rest of its TTL. */
  function fromFleet(domain: string, raw: string): CatchAllAnswer | undefined {
    const answer = JSON.parse(raw) as CatchAllAnswer & { expiresAt: number };
    const ttl = answer.expiresAt - clock.now();
    if (ttl <= 0) return undefined;
    catchAlls.set(domain, answer, ttl);
    fleetHits.catchAll++;
    return answer;
  }

  async function lookupCatchAll(domain: string): Promise<CatchAllAnswer | "test" | "wait"> {
    const known = catchAlls.get(domain);
    if (known) return known;
    const saving = catchAllSaves.get(domain);
    if (saving) await saving;
    const found = await fleet((r) =>
      r.eval<string[], [number, string]>(LOOKUP_CATCH_ALL, [KEY.catchAll(domain), KEY.catchAllTest(domain)], [opts.probeId, String(t.catchAllClaimMs)]),
    );
    // Without Redis every probe tests for itself, as before.
    if (!found) return "test";
    const [state, raw] = found;
    if (state === 1) return fromFleet(domain, raw) ?? "test";
    return state === 2 ? "test" : "wait";
  }

  async function awaitCatchAll(domain: string, maxWaitMs: number, signal?: AbortSignal): Promise<CatchAllAnswer | undefined> {
    const until = clock.now() + Math.min(t.catchAllClaimMs, maxWaitMs);
    while (clock.now() < until && !signal?.aborted) {
      await clock.sleep(t.catchAllPollMs, signal);
      const seen = await fleet((r) => r.mget<(string | null)[]>(KEY.catchAll(domain), KEY.catchAllTest(domain)));
      if (!seen) return undefined;
      const [raw, claim] = seen;
      if (raw) return fromFleet(domain, raw);
      if (!claim) return undefined; // the claimant gave up without an answer
    }
    return undefined;
  }

  async function saveCatchAll(domain: string, answer: CatchAllAnswer | null, ttlMs: number): Promise<void> {
    if (answer) catchAlls.set(domain, answer, ttlMs);
    const saved = fleet(async (r) => {
      const p = r.pipeline();
      if (answer) p.set(KEY.catchAll(domain), JSON.stringify({ ...answer, expiresAt: clock.now() + ttlMs }), { px: ttlMs });
      p.del(KEY.catchAllTest(domain));
      await p.exec();
    });
    catchAllSaves.set(domain, saved);
    await saved;
    if (catchAllSaves.get(domain) === saved) catchAllSaves.delete(domain);
  }

  function deferralOf(provider: string): Deferral {
    let d = deferrals.get(provider);
    if (!d) {
      d = { level: 0, until: 0, checkedAt: 0, fromFleet: false };
      deferrals.set(provider, d);
    }
    return d;
  }

  function applyDeferral(d: Deferral, raw: string, fromFleet: boolean): void {
    const r = JSON.parse(raw) as { level: number; until: number };
    if (r.until > d.until) d.fromFleet = fromFleet;
    if (r.until >= d.until) {
      d.until = r.until;
      d.level = r.level;
    }
  }

  /** The level left after the quiet time since the pause ended. */
  const levelAt = (d: Deferral, now: number) => Math.max(0, d.level - Math.floor(Math.max(0, now - d.until) / t.deferralDecayMs));

  async function refreshDeferral(provider: string): Promise<Deferral> {
    const d = deferralOf(provider);
    const now = clock.now();
    if (d.checkedAt + t.freshMs > now) return d;
    const raw = await fleet((r) => r.get<string>(KEY.deferral(provider)));
    if (raw !== undefined) {
      d.checkedAt = now;
      if (raw) applyDeferral(d, raw, true);
      else if (levelAt(d, now) === 0) d.level = 0; // the fleet has forgotten it too
    }
    return d;
  }

  function budgetFor(provider: string, level: number): ProviderBudget | null {
    const base = budgets[provider] ?? (level > 0 ? DEFERRED_BUDGET : null);
    if (!base) return null;
    const factor = 2 ** level;
    return {
      connectionsPerMinute: base.connectionsPerMinute / factor,
      rcptsPerMinute: base.rcptsPerMinute / factor,
      maxOpen: Math.max(1, Math.floor(base.maxOpen / (budgets[provider] ? factor : 2 ** (level - 1)))),
    };
  }

  /** Takes n tokens from a per-minute bucket (debt allowed); ms to wait before the next take. */
  function take(buckets: BoundedCache<string, Bucket>, provider: string, perMinute: number, n: number): number {
    const now = clock.now();
    const perMs = perMinute / 60_000;
    const capacity = Math.max(1, perMinute / 12); // a burst of five seconds' worth
    const b = buckets.get(provider) ?? { tokens: capacity, at: now };
    const tokens = Math.min(capacity, b.tokens + (now - b.at) * perMs);
    if (tokens < 1) return Math.ceil((1 - tokens) / perMs);
    buckets.set(provider, { tokens: tokens - n, at: now });
    return 0;
  }

  /** Sessions open per provider, and who waits for one to end. */
  const opens = new Map<string, { open: number; waiters: Set<() => void> }>();
  const opensOf = (provider: string) => {
    let o = opens.get(provider);
    if (!o) {
      o = { open: 0, waiters: new Set() };
      opens.set(provider, o);
    }
    return o;
  };

  /** `bucket` answers ms to wait, 0 to go, or UNTIL_RELEASE when the provider has all it takes open. */
  async function waitFor(provider: string, deadline: number, signal: AbortSignal | undefined, bucket: (b: ProviderBudget | null) => number): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const d = await refreshDeferral(provider);
      const now = clock.now();
      let wait = d.until > now ? d.until - now : 0;
      if (wait === 0) wait = bucket(budgetFor(provider, levelAt(d, now)));
      else {
        // Not all back at the same instant: a fleet returning at once is deferred at once.
        wait += Math.floor(random() * t.deferralPauseMs * 0.5);
        if (d.fromFleet) {
          fleetHits.deferral++;
          d.fromFleet = false; // counted once per pause
        }
      }
      if (wait === 0) return true;
      if (wait === UNTIL_RELEASE) {
        if (now >= deadline) return false;
        // Woken when a session ends; looks again at the pause and budget after a while anyway.
        const released = new AbortController();
        const o = opensOf(provider);
        const wake = () => released.abort();
        o.waiters.add(wake);
        await clock.sleep(Math.min(t.freshMs, deadline - now), signal ? AbortSignal.any([signal, released.signal]) : released.signal);
        o.waiters.delete(wake);
        continue;
      }
      if (now + wait >= deadline) return false;
      await clock.sleep(wait, signal);
    }
  }

  function connectTurn(provider: string, budget: ProviderBudget | null): number {
    const o = opensOf(provider);
    if (budget && o.open >= budget.maxOpen) return UNTIL_RELEASE;
    const wait = budget ? take(connectBuckets, provider, budget.connectionsPerMinute, 1) : 0;
    if (wait === 0) o.open++;
    return wait;
  }

  function connectionDone(provider: string): void {
    const o = opensOf(provider);
    o.open = Math.max(0, o.open - 1);
    for (const wake of o.waiters) wake();
    if (o.open === 0 && o.waiters.size === 0) opens.delete(provider);
  }

  async function deferred(provider: string): Promise<void> {
    const now = clock.now();
    const d = deferralOf(provider);
    if (d.until > now) return; // already pausing: one deferral per pause
    d.level = Math.min(levelAt(d, now) + 1, MAX_DEFERRAL_LEVEL);
    d.until = now + Math.min(t.deferralPauseMs * 2 ** (d.level - 1), t.deferralMaxPauseMs);
    d.fromFleet = false;
    await fleet(async (r) => {
      const raw = await r.eval<string[], string>(DEFER, [KEY.deferral(provider)], [now, t.deferralPauseMs, t.deferralMaxPauseMs, t.deferralDecayMs, MAX_DEFERRAL_LEVEL].map(String));
      applyDeferral(d, raw, false);
    });
  }

  return {
    probeId: opts.probeId,
    admit,
    connected,
    failed,
    lookupCatchAll,
    awaitCatchAll,
    saveCatchAll,
    beforeConnect: (provider, deadline, signal) => waitFor(provider, deadline, signal, (b) => connectTurn(provider, b)),
    connectionDone,
    beforeRcpts: (provider, n, deadline, signal) =>
      waitFor(provider, deadline, signal, (b) => (b ? take(rcptBuckets, provider, b.rcptsPerMinute, n) : 0)),
    deferred,
    stats() {
      const now = clock.now();
      let openBreakers = 0;
      for (const b of breakers.values()) if (b.until > now) openBreakers++;
      return { mode: redis && online() ? "redis" : "local", redisErrors, openBreakers, fleetHits: { ...fleetHits } };
    },
  };
}
