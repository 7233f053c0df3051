// Per-key API rate limits: @upstash/ratelimit's sliding window on Upstash Redis; locally, on
// redis-server behind the loopback bridge that speaks Upstash's REST format, Lua scripts included.
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
  limit(key: string): Promise<RateLimitOutcome>;
}

export function createUpstashRateLimiter(opts: { url: string; token: string; perMinute: number }): RateLimiter {
  const ratelimit = new Ratelimit({
    redis: new Redis({ url: opts.url, token: opts.token }),
    limiter: Ratelimit.slidingWindow(opts.perMinute, "60 s"),
    prefix: "mxray:rl",
  });
  return {
    async limit(key) {
      meter.redisCommands += 1; // one EVALSHA per call (the sliding-window script)
      const r = await ratelimit.limit(key);
      return { success: r.success, limit: r.limit, remaining: r.remaining, reset: r.reset };
    },
  };
}
