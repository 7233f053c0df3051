// Fleet-shared MX state against real Redis (redis-server behind the loopback Upstash bridge), with
// three probes' states on one injected clock; and the same machine in memory when Redis is absent
// or unreachable.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "@upstash/redis";
import { startRedis, type RunningRedis } from "../e2e/redis.ts";
import { startUpstashBridge, type UpstashBridge } from "../e2e/upstash-bridge.ts";
import { providerOf } from "./providers.ts";
import { createSharedMxState, DEFAULT_TUNING, type Clock, type SharedMxStateOptions } from "./shared.ts";
import type { SessionError } from "./smtp/connection.ts";

let redisServer: RunningRedis;
let bridge: UpstashBridge;

beforeAll(async () => {
  redisServer = await startRedis();
  bridge = await startUpstashBridge({ redisPort: redisServer.port, redisPassword: redisServer.password, token: "shared-test" });
});
afterAll(async () => {
  await bridge?.stop();
  await redisServer?.stop();
});
beforeEach(async () => {
  await new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false }).flushdb();
});

/** Time moves only when a test (or a waiting probe) moves it. */
function manualClock(): Clock & { advance(ms: number): void; slept: number } {
  let now = 1_800_000_000_000;
  const clock = {
    slept: 0,
    now: () => now,
    advance: (ms: number) => void (now += ms),
    sleep: async (ms: number) => {
      now += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

const refused: SessionError = { kind: "refused", detail: "ECONNREFUSED" };
const t = DEFAULT_TUNING;

function fleetOf(n: number, clock: Clock, extra: Partial<SharedMxStateOptions> = {}) {
  return Array.from({ length: n }, (_, i) =>
    createSharedMxState({ probeId: `p${i + 1}`, redis: { url: bridge.url, token: bridge.token }, clock, random: () => 0, ...extra }),
  );
}

describe("circuit breakers", () => {
  it("open fleet-wide on failures seen by different probes, for the cooldown", async () => {
    const clock = manualClock();
    const [p1, p2, p3] = fleetOf(3, clock);
    await p1!.failed("192.0.2.1", refused);
    await p1!.failed("192.0.2.1", refused);
    expect(await p3!.admit("192.0.2.1")).toBeNull();
    await p2!.failed("192.0.2.1", refused);
    // p3 never failed to connect, yet it is kept away: the fleet's third failure opened it.
    expect(await p3!.admit("192.0.2.1")).toEqual(refused);
    expect(await p3!.admit("192.0.2.2")).toBeNull();
    expect(p3!.stats()).toMatchObject({ mode: "redis", openBreakers: 1, fleetHits: { breaker: 1 } });
    clock.advance(t.breakerCooldownMs - 1);
    expect(await p1!.admit("192.0.2.1")).toEqual(refused);
  });

  it("let one probe of the fleet try a half-open host; its success closes it for all", async () => {
    const clock = manualClock();
    const [p1, p2, p3] = fleetOf(3, clock);
    for (const p of [p1, p2, p3]) await p!.failed("192.0.2.7", refused);
    clock.advance(t.breakerCooldownMs);
    expect(await p2!.admit("192.0.2.7")).toBeNull(); // the trial
    expect(await p1!.admit("192.0.2.7")).toEqual(refused);
    expect(await p3!.admit("192.0.2.7")).toEqual(refused);
    await p2!.connected("192.0.2.7");
    clock.advance(t.freshMs);
    expect(await p1!.admit("192.0.2.7")).toBeNull();
    expect(await p3!.admit("192.0.2.7")).toBeNull();
  });

  it("double the cooldown when the half-open trial fails", async () => {
    const clock = manualClock();
    const [p1, p2] = fleetOf(2, clock);
    for (let i = 0; i < t.breakerFailures; i++) await p1!.failed("192.0.2.9", refused);
    clock.advance(t.breakerCooldownMs);
    expect(await p2!.admit("192.0.2.9")).toBeNull();
    await p2!.failed("192.0.2.9", { kind: "timeout", phase: "connect" });
    clock.advance(t.breakerCooldownMs * 2 - 1);
    expect(await p1!.admit("192.0.2.9")).toEqual({ kind: "timeout", phase: "connect" });
    clock.advance(1);
    expect(await p1!.admit("192.0.2.9")).toBeNull();
  });

  it("work from memory alone without Redis, with the same half-open trial", async () => {
    const clock = manualClock();
    const p = createSharedMxState({ probeId: "solo", clock });
    for (let i = 0; i < t.breakerFailures - 1; i++) await p.failed("192.0.2.3", refused);
    expect(await p.admit("192.0.2.3")).toBeNull();
    await p.failed("192.0.2.3", refused);
    expect(await p.admit("192.0.2.3")).toEqual(refused);
    clock.advance(t.breakerCooldownMs);
    expect(await p.admit("192.0.2.3")).toBeNull();
    expect(await p.admit("192.0.2.3")).toEqual(refused); // one trial at a time
    await p.connected("192.0.2.3");
    expect(await p.admit("192.0.2.3")).toBeNull();
    expect(p.stats()).toMatchObject({ mode: "local", redisErrors: 0 });
  });
});

describe("catch-all answers", () => {
  const answer = { catchAll: true, reply: "250 2.1.5 Ok", mx: "mx.any.test", probe: "p1", testedAt: 1 };

  it("are tested by one probe while the others wait for its answer, then served from the fleet", async () => {
    const clock = manualClock();
    const [p1, p2, p3] = fleetOf(3, clock);
    expect(await p1!.lookupCatchAll("any.test")).toBe("test");
    expect(await p2!.lookupCatchAll("any.test")).toBe("wait");
    const waiting = p2!.awaitCatchAll("any.test", Number.POSITIVE_INFINITY);
    await p1!.saveCatchAll("any.test", answer, 60_000);
    expect(await waiting).toEqual(expect.objectContaining(answer));
    expect(await p3!.lookupCatchAll("any.test")).toEqual(expect.objectContaining(answer));
    expect(p3!.stats().fleetHits.catchAll).toBe(1);
    clock.advance(60_000);
    expect(await p3!.lookupCatchAll("any.test")).toBe("test"); // the TTL holds across the fleet
  });

  it("release the claim when the test said nothing definite, so a waiting probe tests for itself", async () => {
    const clock = manualClock();
    const [p1, p2] = fleetOf(2, clock);
    expect(await p1!.lookupCatchAll("vague.test")).toBe("test");
    await p1!.saveCatchAll("vague.test", null, 60_000);
    expect(await p2!.awaitCatchAll("vague.test", Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(clock.slept).toBeLessThan(t.catchAllClaimMs);
    expect(await p2!.lookupCatchAll("vague.test")).toBe("test");
  });

  it("stop waiting for a claimant that never answers, within the waiter's own limit", async () => {
    const clock = manualClock();
    const [p1, p2] = fleetOf(2, clock);
    expect(await p1!.lookupCatchAll("gone.test")).toBe("test"); // and p1 dies
    expect(await p2!.awaitCatchAll("gone.test", 1_000)).toBeUndefined();
    expect(clock.slept).toBeGreaterThanOrEqual(1_000);
    expect(clock.slept).toBeLessThan(1_000 + t.catchAllPollMs);
  });
});

describe("provider deferrals and budgets", () => {
  it("pause every probe's connections to a provider after one probe is deferred, doubling per level", async () => {
    const clock = manualClock();
    const [p1, p2] = fleetOf(2, clock);
    const provider = providerOf("mx2.bigmail.test");
    await p1!.deferred(provider);
    await p1!.deferred(provider); // during the pause: the same level
    const start = clock.now();
    expect(await p2!.beforeConnect(provider, start + 60_000)).toBe(true);
    expect(clock.now() - start).toBe(t.deferralPauseMs);
    expect(p2!.stats().fleetHits.deferral).toBe(1);
    await p2!.deferred(provider);
    const second = clock.now();
    // Past the deadline: false at once, without waiting.
    expect(await p1!.beforeConnect(provider, second + t.deferralPauseMs)).toBe(false);
    expect(clock.now()).toBe(second);
    expect(await p1!.beforeConnect(provider, second + 10 * t.deferralPauseMs)).toBe(true);
    expect(clock.now() - second).toBe(2 * t.deferralPauseMs);
  });

  it("step the level back down for each quiet spell after a pause", async () => {
    const clock = manualClock();
    const [p1, p2] = fleetOf(2, clock);
    await p1!.deferred("slow.test");
    clock.advance(t.deferralPauseMs);
    await p1!.deferred("slow.test"); // level 2: twice the pause
    clock.advance(2 * t.deferralPauseMs + t.deferralDecayMs);
    await p2!.deferred("slow.test"); // one quiet spell later: back to level 1, then 2 again
    const start = clock.now();
    expect(await p1!.beforeConnect("slow.test", start + 60_000)).toBe(true);
    expect(clock.now() - start).toBe(2 * t.deferralPauseMs);
  });

  it("spread connections and RCPTs over the provider's budget", async () => {
    const clock = manualClock();
    const p = createSharedMxState({ probeId: "solo", clock, providers: { google: { connectionsPerMinute: 12, rcptsPerMinute: 120, maxOpen: 8 } } });
    const provider = providerOf("alt1.aspmx.l.google.com");
    expect(provider).toBe("google");
    const start = clock.now();
    expect(await p.beforeConnect(provider, start + 60_000)).toBe(true);
    expect(await p.beforeConnect(provider, start + 60_000)).toBe(true);
    expect(clock.now() - start).toBe(5_000); // 12 a minute: one every five seconds
    // 2 RCPTs a second, a burst of 10: a transaction may run into debt, paid before the next one.
    expect(await p.beforeRcpts(provider, 10, start + 60_000)).toBe(true);
    expect(await p.beforeRcpts(provider, 10, start + 60_000)).toBe(true);
    expect(clock.now() - start).toBe(5_000 + 500);
    expect(await p.beforeRcpts(provider, 1, start + 60_000)).toBe(true);
    expect(clock.now() - start).toBe(5_000 + 500 + 5_000);
    // A provider with no budget and no deferral is not held at all.
    expect(await p.beforeConnect("example.test", clock.now())).toBe(true);
  });

  it("keep a provider's sessions open at once within its budget, across every batch of the probe", async () => {
    const clock = manualClock();
    const p = createSharedMxState({ probeId: "solo", clock, providers: { "bigmail.test": { connectionsPerMinute: 600, rcptsPerMinute: 6_000, maxOpen: 2 } } });
    const start = clock.now();
    expect(await p.beforeConnect("bigmail.test", start + 10_000)).toBe(true);
    expect(await p.beforeConnect("bigmail.test", start + 10_000)).toBe(true);
    // A third waits for one to end, here in vain until its deadline, having counted nothing.
    expect(await p.beforeConnect("bigmail.test", start + 10_000)).toBe(false);
    expect(clock.now()).toBe(start + 10_000);
    p.connectionDone("bigmail.test");
    expect(await p.beforeConnect("bigmail.test", clock.now() + 10_000)).toBe(true);
    expect(await p.beforeConnect("bigmail.test", clock.now() + 1)).toBe(false);
    // Any provider is held to two open once it has deferred us.
    await p.deferred("smallhost.test");
    clock.advance(t.deferralPauseMs);
    expect(await p.beforeConnect("smallhost.test", clock.now() + 60_000)).toBe(true);
    expect(await p.beforeConnect("smallhost.test", clock.now() + 60_000)).toBe(true);
    expect(await p.beforeConnect("smallhost.test", clock.now() + 1_000)).toBe(false);
  });
});

describe("without a reachable Redis", () => {
  it("degrades to memory, says so, and tries Redis again after the pause", async () => {
    const clock = manualClock();
    const p = createSharedMxState({ probeId: "cut-off", clock, redis: { url: "http://127.0.0.1:9", token: "x" } });
    for (let i = 0; i < t.breakerFailures; i++) await p.failed("192.0.2.5", refused);
    expect(await p.admit("192.0.2.5")).toEqual(refused);
    expect(await p.lookupCatchAll("any.test")).toBe("test");
    const down = p.stats();
    expect(down.mode).toBe("local");
    expect(down.redisErrors).toBe(1); // one failure, then memory only until the retry time
    clock.advance(t.redisRetryMs);
    expect(p.stats().mode).toBe("redis");
    expect(await p.lookupCatchAll("other.test")).toBe("test");
    expect(p.stats()).toMatchObject({ mode: "local", redisErrors: 2 });
  });
});

describe("providerOf", () => {
  it("groups a provider's MX hosts, and others by their registrable domain", () => {
    expect(providerOf("aspmx.l.google.com")).toBe("google");
    expect(providerOf("example-com.mail.protection.outlook.com.")).toBe("microsoft");
    expect(providerOf("mta7.am0.yahoodns.net")).toBe("yahoo");
    expect(providerOf("mx1.bigmail.test")).toBe("bigmail.test");
    expect(providerOf("mx.mail.example.co.uk")).toBe("example.co.uk");
    expect(providerOf("localhost")).toBe("localhost");
  });
});
