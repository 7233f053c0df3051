// Per-key API rate limits behind one interface: @upstash/ratelimit on Upstash Redis when its
// credentials are set, else an in-process stand-in with the same sliding-window arithmetic
// (per isolate, which is what one `wrangler dev` has).
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { meter } from "../meter.ts";

export interface RateLimitOutcome {
  success: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the window frees up. */
  reset: number;
}

export interface RateLimiter {
  readonly kind: "upstash" | "memory";
  limit(key: string): Promise<RateLimitOutcome>;
}

export const RATE_WINDOW_MS = 60_000;

export function createUpstashRateLimiter(opts: { url: string; token: string; perMinute: number }): RateLimiter {
  const ratelimit = new Ratelimit({
    redis: new Redis({ url: opts.url, token: opts.token }),
    limiter: Ratelimit.slidingWindow(opts.perMinute, "60 s"),
    prefix: "mxray:rl",
  });
  return {
    kind: "upstash",
    async limit(key) {
      meter.redisCommands += 1; // one EVALSHA per call (the sliding-window script)
      const r = await ratelimit.limit(key);
      return { success: r.success, limit: r.limit, remaining: r.remaining, reset: r.reset };
    },
  };
}

const windows = new Map<string, { window: number; current: number; previous: number }>();

/** Upstash's sliding window: this window's count plus the previous one's, weighted by overlap. */
export function createMemoryRateLimiter(opts: { perMinute: number; now?: () => number }): RateLimiter {
  const now = opts.now ?? Date.now;
  return {
    kind: "memory",
    async limit(key) {
      meter.redisCommands += 1; // what the Upstash adapter would send
      const t = now();
      const window = Math.floor(t / RATE_WINDOW_MS);
      let w = windows.get(key);
      if (!w || w.window < window - 1) w = { window, current: 0, previous: 0 };
      else if (w.window === window - 1) w = { window, current: 0, previous: w.current };
      const elapsed = (t % RATE_WINDOW_MS) / RATE_WINDOW_MS;
      const used = Math.floor(w.previous * (1 - elapsed)) + w.current;
      const success = used < opts.perMinute;
      if (success) w.current++;
      windows.set(key, w);
      return {
        success,
        limit: opts.perMinute,
        remaining: Math.max(0, opts.perMinute - used - (success ? 1 : 0)),
        reset: (window + 1) * RATE_WINDOW_MS,
      };
    },
  };
}
