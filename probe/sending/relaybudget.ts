// A relay's sending limits (issue 23): `max_per_minute` and `max_per_day` hold across the whole
// fleet, so two probes sending one campaign together stay inside what the customer's provider
// allows (SES, SendGrid and Gmail suspend senders that go past them). The counts are per relay,
// per clock minute and per UTC day, in the fleet's Redis; one Lua script checks both windows and
// counts a take in both only when both have room, so no two probes can both take the last slot.
// Without a fleet Redis the same counts live in this probe's memory (a one-probe deployment).
//
// When a fleet Redis is configured but does not answer, nothing is granted: the take waits and
// gives up at its deadline, and stats() says so. Falling back to memory there would let every
// probe spend the whole limit on its own and exceed the customer's relay limit because our Redis
// is away; holding messages back costs only time (the batch releases them, another sends them).
//
// The windows come from the probe's clock (injected; tests move it), not Redis' TIME: probes keep
// NTP time, and a second of skew moves at most a second's share of one minute's messages.
import { Redis } from "@upstash/redis";
import type { RelayWire } from "../../core/contracts.ts";
import { systemClock, type Clock } from "../shared.ts";

export type RelayLimits = Pick<RelayWire, "id" | "max_per_minute" | "max_per_day">;

export interface RelayBudgetStats {
  /** "redis": counted in the fleet's Redis; "local": in this probe's memory (no fleet Redis configured). */
  mode: "redis" | "local";
  /** False while the configured Redis does not answer: then no message is granted a slot. */
  redisUp: boolean;
  redisErrors: number;
  /** Slots granted since start. */
  granted: number;
  /** Takes that reached their deadline while Redis was away: messages held back, never sent past a limit. */
  heldForRedis: number;
}

export interface RelayBudget {
  /** One slot of the relay's minute and day, waiting (within the deadline) for one; false past the deadline or on abort. */
  take(relay: RelayLimits, deadline: number, signal?: AbortSignal): Promise<boolean>;
  /** Between 1 and n slots at once (as many as both windows have room for), waiting for the first; 0 past the deadline or on abort. */
  takeUpTo(relay: RelayLimits, n: number, deadline: number, signal?: AbortSignal): Promise<number>;
  stats(): RelayBudgetStats;
}

