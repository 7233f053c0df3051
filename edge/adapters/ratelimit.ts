// API rate limits: @upstash/ratelimit's sliding window on Upstash Redis; locally, on redis-server
// behind the loopback bridge that speaks Upstash's REST format, Lua scripts included. Two windows:
// one per key, and one an account's keys share, so making more keys buys no more throughput; and
// a publishable key's three (edge/api/publishable.ts): the key's, one per origin, one per client IP.
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { meter } from "../meter.ts";

/** Unset MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN: an account's keys share this many keys' worth a minute. */
export const ACCOUNT_LIMIT_IN_KEYS = 3;

export interface RateLimitOutcome {
  success: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the window frees up. */
  reset: number;
}

/** A publishable key's windows: the key's own, one of its origins', one client IP's. */
export type PublishableWindow = "key" | "origin" | "ip";

export interface RateLimiter {
  /** One request of one key (the dev key: of its account). */
  limit(key: string): Promise<RateLimitOutcome>;
  /** One single check of a publishable key in one of its windows; `id` names the key (and the origin or IP). */
  limitPublishable(window: PublishableWindow, id: string): Promise<RateLimitOutcome>;
  /** `cost` units of what all of an account's keys share; refused, nothing is spent. */
  limitAccount(accountId: string, cost?: number): Promise<RateLimitOutcome>;
}

export function createUpstashRateLimiter(opts: {
  url: string;
  token: string;
  perMinute: number;
  accountPerMinute?: number | undefined;
  /** MXRAY_PK_RATE_PER_KEY, _PER_ORIGIN and _PER_IP; a window not given allows `perMinute`. */
  publishablePerMinute?: Partial<Record<PublishableWindow, number>>;
}): RateLimiter {
  const redis = new Redis({ url: opts.url, token: opts.token });
  const perKey = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(opts.perMinute, "60 s"), prefix: "mxray:rl" });
  // Made on first use: only the widget's single checks ask them.
  const perPublishable = new Map<PublishableWindow, Ratelimit>();
  const publishable = (window: PublishableWindow): Ratelimit => {
    let r = perPublishable.get(window);
    const perMinute = opts.publishablePerMinute?.[window] ?? opts.perMinute;
    if (!r) perPublishable.set(window, (r = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(perMinute, "60 s"), prefix: `mxray:pk:${window}` })));
    return r;
  };
  const accountLimit = opts.accountPerMinute ?? ACCOUNT_LIMIT_IN_KEYS * opts.perMinute;
  const perAccount = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(accountLimit, "60 s"), prefix: "mxray:rla" });
  const ask = async (ratelimit: Ratelimit, id: string, rate: number): Promise<RateLimitOutcome> => {
    meter.redisCommands += 1; // one EVALSHA per call (the sliding-window script)
    const r = await ratelimit.limit(id, rate === 1 ? undefined : { rate });
    return { success: r.success, limit: r.limit, remaining: r.remaining, reset: r.reset };
  };
  return {
    limit: (key) => ask(perKey, key, 1),
    limitPublishable: (window, id) => ask(publishable(window), id, 1),
    async limitAccount(accountId, cost = 1) {
      const units = Math.max(1, Math.floor(cost));
      // The script admits whatever finds the window not yet full (and spends it all): a request
      // worth several units first asks whether they fit, so it cannot overfill the window.
      if (units > 1) {
        meter.redisCommands += 1;
        const room = await perAccount.getRemaining(accountId);
        if (room.remaining < units) return { success: false, limit: accountLimit, remaining: room.remaining, reset: room.reset };
      }
      return ask(perAccount, accountId, units);
    },
  };
}
