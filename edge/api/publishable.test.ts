// Publishable keys (issue 25) inside workerd: a key made for a few origins checks addresses from
// them (CORS for that origin alone, preflight included) and is refused everywhere else, from
// other origins or none, past its windows per key, per origin and per client IP, and once
// revoked; its checks are charged to its account like any. Every route of the OpenAPI document,
// the callbacks, the sockets and the web paths refuse it.
import { env } from "cloudflare:test";
import { onTestFinished, describe, expect, it, vi } from "vitest";
import { generateApiKey, hashApiKey, keyPrefix } from "../../core/apikeys.ts";
import { newId } from "../../core/ids.ts";
import { accounts, apiKeys, members } from "../../db/schema.ts";
import { creditBalance } from "../credits/credits.ts";
import { createApiKey, revokeApiKey } from "../identity/keys.ts";
import { call, errorCode, result, seedAccount, testDb as db, testServices as services } from "../testing.ts";
import { clientWindow, PUBLISHABLE_DEFAULT_BUDGET_MS, PUBLISHABLE_MAX_BUDGET_MS, publishableBudget } from "./publishable.ts";

const SHOP = "https://shop.example";

/** A publishable key of a fresh account (owned by a fresh person), allowed on `origins`. */
async function publishableKey(origins: string[] = [SHOP, "https://*.brand.example"], credits = 10) {
  const accountId = newId("acc");
  const owner = `usr_${newId("req").slice(4)}`;
  await db().insert(accounts).values({ id: accountId, name: "widget", kind: "personal", creditBalance: credits });
  await db().insert(members).values({ accountId, userId: owner, email: `${owner}@example.com`, role: "owner" });
  const who = { accountId, actor: owner };
  const made = await createApiKey(services(), who, { name: "sign-up form", kind: "publishable", origins });
  return { accountId, who, key: made.key, keyId: made.view.id };
}

interface Ask {
  origin?: string | null;
  ip?: string;
  body?: unknown;
  method?: "POST" | "OPTIONS";
  bindings?: Env;
}

/** A request as the widget's page makes it: the key in the URL, the page's Origin. */
function fromPage(key: string, ask: Ask = {}): Promise<Response> {
  const { origin = SHOP, ip, body = { email: "not an address" }, method = "POST", bindings } = ask;
  const headers: Record<string, string> = {};
  if (origin !== null) headers.origin = origin;
  if (ip) headers["cf-connecting-ip"] = ip;
  if (method === "OPTIONS") Object.assign(headers, { "access-control-request-method": "POST", "access-control-request-headers": "content-type" });
  else headers["content-type"] = "application/json";
  return call(`/api/v1/verify?key=${key}`, { method, headers, ...(method === "POST" ? { body: JSON.stringify(body) } : {}), ...(bindings ? { env: bindings } : {}) });
}

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((h) => h.startsWith("access-control-"));