export interface RelayBudgetOptions {
  /** The fleet's Upstash Redis (MXRAY_FLEET_REDIS_REST_URL/_TOKEN); absent: this probe's memory. */
  redis?: { url: string; token: string };
  clock?: Clock;
  redisTimeoutMs?: number;
  /** How long a take waits before asking a failing Redis again. */
  redisRetryMs?: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
export const DEFAULT_REDIS_TIMEOUT_MS = 1_000;
export const DEFAULT_REDIS_RETRY_MS = 5_000;

/** Counters outlive their window a little, so a late probe's read of a closed window finds nothing wrong. */
const KEY_SLACK_MS = { minute: MINUTE_MS, day: 60 * MINUTE_MS };

const key = (relayId: string, window: "minute" | "day", index: number) => `mxray:relay:${relayId}:${window}:${index}`;

/**
 * KEYS minute, day; ARGV n, perMinute, perDay, minuteLeftMs, dayLeftMs, minuteTtl, dayTtl.
 * {granted, 0} with both counters raised by granted (1..n); or {0, ms until both windows have room}.
 */
const TAKE = `
local m = tonumber(redis.call('GET', KEYS[1]) or '0')
local d = tonumber(redis.call('GET', KEYS[2]) or '0')
local room = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - m, tonumber(ARGV[3]) - d)
if room <= 0 then
  local wait = 0
  if m >= tonumber(ARGV[2]) then wait = tonumber(ARGV[4]) end
  if d >= tonumber(ARGV[3]) then wait = math.max(wait, tonumber(ARGV[5])) end
  return {0, wait}
end
redis.call('INCRBY', KEYS[1], room)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('INCRBY', KEYS[2], room)
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return {room, 0}`;

interface Windows {
  minute: number;
  day: number;
  minuteLeftMs: number;
  dayLeftMs: number;
}

function windowsAt(now: number): Windows {
  const minute = Math.floor(now / MINUTE_MS);
  const day = Math.floor(now / DAY_MS); // Unix time has no leap seconds: day n starts at 00:00 UTC
  return { minute, day, minuteLeftMs: (minute + 1) * MINUTE_MS - now, dayLeftMs: (day + 1) * DAY_MS - now };
}

/** The same rule as TAKE, on one probe's counters. */
function takeLocal(counts: Map<string, { minute: number; m: number; day: number; d: number }>, relay: RelayLimits, n: number, w: Windows): [number, number] {
  const c = counts.get(relay.id) ?? { minute: w.minute, m: 0, day: w.day, d: 0 };
  if (c.minute !== w.minute) Object.assign(c, { minute: w.minute, m: 0 });
  if (c.day !== w.day) Object.assign(c, { day: w.day, d: 0 });
  counts.set(relay.id, c);
  const room = Math.min(n, relay.max_per_minute - c.m, relay.max_per_day - c.d);
  if (room <= 0) {
    let wait = 0;
    if (c.m >= relay.max_per_minute) wait = w.minuteLeftMs;
    if (c.d >= relay.max_per_day) wait = Math.max(wait, w.dayLeftMs);
    return [0, wait];
  }
  c.m += room;
  c.d += room;
  return [room, 0];
}

export function createRelayBudget(opts: RelayBudgetOptions = {}): RelayBudget {
  const clock = opts.clock ?? systemClock;
  const redisTimeoutMs = opts.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  const redisRetryMs = opts.redisRetryMs ?? DEFAULT_REDIS_RETRY_MS;
  const redis = opts.redis
    ? new Redis({
        url: opts.redis.url,
        token: opts.redis.token,
        automaticDeserialization: false,
        enableTelemetry: false,
        retry: false,
        signal: () => AbortSignal.timeout(redisTimeoutMs),
      })
    : null;
  const counts = new Map<string, { minute: number; m: number; day: number; d: number }>();
  const stats = { redisUp: true, redisErrors: 0, granted: 0, heldForRedis: 0 };

  /** [granted, wait ms], or null when the fleet's Redis did not answer. */
  async function ask(relay: RelayLimits, n: number, now: number): Promise<[number, number] | null> {
    const w = windowsAt(now);
    if (!redis) return takeLocal(counts, relay, n, w);
    try {
      const args = [n, relay.max_per_minute, relay.max_per_day, w.minuteLeftMs, w.dayLeftMs, w.minuteLeftMs + KEY_SLACK_MS.minute, w.dayLeftMs + KEY_SLACK_MS.day];
      const [granted, wait] = await redis.eval<string[], [number, number]>(TAKE, [key(relay.id, "minute", w.minute), key(relay.id, "day", w.day)], args.map(String));
      stats.redisUp = true;
      return [Number(granted), Number(wait)];
    } catch {
      stats.redisErrors++;
      stats.redisUp = false;
      return null;
    }
  }

  async function takeUpTo(relay: RelayLimits, n: number, deadline: number, signal?: AbortSignal): Promise<number> {
    if (n < 1) return 0;
    for (;;) {
      const now = clock.now();
      if (signal?.aborted || now >= deadline) return 0;
      const answer = await ask(relay, n, now);
      if (answer === null) {
        // Redis is configured and away: grant nothing (see the top of this file), ask again later.
        await clock.sleep(Math.min(redisRetryMs, deadline - now), signal);
        if (clock.now() >= deadline) {
          stats.heldForRedis++;
          return 0;
        }
        continue;
      }
      const [granted, wait] = answer;
      if (granted > 0) {
        stats.granted += granted;
        return granted;
      }
      if (now + wait >= deadline) return 0;
      await clock.sleep(wait, signal);
    }
  }

  return {
    take: async (relay, deadline, signal) => (await takeUpTo(relay, 1, deadline, signal)) === 1,
    takeUpTo,
    stats: () => ({ mode: redis ? "redis" : "local", ...stats }),
  };
}
