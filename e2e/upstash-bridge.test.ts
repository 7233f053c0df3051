// The Upstash SDKs, unmodified, against real Redis through the loopback bridge (issue 13): the
// REST format (commands, pipeline, multi-exec, errors, base64 results, the bearer token) and
// @upstash/ratelimit's Lua sliding window, through the edge's own adapters too. Then the local
// stack's two databases (issue 21): the probes' credentials reach none of the edge's keys.
import { createHash } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { createUpstashCache } from "../edge/adapters/cache.ts";
import { createUpstashRateLimiter } from "../edge/adapters/ratelimit.ts";
import { createSharedMxState, type Clock } from "../probe/shared.ts";
import { startRedis, type RunningRedis } from "./redis.ts";
import { stackRedis } from "./stack.ts";
import { scriptForRedis, startUpstashBridge, type UpstashBridge } from "./upstash-bridge.ts";

let redisServer: RunningRedis;
let bridge: UpstashBridge;
let redis: Redis;
let n = 0;
const key = (what: string) => `test:${what}:${++n}`;

beforeAll(async () => {
  redisServer = await startRedis();
  bridge = await startUpstashBridge({ redisPort: redisServer.port, redisPassword: redisServer.password, token: "bridge-token" });
  redis = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
});
afterAll(async () => {
  await bridge?.stop();
  await redisServer?.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${bridge.token}` }) =>
  fetch(`${bridge.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });

describe("@upstash/redis through the bridge", () => {
  it("sets with EX, gets JSON and text back (base64 results decoded by the SDK, unicode intact)", async () => {
    const k = key("set");
    expect(await redis.set(k, { verdict: "deliverable", score: 95 }, { ex: 60 })).toBe("OK");
    expect(await redis.get(k)).toEqual({ verdict: "deliverable", score: 95 });
    expect(await redis.ttl(k)).toBeGreaterThan(55);
    await redis.set(k, "héllo ✓ 📬");
    expect(await redis.get(k)).toBe("héllo ✓ 📬");
    expect(await redis.ping()).toBe("PONG");
    const plain = new Redis({ url: bridge.url, token: bridge.token, responseEncoding: false, enableTelemetry: false });
    expect(await plain.get(k)).toBe("héllo ✓ 📬");
    expect(await redis.get(key("missing"))).toBeNull();
  });

  it("counts with INCR and reports a command's error as Redis words it", async () => {
    const k = key("incr");
    expect(await redis.incr(k)).toBe(1);
    expect(await redis.incrby(k, 41)).toBe(42);
    await redis.set(k, "not a number");
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer/);
    const res = await post("/", ["incr", k]);
    expect([res.status, await res.json()]).toEqual([400, { error: "ERR value is not an integer or out of range" }]);
  });

  it("runs a pipeline in order, each answer its own result or error", async () => {
    const k = key("pipe");
    expect(await redis.pipeline().set(k, 1).incr(k).get(k).exec()).toEqual(["OK", 2, 2]);
    const res = await post("/pipeline", [["set", k, "x"], ["incr", k], ["get", k]]);
    expect([res.status, await res.json()]).toEqual([200, [{ result: "OK" }, { error: "ERR value is not an integer or out of range" }, { result: "x" }]]);
  });

  it("runs multi-exec as one transaction, and refuses one that cannot queue", async () => {
    const k = key("multi");
    expect(await redis.multi().incr(k).incr(k).hset(`${k}:h`, { a: 1 }).exec()).toEqual([1, 2, 1]);
    const discarded = await post("/multi-exec", [["incr", k], ["nosuchcommand"]]);
    expect(discarded.status).toBe(400);
    expect(((await discarded.json()) as { error: string }).error).toMatch(/unknown command/);
    expect(await redis.get(k)).toBe(2); // nothing of the discarded transaction ran
  });

  it("refuses a wrong or missing token with 401, and commands that would change a pooled connection", async () => {
    const stranger = new Redis({ url: bridge.url, token: "wrong-token", enableTelemetry: false, retry: false });
    await expect(stranger.get("anything")).rejects.toThrow(/Unauthorized/);
    expect((await post("/", ["get", "k"], {})).status).toBe(401);
    expect((await fetch(`${bridge.url}/?_token=${bridge.token}`, { method: "POST", body: JSON.stringify(["ping"]) })).status).toBe(200);
    const select = await post("/", ["select", "1"]);
    expect([select.status, await select.json()]).toEqual([400, { error: "ERR 'select' is not available over the REST API" }]);
  });
});

