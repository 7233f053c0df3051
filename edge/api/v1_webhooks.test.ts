// /api/v1/webhooks, /api/v1/hooks and QStash's /internal/webhooks/* inside workerd, delivering to
// a loopback receiver (e2e/standin-receiver.ts). Calls pass `env` so each answer comes back once
// its background work (the first delivery attempt) is done.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { signQstash, QSTASH_SIGNATURE_HEADER } from "../../core/qstash.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import type { ReceivedWebhook } from "../../e2e/standin-receiver.ts";
import { webhookDeliveries, webhookEndpoints } from "../../db/schema.ts";
import { deliveryCallbackToken } from "../adapters/webhookqueue.ts";
import { buildServices } from "../context.ts";
import { TEST_SENDS_PER_ENDPOINT_HOUR, testSendCounters } from "../webhooks/endpoints.ts";
import { call, errorCode, result, seedAccount, seedJobWithBatch, testDb } from "../testing.ts";

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "content-type": "application/json" } });
const api = (key: string, path: string, init: RequestInit = {}) => call(path, { ...init, key, env });

async function receivedAt(prefix: string): Promise<ReceivedWebhook[]> {
  return (await fetch(`${env.STANDIN_RECEIVER_URL}/_log?prefix=${encodeURIComponent(prefix)}`)).json();
}

const receiverPath = (mode = "ok") => `/${mode}/${newId("req")}`;

async function create(key: string, body: Record<string, unknown>) {
  return api(key, "/api/v1/webhooks", { method: "POST", ...json(body) });
}

/** Completes a seeded job through the probes' results route, as a probe would. */
async function completeJob(accountId: string): Promise<string> {
  const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test"]);
  const body = JSON.stringify({ probe_id: "prb_1", batch_id: batchId, job_id: jobId, seq: 0, final: true, results: [result("a@x.test")] });
  const path = "/internal/probes/results";
  const res = await call(path, { method: "POST", body, env, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path }, body) } });
  expect(res.status).toBe(200);
  return jobId;
}

