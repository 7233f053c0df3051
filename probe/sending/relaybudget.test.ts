// Relay limits across probes: two budgets (two probes) on one real Redis (redis-server behind the
// loopback Upstash bridge) and one injected clock; the same rule in memory; nothing granted while
// a configured Redis is away.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "@upstash/redis";
import { startRedis, type RunningRedis } from "../../e2e/redis.ts";
import { startUpstashBridge, type UpstashBridge } from "../../e2e/upstash-bridge.ts";
import type { Clock } from "../shared.ts";
import { createRelayBudget, DEFAULT_REDIS_RETRY_MS, type RelayBudget } from "./relaybudget.ts";

let redisServer: RunningRedis;
let bridge: UpstashBridge;

beforeAll(async () => {
  redisServer = await startRedis();
  bridge = await startUpstashBridge({ redisPort: redisServer.port, redisPassword: redisServer.password, token: "budget-test" });
});
afterAll(async () => {
  await bridge?.stop();
  await redisServer?.stop();
});
beforeEach(async () => {
  await new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false }).flushdb();
});

/** Time moves only when a test, or a waiting take, moves it. Starts at the top of a UTC day. */
function manualClock(): Clock & { advance(ms: number): void; slept: number[] } {
  let now = Date.UTC(2027, 0, 15);
  const clock = {
    slept: [] as number[],
    now: () => now,
    advance: (ms: number) => void (now += ms),
    sleep: async (ms: number) => {
      now += ms;
      clock.slept.push(ms);
    },
  };
  return clock;
}

const relay = { id: "rly_test1", max_per_minute: 5, max_per_day: 12 };

function twoProbes(clock: Clock): [RelayBudget, RelayBudget] {
  const redis = { url: bridge.url, token: bridge.token };
  return [createRelayBudget({ redis, clock }), createRelayBudget({ redis, clock })];
}

describe("relay budget across the fleet", () => {
  it("holds the per-minute limit over two probes: 5 of 20 takes in minute 0, 5 more only once the clock moves", async () => {
    const clock = manualClock();
    const [p1, p2] = twoProbes(clock);
    const soon = () => clock.now() + 1_000; // within the minute: nobody may wait for the next
    const granted: boolean[] = [];
    for (let i = 0; i < 20; i++) granted.push(await (i % 2 ? p2 : p1).take(relay, soon()));
    expect(granted.filter(Boolean)).toHaveLength(5);
    expect(granted.slice(0, 5)).toEqual([true, true, true, true, true]);
    expect(clock.slept).toEqual([]);

    clock.advance(30_000);
    expect(await p1.take(relay, soon())).toBe(false); // still minute 0
    clock.advance(30_000);
    const next: boolean[] = [];
    for (let i = 0; i < 20; i++) next.push(await (i % 2 ? p2 : p1).take(relay, soon()));
    expect(next.filter(Boolean)).toHaveLength(5);
    expect(p1.stats()).toMatchObject({ mode: "redis", redisUp: true, redisErrors: 0 });
    expect(p1.stats().granted + p2.stats().granted).toBe(10);
  });

  it("makes a take wait for the next minute when its deadline allows, then grants it", async () => {
    const clock = manualClock();
    const [p1, p2] = twoProbes(clock);
    expect(await p1.takeUpTo(relay, 5, clock.now() + 1_000)).toBe(5);
    clock.advance(20_000);
    expect(await p2.take(relay, clock.now() + 60_000)).toBe(true);
    expect(clock.slept).toEqual([40_000]); // exactly to the next minute
  });

  it("grants part of a group when only part fits, and counts it in both windows", async () => {
    const clock = manualClock();
    const [p1, p2] = twoProbes(clock);
    expect(await p1.takeUpTo(relay, 3, clock.now() + 1)).toBe(3);
    expect(await p2.takeUpTo(relay, 50, clock.now() + 1)).toBe(2);
    expect(await p1.takeUpTo(relay, 1, clock.now() + 1)).toBe(0);
    const raw = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false, automaticDeserialization: false });
    const keys = (await raw.keys("mxray:relay:rly_test1:*")).sort();
    expect(keys).toHaveLength(2);
    expect(await raw.mget(...keys)).toEqual(["5", "5"]);
  });

  it("holds the per-day limit: a full day waits for the next UTC day, not the next minute", async () => {
    const clock = manualClock();
    const [p1, p2] = twoProbes(clock);
    let sent = 0;
    for (let minute = 0; minute < 4; minute++) {
      sent += await p1.takeUpTo(relay, 5, clock.now() + 1);
      sent += await p2.takeUpTo(relay, 5, clock.now() + 1);
      clock.advance(60_000);
    }
    expect(sent).toBe(12);
    // A deadline within the day gives up at once; one past midnight waits for it.
    expect(await p1.take(relay, clock.now() + 3_600_000)).toBe(false);
    expect(clock.slept).toEqual([]);
    expect(await p2.take(relay, clock.now() + 86_400_000)).toBe(true);
    expect(clock.now()).toBe(Date.UTC(2027, 0, 16));
  });

  it("keeps each relay's counts apart", async () => {
    const clock = manualClock();
    const [p1] = twoProbes(clock);
    expect(await p1.takeUpTo(relay, 9, clock.now() + 1)).toBe(5);
    expect(await p1.takeUpTo({ ...relay, id: "rly_other" }, 9, clock.now() + 1)).toBe(5);
  });

  it("stops waiting when the signal aborts", async () => {
    const clock = manualClock();
    const [p1] = twoProbes(clock);
    await p1.takeUpTo(relay, 5, clock.now() + 1);
    const abort = new AbortController();
    abort.abort();
    expect(await p1.take(relay, clock.now() + 120_000, abort.signal)).toBe(false);
  });
});

describe("without a fleet Redis", () => {
  it("keeps the same limits in this probe's memory", async () => {
    const clock = manualClock();
    const p = createRelayBudget({ clock });
    const granted = [];
    for (let i = 0; i < 8; i++) granted.push(await p.take(relay, clock.now() + 1_000));
    expect(granted.filter(Boolean)).toHaveLength(5);
    expect(await p.take(relay, clock.now() + 120_000)).toBe(true);
    expect(clock.slept).toEqual([60_000]);
    expect(p.stats()).toMatchObject({ mode: "local", redisUp: true, granted: 6 });
  });

  it("grants nothing while a configured Redis is away: it waits, gives up at the deadline, and says so", async () => {
    const clock = manualClock();
    const p = createRelayBudget({ clock, redis: { url: "http://127.0.0.1:9", token: "x" } });
    const start = clock.now();
    expect(await p.take(relay, start + 12_000)).toBe(false);
    expect(clock.now()).toBe(start + 12_000);
    expect(clock.slept).toEqual([DEFAULT_REDIS_RETRY_MS, DEFAULT_REDIS_RETRY_MS, 2_000]);
    expect(p.stats()).toMatchObject({ mode: "redis", redisUp: false, redisErrors: 3, granted: 0, heldForRedis: 1 });
  });
});