describe("Lua scripts", () => {
  it("runs a script declaring Upstash's allow-key-locking flag, known by the SHA1 its sender computed", async () => {
    const script = "#!lua flags=allow-key-locking,no-writes\nreturn redis.call('GET', KEYS[1])";
    expect(scriptForRedis(script)).toBe("#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])");
    expect(scriptForRedis("#!lua flags=allow-key-locking\nreturn 1")).toBe("#!lua\nreturn 1");
    const k = key("script");
    await redis.set(k, "v");
    const sha = createHash("sha1").update(script).digest("hex");
    await expect(redis.evalsha(sha, [k], [])).rejects.toThrow(/NOSCRIPT/);
    expect(await redis.eval(script, [k], [])).toBe("v");
    expect(await redis.evalsha(sha, [k], [])).toBe("v");
    expect(await redis.scriptExists(sha)).toEqual([1]);
    const other = "#!lua flags=allow-key-locking\nreturn 7";
    expect(await redis.scriptLoad(other)).toBe(createHash("sha1").update(other).digest("hex"));
  });
});

describe("rate limits on real Redis", () => {
  it("@upstash/ratelimit's sliding window (its Lua script) limits at N and weighs the previous window", async () => {
    vi.useFakeTimers({ toFake: ["Date"] }); // the SDK computes windows from the client's clock
    onTestFinished(() => void vi.useRealTimers());
    vi.setSystemTime(5 * 60_000);
    const ratelimit = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(3, "60 s"), prefix: key("rl") });
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await ratelimit.limit("k")).success);
    expect(outcomes).toEqual([true, true, true, false]);
    vi.setSystemTime(6.5 * 60_000); // half-way into the next window: the previous one's 3 weigh 0.5 → 1 used
    expect(await ratelimit.limit("k")).toMatchObject({ success: true, remaining: 1 });
    expect(await ratelimit.limit("k")).toMatchObject({ success: true, remaining: 0 });
    expect((await ratelimit.limit("k")).success).toBe(false);
    vi.setSystemTime(8.5 * 60_000); // two windows on: the old counts no longer weigh
    expect(await ratelimit.limit("k")).toMatchObject({ success: true, remaining: 2 });
  });

  it("the edge's rate limiter answers 429-worthy outcomes per key, with the window's reset", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    onTestFinished(() => void vi.useRealTimers());
    vi.setSystemTime(60 * 60_000 + 20_000);
    const limiter = createUpstashRateLimiter({ url: bridge.url, token: bridge.token, perMinute: 2 });
    const subject = key("subject");
    expect((await limiter.limit(subject)).success).toBe(true);
    expect(await limiter.limit(subject)).toMatchObject({ success: true, remaining: 0, limit: 2 });
    expect(await limiter.limit(subject)).toMatchObject({ success: false, reset: 61 * 60_000 });
    expect((await limiter.limit(key("other"))).success).toBe(true);
  });

  it("the edge's cache keeps a value with its TTL in Redis", async () => {
    const cache = createUpstashCache({ url: bridge.url, token: bridge.token });
    const k = key("cache");
    expect(await cache.get(k)).toBeNull();
    await cache.set(k, { verdict: "deliverable", score: 95 }, 3600);
    expect(await cache.get(k)).toEqual({ verdict: "deliverable", score: 95 });
    expect(await redis.ttl(k)).toBeGreaterThan(3500);
  });
});

