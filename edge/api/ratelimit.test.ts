// Rate limits inside workerd, on the real redis-server behind the Upstash bridge: beside each key's
// window (v1_jobs.test.ts), one an account's keys share, so more keys buy no more throughput; and
// a decision-makers request counts one per person asked for, refused before the provider is asked.
import { env } from "cloudflare:test";
import { onTestFinished, describe, expect, it, vi } from "vitest";
import { generateApiKey, hashApiKey, keyPrefix } from "../../core/apikeys.ts";
import { newId } from "../../core/ids.ts";
import { apiKeys } from "../../db/schema.ts";
import type { StandInCall } from "../../e2e/standin-peopledata.ts";
import { call, errorCode, seedAccount, testDb as db } from "../testing.ts";

const ACCOUNT_LIMIT = 6;
/** The per-key limit stays the tests' 40 (vitest.workers.config.ts); the account's is tighter here. */
/** No probe runs here: a request that asks one answers at once instead of waiting for one to report in. */
const tight: Env = { ...env, MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN: String(ACCOUNT_LIMIT), PDL_API_KEY: env.STANDIN_PEOPLEDATA_KEY!, PDL_API_URL: env.STANDIN_PDL_URL!, MXRAY_PROBE_WAIT_MS: "0" };

/** Pinned to the middle of a minute: a window boundary would reweigh the sliding window under the test. */
function pinClock() {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-03-01T12:00:20.000Z"));
  onTestFinished(() => void vi.useRealTimers());
}

async function secondKey(accountId: string): Promise<string> {
  const key = generateApiKey("test");
  await db().insert(apiKeys).values({ id: newId("key"), accountId, name: "second", mode: "test", prefix: keyPrefix(key), hash: await hashApiKey(key) });
  return key;
}

const get = (key: string) => call("/api/v1/account", { key, env: tight });

describe("the account's shared window", () => {
  it("limits all of an account's keys together, with the same headers, 429 and Retry-After, on /verify and /find too", async () => {
    pinClock();
    const { accountId, key } = await seedAccount();
    const other = await secondKey(accountId);
    let last: Response | null = null;
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      last = await get(i % 2 === 0 ? key : other);
      expect(last.status).toBe(200);
    }
    // The account's window is the nearer to its end: the headers describe it.
    expect([last!.headers.get("ratelimit-limit"), last!.headers.get("ratelimit-remaining"), last!.headers.get("ratelimit-reset")]).toEqual([String(ACCOUNT_LIMIT), "0", "40"]);
    const limited = await get(key);
    expect([limited.status, await errorCode(limited)]).toEqual([429, "rate_limited"]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("ratelimit-limit")).toBe(String(ACCOUNT_LIMIT));
    // A third key made now gets nothing more; the costly calls are refused before any work.
    const third = await secondKey(accountId);
    for (const [path, body] of [["/api/v1/account", undefined], ["/api/v1/verify", { email: "ada@example.com" }], ["/api/v1/find", { full_name: "Ada Lovelace", domain: "example.com" }]] as const) {
      const res = await call(path, { key: third, env: tight, ...(body ? { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
      expect([path, res.status, await errorCode(res)]).toEqual([path, 429, "rate_limited"]);
    }
    // Another account has a window of its own.
    expect((await get((await seedAccount()).key)).status).toBe(200);
  });
});

describe("a decision-makers request", () => {
  const providerCalls = async (titles: string[]) =>
    ((await (await fetch(`${env.STANDIN_PDL_URL}/_calls`)).json()) as StandInCall[]).filter((c) => c.domain === "acme.test" && c.titles.includes(titles[1]!)).length;
  const ask = (key: string, limit: number, titles: string[]) =>
    call("/api/v1/decision-makers", { method: "POST", key, env: tight, body: JSON.stringify({ domain: "acme.test", titles, limit }), headers: { "content-type": "application/json" } });

  it("counts one per person asked for, and is refused before the provider is asked when they do not fit", async () => {
    pinClock();
    const { key } = await seedAccount(100);
    const titles = ["ceo", `t${newId("req").slice(4)}`];
    const over = await ask(key, ACCOUNT_LIMIT + 1, titles);
    expect([over.status, await errorCode(over)]).toEqual([429, "rate_limited"]);
    expect(await providerCalls(titles)).toBe(0);
    // Nothing of the refused units was spent: the request's own one was (1 of 6), and a request
    // for 3 people takes 3 more.
    const fits = await ask(key, 3, titles);
    expect(fits.status).toBe(200);
    expect(await providerCalls(titles)).toBe(1);
    expect(fits.headers.get("ratelimit-remaining")).toBe("2");
    expect((await get(key)).status).toBe(200);
    expect((await get(key)).status).toBe(200);
    expect((await get(key)).status).toBe(429);
  });
});