describe("a publishable key from a listed origin", () => {
  it("checks an address: Access-Control-Allow-Origin is that origin (never *), Vary: Origin, no credentials", async () => {
    const { key } = await publishableKey();
    for (const origin of [SHOP, "https://eu.brand.example"]) {
      const res = await fromPage(key, { origin });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax" });
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
  });

  it("has its CORS preflight answered for POST with a JSON body, and only from its origins", async () => {
    const { key } = await publishableKey();
    const ok = await fromPage(key, { method: "OPTIONS" });
    expect(ok.status).toBe(204);
    expect(Object.fromEntries(corsHeaders(ok).map((h) => [h, ok.headers.get(h)]))).toEqual({
      "access-control-allow-origin": SHOP,
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "600",
    });
    expect(ok.headers.get("vary")).toMatch(/\bOrigin\b/);
    for (const origin of ["https://evil.example", "https://brand.example", null]) {
      const refused = await fromPage(key, { method: "OPTIONS", origin });
      expect([origin, refused.status, await errorCode(refused), corsHeaders(refused)]).toEqual([origin, 403, "origin_not_allowed", []]);
    }
  });

  it("is charged to its account like any single check (here a cached answer: one credit), without a trace", async () => {
    const { key, accountId } = await publishableKey();
    const address = `cached.${newId("req").slice(4, 14).toLowerCase()}@example.com`;
    await services().cache.set(`verify:${address}`, result(address, "deliverable"), 60);
    const res = await fromPage(key, { body: { email: address } });
    expect([res.status, res.headers.get("x-mxray-cache")]).toEqual([200, "hit"]);
    expect(await res.json()).toMatchObject({ email: address, verdict: "deliverable" });
    expect(await creditBalance(db(), accountId)).toBe(9);
    const traced = await fromPage(key, { body: { email: address, trace: true } });
    expect([traced.status, await errorCode(traced)]).toEqual([400, "validation_failed"]);
    // The refusal still carries the page's CORS permission, so the widget can read it.
    expect(traced.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(await creditBalance(db(), accountId)).toBe(9);
  });

  it("asks the probes within a short budget: the page's, at most the cap", () => {
    expect(publishableBudget(undefined)).toBe(PUBLISHABLE_DEFAULT_BUDGET_MS);
    expect(publishableBudget(800)).toBe(800);
    expect(publishableBudget(120_000)).toBe(PUBLISHABLE_MAX_BUDGET_MS);
  });
});

describe("a publishable key refused", () => {
  it("from an origin not on its list, or with none (curl, a server): 403 origin_not_allowed, no CORS permission, nothing charged", async () => {
    const { key, accountId } = await publishableKey();
    const address = `cached.${newId("req").slice(4, 14).toLowerCase()}@example.com`;
    await services().cache.set(`verify:${address}`, result(address, "deliverable"), 60);
    for (const origin of ["https://evil.example", "http://shop.example", "https://shop.example:8443", "https://brand.example", "https://shop.example.evil.test", "null", null]) {
      const res = await fromPage(key, { origin, body: { email: address } });
      expect([origin, res.status, await errorCode(res), corsHeaders(res)]).toEqual([origin, 403, "origin_not_allowed", []]);
    }
    expect(await creditBalance(db(), accountId)).toBe(10);
  });

  it("once revoked (401 key_revoked, preflight too), and when unknown (401), with no CORS permission", async () => {
    const { key, keyId, who } = await publishableKey();
    expect((await fromPage(key)).status).toBe(200);
    await revokeApiKey(services(), who, keyId);
    for (const method of ["POST", "OPTIONS"] as const) {
      const res = await fromPage(key, { method });
      expect([method, res.status, await errorCode(res), corsHeaders(res)]).toEqual([method, 401, "key_revoked", []]);
    }
    const unknown = await fromPage(`mx_pk_${"A".repeat(32)}`);
    expect([unknown.status, await errorCode(unknown), corsHeaders(unknown)]).toEqual([401, "unauthorized", []]);
  });

  it("in an Authorization header, even on the single check: it belongs in the URL", async () => {
    const { key } = await publishableKey();
    const res = await call("/api/v1/verify", { method: "POST", key, body: JSON.stringify({ email: "ada@example.com" }), headers: { "content-type": "application/json", origin: SHOP } });
    expect([res.status, await errorCode(res), corsHeaders(res)]).toEqual([403, "publishable_key_forbidden", []]);
  });

  it("everywhere else: every operation of the API, the docs, the callbacks, the sockets and the web pages, in the URL or the header", async () => {
    const { key } = await publishableKey();
    const doc = (await (await call("/api/v1/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const targets: [method: string, path: string][] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item).filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))) {
        targets.push([method.toUpperCase(), path.replace(/\{[^}]+\}/g, "x_0123")]);
      }
    }
    expect(targets.length).toBeGreaterThan(60);
    targets.push(
      ["GET", "/api/v1/openapi.json"], ["GET", "/api/v1/docs"], ["POST", "/internal/probes/heartbeat"], ["GET", "/internal/metrics"],
      ["GET", "/ws/jobs/job_x"], ["POST", "/webhooks/stripe"], ["POST", "/webhooks/clerk"], ["GET", "/"], ["GET", "/jobs"], ["POST", "/keys"], ["OPTIONS", "/api/v1/jobs"],
    );
    const answers: string[] = [];
    for (const [method, path] of targets) {
      const inUrl = path === "/api/v1/verify" && method === "POST" ? [] : [`${path}${path.includes("?") ? "&" : "?"}key=${key}`];
      for (const [where, res] of [
        ...inUrl.map((url) => ["url", call(url, { method, headers: { origin: SHOP } })] as const),
        ["header", call(path, { method, key, headers: { origin: SHOP } })] as const,
      ]) {
        const got = await res;
        answers.push(`${method} ${path} (${where}): ${got.status} ${got.status === 403 ? await errorCode(got) : await got.text()}`);
      }
    }
    expect(answers.filter((a) => !a.endsWith(": 403 publishable_key_forbidden"))).toEqual([]);
    // A secret key goes on as before.
    const { key: secret } = await seedAccount();
    expect((await call("/api/v1/account", { key: secret })).status).toBe(200);
  });

  it("by what its row says, whatever its shape; and a secret key in the URL is not a key", async () => {
    const { accountId } = await seedAccount();
    const odd = generateApiKey("live");
    await db().insert(apiKeys).values({ id: newId("key"), accountId, name: "odd", mode: "live", kind: "publishable", origins: JSON.stringify([SHOP]), prefix: keyPrefix(odd), hash: await hashApiKey(odd) });
    const res = await call("/api/v1/account", { key: odd });
    expect([res.status, await errorCode(res)]).toEqual([403, "publishable_key_forbidden"]);
    const { key: secret } = await seedAccount();
    const inUrl = await fromPage(secret);
    expect([inUrl.status, await errorCode(inUrl), corsHeaders(inUrl)]).toEqual([401, "unauthorized", []]);
  });
});

describe("a publishable key's windows", () => {
  /** Each test fills one window; the others are roomy. */
  const tight = (perKey: number, perOrigin: number, perIp: number): Env => ({
    ...env, MXRAY_PK_RATE_PER_KEY: String(perKey), MXRAY_PK_RATE_PER_ORIGIN: String(perOrigin), MXRAY_PK_RATE_PER_IP: String(perIp),
  });
  /** Pinned to the middle of a minute: a window boundary would reweigh the sliding window under the test. */
  function pinClock() {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-03-01T12:00:20.000Z"));
    onTestFinished(() => void vi.useRealTimers());
  }
  let addresses = 0;
  /** A client address of its own, so only the window under test fills up. */
  const freshIp = () => `198.51.100.${(addresses = (addresses % 250) + 1)}`;
  const limited = async (res: Response) => [res.status, res.status === 429 ? ((await res.json()) as { error: { message: string } }).error.message : "", res.headers.get("access-control-allow-origin")];

  it("per client IP (an IPv6 client by its /64): 429 with Retry-After, still readable by the page; another address goes on", async () => {
    pinClock();
    const { key } = await publishableKey();
    const bindings = tight(50, 50, 2);
    const ip = "203.0.113.7";
    for (let i = 0; i < 2; i++) expect((await fromPage(key, { ip, bindings })).status).toBe(200);
    const over = await fromPage(key, { ip, bindings });
    expect(await limited(over)).toEqual([429, expect.stringContaining("from one client address"), SHOP]);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await fromPage(key, { ip: "203.0.113.8", bindings })).status).toBe(200);
    expect((await fromPage(key, { ip: "2001:db8:1:2::1", bindings })).status).toBe(200);
    expect((await fromPage(key, { ip: "2001:db8:1:2:ffff::9", bindings })).status).toBe(200);
    expect(await limited(await fromPage(key, { ip: "2001:db8:1:2:abcd::3", bindings }))).toEqual([429, expect.stringContaining("client address"), SHOP]);
    expect(clientWindow("2001:db8:1:2:abcd::3")).toBe("2001:db8:1:2::/64");
    expect([clientWindow("203.0.113.7"), clientWindow(null)]).toEqual(["203.0.113.7", "127.0.0.1"]);
  });

  it("per origin: one origin's fill leaves the key's others free", async () => {
    pinClock();
    const { key } = await publishableKey([SHOP, "https://blog.example"]);
    const bindings = tight(50, 4, 2);
    for (let i = 0; i < 4; i++) expect((await fromPage(key, { ip: freshIp(), bindings })).status).toBe(200);
    expect(await limited(await fromPage(key, { ip: freshIp(), bindings }))).toEqual([429, expect.stringContaining(`from ${SHOP}`), SHOP]);
    expect((await fromPage(key, { origin: "https://blog.example", ip: freshIp(), bindings })).status).toBe(200);
  });

  it("per key, across its origins and clients; another key of the account goes on", async () => {
    pinClock();
    const origins = [SHOP, "https://blog.example", "https://docs.example"];
    const { key, who } = await publishableKey(origins);
    const bindings = tight(6, 4, 2);
    for (let i = 0; i < 6; i++) expect((await fromPage(key, { origin: origins[i % 2]!, ip: freshIp(), bindings })).status).toBe(200);
    expect(await limited(await fromPage(key, { origin: origins[2]!, ip: freshIp(), bindings }))).toEqual([429, expect.stringMatching(/for this publishable key reached/), origins[2]]);
    const other = await createApiKey(services(), who, { name: "second form", kind: "publishable", origins: [SHOP] });
    expect((await fromPage(other.key, { ip: freshIp(), bindings })).status).toBe(200);
  });
});
