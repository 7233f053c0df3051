// A small shared cache (fresh single-check results) behind one interface: Upstash Redis when
// configured, else an in-process stand-in with the same TTL semantics.
import { Redis } from "@upstash/redis/cloudflare";
import { meter } from "../meter.ts";

export interface SharedCache {
  readonly kind: "upstash" | "memory";
  get<T>(key: string): Promise<T | null>;
  set(key: string, value: unknown, ttlS: number): Promise<void>;
}

export function createUpstashCache(opts: { url: string; token: string }): SharedCache {
  const redis = new Redis({ url: opts.url, token: opts.token });
  return {
    kind: "upstash",
    async get<T>(key: string) {
      meter.redisCommands++;
      return (await redis.get<T>(key)) ?? null;
    },
    async set(key, value, ttlS) {
      meter.redisCommands++;
      await redis.set(key, value, { ex: ttlS });
    },
  };
}

const MEMORY_CACHE_MAX = 10_000;
const entries = new Map<string, { value: unknown; expiresAt: number }>();

export function createMemoryCache(now: () => number = Date.now): SharedCache {
  return {
    kind: "memory",
    async get<T>(key: string) {
      meter.redisCommands++; // counted as the Upstash adapter would send them
      const hit = entries.get(key);
      if (!hit) return null;
      if (hit.expiresAt <= now()) {
        entries.delete(key);
        return null;
      }
      return hit.value as T;
    },
    async set(key, value, ttlS) {
      meter.redisCommands++;
      if (ttlS <= 0) return;
      if (entries.size >= MEMORY_CACHE_MAX) entries.delete(entries.keys().next().value!);
      entries.set(key, { value, expiresAt: now() + ttlS * 1000 });
    },
  };
}