describe("/api/v1/webhooks", () => {
  it("creates, reads, lists, updates, rotates and deletes an endpoint; the secret shows only on create and rotate", async () => {
    const { key } = await seedAccount();
    const url = `${env.STANDIN_RECEIVER_URL}${receiverPath()}`;
    const made = await create(key, { url, events: ["job.completed", "job.failed"], description: "CRM" });
    expect(made.status).toBe(201);
    const endpoint = (await made.json()) as { id: string; secret: string };
    expect(endpoint).toMatchObject({ id: expect.stringMatching(/^whk_/), url, events: ["job.completed", "job.failed"], description: "CRM", enabled: true, kind: "endpoint" });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

    const got = (await (await api(key, `/api/v1/webhooks/${endpoint.id}`)).json()) as Record<string, unknown>;
    expect(got).toMatchObject({ id: endpoint.id, disabled_reason: null });
    expect(got).not.toHaveProperty("secret");
    const list = (await (await api(key, "/api/v1/webhooks?limit=1")).json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(list.data.map((w) => w.id)).toEqual([endpoint.id]);
    expect(list.data[0]).not.toHaveProperty("secret");

    // Re-enabling clears why it was disabled.
    await testDb().update(webhookEndpoints).set({ enabled: false, disabledReason: "failing", failingSince: 1 }).where(eq(webhookEndpoints.id, endpoint.id));
    const patched = await api(key, `/api/v1/webhooks/${endpoint.id}`, { method: "PATCH", ...json({ enabled: true, events: ["verification.completed"] }) });
    expect(await patched.json()).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null, events: ["verification.completed"], description: "CRM" });
    const urlChange = await api(key, `/api/v1/webhooks/${endpoint.id}`, { method: "PATCH", ...json({ url: "https://elsewhere.example.com/" }) });
    expect([urlChange.status, await errorCode(urlChange)]).toEqual([400, "validation_failed"]);

    const rotated = (await (await api(key, `/api/v1/webhooks/${endpoint.id}/rotate-secret`, { method: "POST" })).json()) as { secret: string };
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(endpoint.secret);

    expect((await api(key, `/api/v1/webhooks/${endpoint.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await api(key, `/api/v1/webhooks/${endpoint.id}`);
    expect([gone.status, await errorCode(gone)]).toEqual([404, "not_found"]);
  });

  it("refuses URLs deliveries may not go to, each with url_not_allowed and the rule, and bad bodies", async () => {
    const { key } = await seedAccount();
    const cases: [string, string][] = [
      ["http://hooks.example.com/", "scheme"],
      ["https://user:pw@hooks.example.com/", "credentials"],
      ["https://10.1.2.3/", "address_not_public"],
      ["http://10.1.2.3/", "scheme"],
      ["https://2130706433/", "ok in local mode"], // loopback: allowed here (MXRAY_MODE=local)
      ["https://169.254.169.254/", "address_not_public"],
      ["https://[::ffff:10.0.0.1]/", "address_not_public"],
      ["https://metadata.google.internal/", "internal_host"],
      ["https://hooks.example.com:6379/", "port"],
      ["https://instance-data/", "not_registrable"],
      ["https://co.uk/", "not_registrable"],
    ];
    for (const [url, rule] of cases) {
      const res = await create(key, { url, events: ["job.completed"] });
      if (rule.startsWith("ok")) {
        expect(res.status, url).toBe(201);
        continue;
      }
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect([res.status, body.error.code, body.error.message.startsWith(`url (${rule}): `)], url).toEqual([400, "url_not_allowed", true]);
    }
    const message = ((await (await create(key, { url: "https://192.168.0.1/", events: ["job.completed"] })).json()) as { error: { message: string } }).error.message;
    expect(message).toContain("address_not_public");
    const badEvent = await create(key, { url: "https://hooks.example.com/", events: ["job.started"] });
    expect([badEvent.status, await errorCode(badEvent)]).toEqual([400, "validation_failed"]);
    const noEvents = await create(key, { url: "https://hooks.example.com/", events: [] });
    expect([noEvents.status, await errorCode(noEvents)]).toEqual([400, "validation_failed"]);
  });

  it("keeps each account's endpoints and deliveries its own: another account's ids are 404", async () => {
    const owner = await seedAccount();
    const other = await seedAccount();
    const endpoint = (await (await create(owner.key, { url: `${env.STANDIN_RECEIVER_URL}${receiverPath()}`, events: ["job.completed"] })).json()) as { id: string };
    const { delivery_id } = (await (await api(owner.key, `/api/v1/webhooks/${endpoint.id}/test`, { method: "POST" })).json()) as { delivery_id: string };
    const attempts: [string, string, RequestInit?][] = [
      ["GET", `/api/v1/webhooks/${endpoint.id}`],
      ["PATCH", `/api/v1/webhooks/${endpoint.id}`, json({ enabled: false })],
      ["POST", `/api/v1/webhooks/${endpoint.id}/rotate-secret`],
      ["POST", `/api/v1/webhooks/${endpoint.id}/test`],
      ["GET", `/api/v1/webhooks/${endpoint.id}/deliveries`],
      ["POST", `/api/v1/webhooks/${endpoint.id}/deliveries/${delivery_id}/replay`],
      ["DELETE", `/api/v1/hooks/${endpoint.id}`],
      ["DELETE", `/api/v1/webhooks/${endpoint.id}`],
    ];
    for (const [method, path, init] of attempts) {
      const res = await api(other.key, path, { method, ...init });
      expect([res.status, await errorCode(res)], `${method} ${path}`).toEqual([404, "not_found"]);
    }
    expect(((await (await api(other.key, "/api/v1/webhooks")).json()) as { data: unknown[] }).data).toEqual([]);
    // The owner's endpoint is untouched.
    expect(await (await api(owner.key, `/api/v1/webhooks/${endpoint.id}`)).json()).toMatchObject({ enabled: true });
  });

  it("sends a signed test event, logs the attempt, and replays it with the same webhook-id", async () => {
    const { key } = await seedAccount();
    const path = receiverPath();
    const endpoint = (await (await create(key, { url: `${env.STANDIN_RECEIVER_URL}${path}`, events: ["job.completed"] })).json()) as { id: string; secret: string };
    const test = await api(key, `/api/v1/webhooks/${endpoint.id}/test`, { method: "POST" });
    expect(test.status).toBe(202);
    const { delivery_id } = (await test.json()) as { delivery_id: string };
    const got = await receivedAt(path);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers["webhook-id"]).toBe(delivery_id);
    expect(new Webhook(endpoint.secret).verify(got[0]!.body, got[0]!.headers)).toMatchObject({ type: "webhook.test", data: { webhook_id: endpoint.id } });

    const log = (await (await api(key, `/api/v1/webhooks/${endpoint.id}/deliveries`)).json()) as { data: { id: string; status: string; event_type: string; attempts: { status_code: number; response_snippet: string }[] }[] };
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({ id: delivery_id, status: "delivered", event_type: "webhook.test", attempts: [{ attempt: 1, status_code: 200 }] });
    expect(log.data[0]!.attempts[0]!.response_snippet).toHaveLength(256);

    const replay = await api(key, `/api/v1/webhooks/${endpoint.id}/deliveries/${delivery_id}/replay`, { method: "POST" });
    expect([replay.status, await replay.json()]).toEqual([202, { delivery_id }]);
    expect((await receivedAt(path)).map((r) => r.headers["webhook-id"])).toEqual([delivery_id, delivery_id]);
    const missing = await api(key, `/api/v1/webhooks/${endpoint.id}/deliveries/dlv_nope/replay`, { method: "POST" });
    expect([missing.status, await errorCode(missing)]).toEqual([404, "not_found"]);
  });

  it("answers 429 rate_limited with Retry-After once the endpoint's test events for the hour are used", async () => {
    const { key, accountId } = await seedAccount();
    const endpoint = (await (await create(key, { url: `${env.STANDIN_RECEIVER_URL}${receiverPath()}`, events: ["job.completed"] })).json()) as { id: string };
    // This hour's and the next hour's counts used up, so a clock hour turning during the test changes nothing.
    const s = buildServices(env, { waitUntil: () => {} }, "http://edge.test");
    const hour = Math.floor(Date.now() / 3_600_000);
    for (const h of [hour, hour + 1]) await s.cache.increment(testSendCounters(accountId, endpoint.id, h).endpoint, 7_200, TEST_SENDS_PER_ENDPOINT_HOUR);
    const res = await api(key, `/api/v1/webhooks/${endpoint.id}/test`, { method: "POST" });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limited", message: expect.stringContaining(`${TEST_SENDS_PER_ENDPOINT_HOUR} test events an hour`) } });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(3_600);
    const log = (await (await api(key, `/api/v1/webhooks/${endpoint.id}/deliveries`)).json()) as { data: unknown[] };
    expect(log.data).toEqual([]);
  });

  it("delivers one job.completed when a job finishes through the probes' results route", async () => {
    const { key, accountId } = await seedAccount();
    const path = receiverPath();
    const endpoint = (await (await create(key, { url: `${env.STANDIN_RECEIVER_URL}${path}`, events: ["job.completed"] })).json()) as { secret: string };
    const jobId = await completeJob(accountId);
    const got = await receivedAt(path);
    expect(got).toHaveLength(1);
    const job = await (await api(key, `/api/v1/jobs/${jobId}`)).json();
    expect(new Webhook(endpoint.secret).verify(got[0]!.body, got[0]!.headers)).toMatchObject({ type: "job.completed", data: job });
  });
});

describe("/api/v1/hooks (Zapier REST hooks)", () => {
  it("subscribes a hook that receives its event, then stops after DELETE", async () => {
    const { key, accountId } = await seedAccount();
    const path = receiverPath();
    const sub = await api(key, "/api/v1/hooks", { method: "POST", ...json({ target_url: `${env.STANDIN_RECEIVER_URL}${path}`, event: "job.completed" }) });
    expect(sub.status).toBe(201);
    const { id } = (await sub.json()) as { id: string };
    expect(Object.keys(await (await api(key, `/api/v1/webhooks/${id}`)).json())).toContain("kind");
    expect(await (await api(key, `/api/v1/webhooks/${id}`)).json()).toMatchObject({ kind: "zapier", events: ["job.completed"] });

    await completeJob(accountId);
    const got = await receivedAt(path);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ type: "job.completed" });

    expect((await api(key, `/api/v1/hooks/${id}`, { method: "DELETE" })).status).toBe(204);
    await completeJob(accountId);
    expect(await receivedAt(path)).toHaveLength(1);
    const again = await api(key, `/api/v1/hooks/${id}`, { method: "DELETE" });
    expect([again.status, await errorCode(again)]).toEqual([404, "not_found"]);
  });

  it("refuses bad target URLs and unknown events, and never deletes a plain endpoint", async () => {
    const { key } = await seedAccount();
    const bad = await api(key, "/api/v1/hooks", { method: "POST", ...json({ target_url: "https://172.16.0.1/hook", event: "job.completed" }) });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "url_not_allowed"]);
    const unknown = await api(key, "/api/v1/hooks", { method: "POST", ...json({ target_url: "https://hooks.zapier.com/x", event: "job.exploded" }) });
    expect([unknown.status, await errorCode(unknown)]).toEqual([400, "validation_failed"]);
    const endpoint = (await (await create(key, { url: "https://hooks.example.com/", events: ["job.completed"] })).json()) as { id: string };
    const res = await api(key, `/api/v1/hooks/${endpoint.id}`, { method: "DELETE" });
    expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
  });

  it("answers samples: one realistic object at first, then the account's recent real ones", async () => {
    const { key, accountId } = await seedAccount();
    const first = (await (await api(key, "/api/v1/hooks/samples?event=job.completed")).json()) as { id: string; status: string }[];
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ status: "completed", counts: expect.any(Object) });
    const jobId = await completeJob(accountId);
    const real = (await (await api(key, "/api/v1/hooks/samples?event=job.completed")).json()) as { id: string }[];
    expect(real.map((j) => j.id)).toEqual([jobId]);
    expect(await (await api(key, "/api/v1/hooks/samples?event=verification.completed")).json()).toMatchObject([{ email: expect.any(String), verdict: expect.any(String) }]);
    expect(await (await api(key, "/api/v1/hooks/samples?event=dm.enriched")).json()).toMatchObject([{ domain: expect.any(String), provider: "pdl", people: expect.any(Array) }]);
    expect(await (await api(key, "/api/v1/hooks/samples?event=campaign.completed")).json()).toMatchObject([{ id: expect.stringMatching(/^cmp_/), status: "completed", counts: { audience: expect.any(Number), unsubscribed: expect.any(Number) } }]);
    expect(await (await api(key, "/api/v1/hooks/samples?event=recipient.unsubscribed")).json()).toMatchObject([{ email: expect.any(String), campaign_id: expect.stringMatching(/^cmp_/), recipient_id: expect.any(Number), unsubscribed_at: expect.any(String) }]);
    const bad = await api(key, "/api/v1/hooks/samples?event=nope");
    expect([bad.status, await errorCode(bad)]).toEqual([400, "validation_failed"]);
  });
});

describe("QStash's calls to /internal/webhooks/*", () => {
  const QSTASH = { QSTASH_CURRENT_SIGNING_KEY: "sig_current_test_key", QSTASH_NEXT_SIGNING_KEY: "sig_next_test_key" };
  const bindings = { ...env, ...QSTASH };
  const signed = async (path: string, body: string, key = QSTASH.QSTASH_CURRENT_SIGNING_KEY) =>
    call(path, { method: "POST", body, env: bindings, headers: { [QSTASH_SIGNATURE_HEADER]: await signQstash({ signingKey: key, url: `http://edge.test${path}`, body }) } });

  it("runs an attempt for a validly signed message, answers 5xx while it must be retried, and refuses a forged one", async () => {
    const { key } = await seedAccount();
    const path = receiverPath("status/500");
    const endpoint = (await (await create(key, { url: `${env.STANDIN_RECEIVER_URL}${path}`, events: ["job.completed"] })).json()) as { id: string };
    const { delivery_id } = (await (await api(key, `/api/v1/webhooks/${endpoint.id}/test`, { method: "POST" })).json()) as { delivery_id: string };
    expect(await receivedAt(path)).toHaveLength(1);
    // Under QStash the message owns the timing (edge/webhooks/delivery.ts handOver).
    await testDb().update(webhookDeliveries).set({ nextAttemptAt: null }).where(eq(webhookDeliveries.id, delivery_id));
    const body = JSON.stringify({ delivery_id, token: await deliveryCallbackToken(env.SESSION_SECRET, delivery_id) });

    // QStash's keys are every probe's too: a validly signed message without the Worker's token
    // for this very delivery (none, or another delivery's) runs nothing.
    for (const probeMade of [JSON.stringify({ delivery_id }), JSON.stringify({ delivery_id, token: await deliveryCallbackToken(env.SESSION_SECRET, "dlv_other") })]) {
      const res = await signed("/internal/webhooks/deliver", probeMade);
      expect([res.status, await errorCode(res)]).toEqual([401, "bad_signature"]);
      const gaveUp = await signed("/internal/webhooks/failed", JSON.stringify({ status: 500, sourceBody: btoa(probeMade) }));
      expect([gaveUp.status, await errorCode(gaveUp)]).toEqual([401, "bad_signature"]);
    }
    expect(await receivedAt(path)).toHaveLength(1);

    const forged = await signed("/internal/webhooks/deliver", body, "not-the-signing-key");
    expect([forged.status, await errorCode(forged)]).toEqual([401, "bad_signature"]);
    const unsigned = await call("/internal/webhooks/deliver", { method: "POST", body, env: bindings });
    expect([unsigned.status, await errorCode(unsigned)]).toEqual([401, "bad_signature"]);
    const otherRoute = await call("/internal/webhooks/deliver", {
      method: "POST", body, env: bindings,
      headers: { [QSTASH_SIGNATURE_HEADER]: await signQstash({ signingKey: QSTASH.QSTASH_CURRENT_SIGNING_KEY, url: "http://edge.test/internal/webhooks/failed", body }) },
    });
    expect(otherRoute.status).toBe(401);
    expect(await receivedAt(path)).toHaveLength(1);

    const ok = await signed("/internal/webhooks/deliver", body, QSTASH.QSTASH_NEXT_SIGNING_KEY);
    expect([ok.status, await ok.json()]).toEqual([503, { outcome: "retry" }]);
    expect(await receivedAt(path)).toHaveLength(2);

    // QStash gave up: its failure callback settles the delivery.
    const failed = await signed("/internal/webhooks/failed", JSON.stringify({ status: 500, sourceBody: btoa(body) }));
    expect(failed.status).toBe(200);
    const [row] = await testDb().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery_id));
    expect([row!.status, row!.attempts]).toEqual(["failed", 2]);
    const after = await signed("/internal/webhooks/deliver", body);
    expect([after.status, await after.json()]).toEqual([200, { outcome: "final" }]);
  });

  it("answers 503 not_configured without signing keys", async () => {
    const res = await call("/internal/webhooks/deliver", { method: "POST", body: "{}", env });
    expect([res.status, await errorCode(res)]).toEqual([503, "not_configured"]);
  });
});