describe("the stack's edge and fleet databases (issue 21)", () => {
  it("with the probes' URL and token, no key the edge wrote can be read, listed, written or deleted", async () => {
    const lines: string[] = [];
    const dbs = await stackRedis({}, (line) => lines.push(line));
    onTestFinished(() => dbs.stop());
    expect([dbs.edge.local, dbs.fleet.local]).toEqual([true, true]);
    expect(dbs.fleet.url).not.toBe(dbs.edge.url);
    expect(dbs.fleet.token).not.toBe(dbs.edge.token);
    // The start-up log says which stand-in serves which.
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^redis     edge  \\(the Worker's\\): redis-server on .* bridge at ${dbs.edge.url} `)),
      expect.stringMatching(new RegExp(`^redis     fleet \\(the probes'\\): redis-server on .* bridge at ${dbs.fleet.url} `)),
    ]);

    // The edge writes what it keeps: a verdict in the verify cache, an idempotency record, a quota
    // counter and a rate-limit window, through its own adapters.
    const edgeCache = createUpstashCache(dbs.edge);
    const verdict = { email: "ceo@bigco.test", verdict: "deliverable", score: 95 };
    await edgeCache.set("verify:ceo@bigco.test", verdict, 3600);
    await edgeCache.set("verify:idem:acc_1:key-1", { status: 200 }, 3600);
    await edgeCache.increment("people:quota:acc_1", 86_400);
    expect((await createUpstashRateLimiter({ ...dbs.edge, perMinute: 10 }).limit("key_1")).success).toBe(true);
    const edgeRedis = new Redis({ url: dbs.edge.url, token: dbs.edge.token, enableTelemetry: false });
    const edgeKeys = (await edgeRedis.keys("*")).sort();
    expect(edgeKeys).toEqual(expect.arrayContaining(["verify:ceo@bigco.test", "verify:idem:acc_1:key-1", "people:quota:acc_1"]));
    expect(edgeKeys.some((k) => k.startsWith("mxray:rl:"))).toBe(true);

    // The probe's credentials at the probe's URL: another database, where none of them exists.
    const fleet = new Redis({ url: dbs.fleet.url, token: dbs.fleet.token, enableTelemetry: false });
    for (const k of edgeKeys) expect(await fleet.exists(k)).toBe(0);
    expect(await fleet.get("verify:ceo@bigco.test")).toBeNull();
    expect(await fleet.keys("*")).toEqual([]);
    expect(await fleet.scan(0, { count: 1000 })).toEqual(["0", []]);
    expect(await fleet.del(...edgeKeys)).toBe(0);
    expect(await fleet.set("verify:ceo@bigco.test", { ...verdict, verdict: "undeliverable" })).toBe("OK");
    expect(await fleet.flushall()).toBe("OK");
    expect(await edgeCache.get("verify:ceo@bigco.test")).toEqual(verdict); // not poisoned, not deleted
    expect((await edgeRedis.keys("*")).sort()).toEqual(edgeKeys);

    // The probe's token at the edge's URL: refused before Redis sees any command.
    const withFleetToken = (command: (string | number)[]) =>
      fetch(dbs.edge.url, { method: "POST", headers: { authorization: `Bearer ${dbs.fleet.token}` }, body: JSON.stringify(command) });
    for (const command of [["get", "verify:ceo@bigco.test"], ["set", "verify:ceo@bigco.test", "x"], ["del", "verify:ceo@bigco.test"], ["keys", "*"], ["scan", 0], ["flushall"]]) {
      const res = await withFleetToken(command);
      expect([command[0], res.status]).toEqual([command[0], 401]);
    }
    const stolen = new Redis({ url: dbs.edge.url, token: dbs.fleet.token, enableTelemetry: false, retry: false });
    await expect(stolen.get("verify:ceo@bigco.test")).rejects.toThrow(/Unauthorized/);
    expect(await edgeCache.get("verify:ceo@bigco.test")).toEqual(verdict);

    // The fleet's own state still works with those credentials, and stays out of the edge's database.
    let now = 1_800_000_000_000;
    const clock: Clock = { now: () => now, sleep: async (ms) => void (now += ms) };
    const [p1, p2] = ["p1", "p2"].map((probeId) => createSharedMxState({ probeId, redis: dbs.fleet, clock, random: () => 0 }));
    for (let i = 0; i < 3; i++) await p1!.failed("192.0.2.9", { kind: "refused", detail: "ECONNREFUSED" });
    expect(await p2!.admit("192.0.2.9")).toEqual({ kind: "refused", detail: "ECONNREFUSED" });
    expect(p2!.stats()).toMatchObject({ mode: "redis", redisErrors: 0, fleetHits: { breaker: 1 } });
    expect((await fleet.keys("mxray:mx:*")).length).toBeGreaterThan(0);
    expect(await edgeRedis.keys("mxray:mx:*")).toEqual([]);
  });

  it("refuses a fleet database that is the edge's", async () => {
    const same = { UPSTASH_REDIS_REST_URL: "https://edge-db.upstash.io", UPSTASH_REDIS_REST_TOKEN: "edge-token" };
    await expect(stackRedis({ ...same, MXRAY_FLEET_REDIS_REST_URL: "https://edge-db.upstash.io/", MXRAY_FLEET_REDIS_REST_TOKEN: "edge-token" }, () => {})).rejects.toThrow(
      /name the edge's database/,
    );
    const remote = await stackRedis({ ...same, MXRAY_FLEET_REDIS_REST_URL: "https://fleet-db.upstash.io", MXRAY_FLEET_REDIS_REST_TOKEN: "fleet-token" }, () => {});
    expect([remote.edge, remote.fleet]).toEqual([
      { url: "https://edge-db.upstash.io", token: "edge-token", local: false },
      { url: "https://fleet-db.upstash.io", token: "fleet-token", local: false },
    ]);
  });
});
