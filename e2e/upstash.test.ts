// The real Upstash adapters' side of the contract: @upstash/redis speaking Upstash's REST format
// (POST a JSON command array with a bearer token, `{ "result": … }` back) to a loopback stand-in
// of that API, and the in-process stand-in keeping the same TTL semantics.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCache, createUpstashCache } from "../edge/adapters/cache.ts";
import { createMemoryRateLimiter, RATE_WINDOW_MS } from "../edge/adapters/ratelimit.ts";

const store = new Map<string, { value: string; ex: number | null }>();
const seen: { auth: string | undefined; command: unknown[] }[] = [];
let url = "";
const server = createServer(async (req: IncomingMessage, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  // POST / takes one command; POST /pipeline an array of them, answered in order.
  const pipeline = req.url === "/pipeline";
  const commands = (pipeline ? JSON.parse(body) : [JSON.parse(body)]) as (string | number)[][];
  const answers = commands.map((command) => {
    seen.push({ auth: req.headers.authorization, command });
    const [name, key, value, opt, ttl] = command;
    if (String(name).toLowerCase() === "set") {
      store.set(String(key), { value: String(value), ex: String(opt).toLowerCase() === "ex" ? Number(ttl) : null });
      return { result: "OK" };
    }
    if (String(name).toLowerCase() === "get") return { result: store.get(String(key))?.value ?? null };
    return { error: `ERR unknown command '${name}'` };
  });
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(pipeline ? answers : answers[0]));
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("the Upstash cache adapter", () => {
  it("sends GET and SET … EX as Upstash's REST API documents them, with the token", async () => {
    const cache = createUpstashCache({ url, token: "upstash-token" });
    expect(await cache.get("verify:ada@example.com")).toBeNull();
    await cache.set("verify:ada@example.com", { verdict: "deliverable", score: 95 }, 3600);
    expect(await cache.get("verify:ada@example.com")).toEqual({ verdict: "deliverable", score: 95 });
    expect(seen.map((s) => s.command)).toEqual([
      ["get", "verify:ada@example.com"],
      ["set", "verify:ada@example.com", JSON.stringify({ verdict: "deliverable", score: 95 }), "ex", 3600],
      ["get", "verify:ada@example.com"],
    ]);
    expect(seen.every((s) => s.auth === "Bearer upstash-token")).toBe(true);
  });
});

describe("the in-process stand-ins", () => {
  it("the cache forgets an entry when its TTL passes", async () => {
    let now = 1_000_000;
    const cache = createMemoryCache(() => now);
    await cache.set("k", { a: 1 }, 10);
    expect(await cache.get("k")).toEqual({ a: 1 });
    now += 10_001;
    expect(await cache.get("k")).toBeNull();
  });

  it("the rate limiter slides its window as Upstash's does", async () => {
    let now = 5 * RATE_WINDOW_MS;
    const limiter = createMemoryRateLimiter({ perMinute: 3, now: () => now });
    const key = `k${Math.random()}`;
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await limiter.limit(key)).success);
    expect(outcomes).toEqual([true, true, true, false]);
    now += RATE_WINDOW_MS * 1.5; // half-way into the next window: the previous one's 3 weigh 0.5 → 1 used
    expect(await limiter.limit(key)).toMatchObject({ success: true, remaining: 1 });
    expect(await limiter.limit(key)).toMatchObject({ success: true, remaining: 0 });
    expect((await limiter.limit(key)).success).toBe(false);
    now += 2 * RATE_WINDOW_MS;
    expect(await limiter.limit(key)).toMatchObject({ success: true, remaining: 2 });
  });
});
