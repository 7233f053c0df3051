// A small shared cache (fresh single-check results, counters, claimed nonces, Idempotency-Key
// answers and their index by address, which erasure reads) on Upstash Redis;
// locally, on redis-server behind the loopback bridge that speaks Upstash's REST format
// (e2e/upstash-bridge.ts).
import { Redis } from "@upstash/redis/cloudflare";
import { meter } from "../meter.ts";

export interface SharedCache {
  get<T>(key: string): Promise<T | null>;
  set(key: string, value: unknown, ttlS: number): Promise<void>;
  /** Adds `by` (1 unless said) to a counter that lives `ttlS` from its first count; answers the new count. */
  increment(key: string, ttlS: number, by?: number): Promise<number>;
  /** Sets the key for `ttlS` only if it is absent (SET NX EX): true when this call set it. */
  claim(key: string, ttlS: number): Promise<boolean>;
  /** Adds `member` to the set at `key`, which then lives `ttlS` (SADD, EXPIRE): an index of other keys. */
  remember(key: string, member: string, ttlS: number): Promise<void>;
  /** The members of the set at `key` (SMEMBERS); none when it is absent. */
  members(key: string): Promise<string[]>;
  /** Removes the keys (DEL); answers how many there were. */
  delete(keys: readonly string[]): Promise<number>;
}

export function createUpstashCache(opts: { url: string; token: string }): SharedCache {
  const redis = new Redis({ url: opts.url, token: opts.token });
  return {
    async get<T>(key: string) {
      meter.redisCommands++;
      return (await redis.get<T>(key)) ?? null;
    },
    async set(key, value, ttlS) {
      meter.redisCommands++;
      await redis.set(key, value, { ex: ttlS });
    },
    async increment(key, ttlS, by = 1) {
      meter.redisCommands += 2; // INCRBY and EXPIRE NX, in one transaction
      const [count] = await redis.multi().incrby(key, by).expire(key, ttlS, "NX").exec<[number, number]>();
      return count;
    },
    async claim(key, ttlS) {
      meter.redisCommands++;
      return (await redis.set(key, 1, { nx: true, ex: ttlS })) === "OK";
    },
    async remember(key, member, ttlS) {
      meter.redisCommands += 2; // SADD and EXPIRE, in one transaction
      await redis.multi().sadd(key, member).expire(key, ttlS).exec();
    },
    async members(key) {
      meter.redisCommands++;
      return redis.smembers<string[]>(key);
    },
    async delete(keys) {
      if (keys.length === 0) return 0;
      meter.redisCommands++;
      return redis.del(...keys);
    },
  };
}
