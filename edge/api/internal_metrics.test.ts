// GET /internal/metrics and GET /healthz inside workerd on a real sqld: the bearer token, the
// Prometheus text with the fleet's counts, and the database check.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { jobs, probes } from "../../db/schema.ts";
import { call, errorCode, seedAccount, testDb as db } from "../testing.ts";

const TOKEN = "metrics-token-0123456789abcdef";
const withToken = { ...env, MXRAY_METRICS_TOKEN: TOKEN } as Env;

describe("GET /internal/metrics", () => {
  it("answers only with the configured bearer token", async () => {
    const off = await call("/internal/metrics");
    expect([off.status, await errorCode(off)]).toEqual([503, "not_configured"]);
    const none = await call("/internal/metrics", { env: withToken });
    expect([none.status, await errorCode(none)]).toEqual([401, "unauthorized"]);
    const wrong = await call("/internal/metrics", { env: withToken, headers: { authorization: `Bearer ${TOKEN.replace(/.$/, "x")}` } });
    expect(wrong.status).toBe(401);
  });

  it("serves Prometheus text with jobs by status, results processed, probe health and webhook deliveries", async () => {
    const { accountId } = await seedAccount(10);
    const before = await scrape();
    await db().insert(jobs).values([
      { id: newId("job"), accountId, name: "a", status: "completed", total: 5, unique: 5, processed: 5 },
      { id: newId("job"), accountId, name: "b", status: "running", total: 9, unique: 9, processed: 4 },
    ]);
    const probeId = newId("prb");
    await db().insert(probes).values({ id: probeId, url: "http://probe.invalid", capacity: 3, status: "active", version: "1.2.3", lastHeartbeatAt: Date.now() });
    const after = await scrape();
    expect(after.text).toContain("# TYPE mxray_jobs gauge");
    expect(after.value('mxray_jobs{status="completed"}') - before.value('mxray_jobs{status="completed"}')).toBe(1);
    expect(after.value('mxray_jobs{status="running"}') - before.value('mxray_jobs{status="running"}')).toBe(1);
    expect(after.value("mxray_results_processed") - before.value("mxray_results_processed")).toBe(9);
    expect(after.value(`mxray_probe_up{probe="${probeId}",version="1.2.3"}`)).toBe(1);
    expect(after.value(`mxray_probe_batches_in_flight{probe="${probeId}",of="capacity"}`)).toBe(3);
    expect(after.text).toMatch(/^mxray_webhook_deliveries\{status="delivered"\} \d+$/m);
    expect(after.text).toMatch(/^mxray_stripe_events_held \d+$/m);
  });
});

async function scrape() {
  const res = await call("/internal/metrics", { env: withToken, headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const text = await res.text();
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  return { text, value };
}

describe("GET /healthz", () => {
  it("is 200 while the database answers, and 503 when it does not", async () => {
    const up = await call("/healthz");
    expect([up.status, await up.json()]).toEqual([200, { ok: true, service: "mxray-edge", database: "ok" }]);
    const down = await call("/healthz", { env: { ...env, TURSO_DATABASE_URL: "http://127.0.0.1:9" } as Env });
    expect([down.status, await down.json()]).toEqual([503, { ok: false, service: "mxray-edge", database: "unreachable" }]);
  });
});
