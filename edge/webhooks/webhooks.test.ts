// The webhook machinery inside workerd, on a database of its own (the sweeper acts on every due
// delivery), delivering to a loopback receiver (e2e/standin-receiver.ts). Time is injected: the
// transport here records what it is handed, and the tests run attempts and the sweeper at the
// times they choose.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { isSealed, sealedKeyId } from "../../core/secrets.ts";
import type { BatchItem } from "../../core/ingest.ts";
import type { ReceivedWebhook } from "../../e2e/standin-receiver.ts";
import type { WebhookEventType } from "../../core/enums.ts";
import { accounts, batches, batchItems, dataKeys, jobs, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import type { WebhookQueue } from "../adapters/webhookqueue.ts";
import { result, serviceCode } from "../testing.ts";
import { buildServices, type Services, type Who } from "../context.ts";
import { afterCommit } from "../aftercommit.ts";
import { cancelJob, getJob } from "../jobs/jobs.ts";
import { fail } from "../jobs/lifecycle.ts";
import { applyResultChunk } from "../jobs/results.ts";
import { jobView } from "../jobs/view.ts";
import { deleteDataKey, vaultOf } from "../secrets/secrets.ts";
import { attemptDelivery, FAILING_DISABLE_MS } from "./delivery.ts";
import { createEndpoint, rotateSecret, sendTestEvent, TEST_SENDS_PER_ACCOUNT_HOUR, TEST_SENDS_PER_ENDPOINT_HOUR } from "./endpoints.ts";
import { replayDelivery } from "./log.ts";
import { fanOut, recordVerification } from "./outbox.ts";
import { MAX_ATTEMPTS, RETRY_SCHEDULE_MS } from "./retry.ts";
import { sweepWebhooks } from "./sweep.ts";

let s: Services;
/** A member of the account acting (audit entries name them). */
const who = (accountId: string): Who => ({ accountId, actor: "usr_test" });
let handed: string[];
let pending: Promise<unknown>[];

beforeEach(async () => {
  handed = [];
  pending = [];
  const recording: WebhookQueue = { kind: "direct", enqueue: async (id) => (handed.push(id), true) };
  s = { ...buildServices({ ...env, TURSO_DATABASE_URL: env.WEBHOOKS_TEST_DATABASE_URL! }, { waitUntil: (p) => pending.push(p) }, "http://edge.test"), webhookQueue: recording };
  await s.db.delete(accounts);
  await s.db.delete(webhookEvents);
});

/** Waits for the background work (waitUntil) the calls so far started, and what it started. */
async function settle(): Promise<void> {
  while (pending.length > 0) await Promise.all(pending.splice(0));
}

async function receivedAt(prefix: string): Promise<ReceivedWebhook[]> {
  return (await fetch(`${env.STANDIN_RECEIVER_URL}/_log?prefix=${encodeURIComponent(prefix)}`)).json();
}

async function seedEndpoint(path: string, events: WebhookEventType[] = ["job.completed", "job.failed", "job.canceled"]) {
  const accountId = newId("acc");
  await s.db.insert(accounts).values({ id: accountId, name: "a", kind: "personal", creditBalance: 1_000 });
  const prefix = `/${path}/${newId("req")}`;
  const endpoint = await createEndpoint(s, who(accountId), { url: `${env.STANDIN_RECEIVER_URL}${prefix}`, events, kind: "endpoint" }, Date.now() - 1_000);
  return { accountId, endpoint, prefix };
}

async function seedJob(accountId: string, emails: string[]) {
  const jobId = newId("job");
  const batchId = newId("bat");
  await s.db.insert(jobs).values({ id: jobId, accountId, name: "list", status: "running", total: emails.length, unique: emails.length, creditsReserved: emails.length });
  const items: BatchItem[] = emails.map((e, i) => [e, e, i, null]);
  await s.db.insert(batches).values({ id: batchId, jobId, accountId, status: "dispatched", size: emails.length, probeId: "prb_test", leaseExpiresAt: Date.now() + 60_000 });
  await s.db.insert(batchItems).values({ batchId, items: JSON.stringify(items) });
  return { jobId, batchId };
}

/** A job failing as the sweeper fails it (edge/jobs/lifecycle.ts), its event written with it. */
const failJob = (jobId: string, now = Date.now()) => s.db.$client.batch(fail(jobId, now).statements, "write");

/** An event of the account, fanned out; answers its one delivery's id. */
async function oneDelivery(accountId: string, now: number): Promise<string> {
  const { jobId } = await seedJob(accountId, ["a@x.test"]);
  await failJob(jobId, now);
  handed = [];
  await fanOut(s, now);
  expect(handed).toHaveLength(1);
  return handed[0]!;
}

const attemptsOf = (deliveryId: string) => s.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(webhookAttempts.attempt);
const deliveryRow = async (id: string) => (await s.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)))[0]!;
const endpointRow = async (id: string) => (await s.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0]!;

describe("events and fan-out", () => {
  it("sends exactly one correctly signed job.completed per finished job, whatever repeats", async () => {
    const real = buildServices({ ...env, TURSO_DATABASE_URL: env.WEBHOOKS_TEST_DATABASE_URL! }, { waitUntil: (p) => pending.push(p) }, "http://edge.test");
    const { accountId, endpoint, prefix } = await seedEndpoint("ok", ["job.completed"]);
    const { jobId, batchId } = await seedJob(accountId, ["a@x.test", "b@x.test"]);
    const chunk = { probe_id: "prb_test", batch_id: batchId, job_id: jobId, seq: 0, final: true, results: [result("a@x.test"), result("b@x.test")] };
    const first = await applyResultChunk(real.db, chunk);
    expect(first.finished).toBe(true);
    afterCommit(real, first.effects);
    await settle();
    // The same chunk again, and the sweeper: nothing more is sent.
    afterCommit(real, (await applyResultChunk(real.db, chunk)).effects);
    await settle();
    await sweepWebhooks(real);
    await settle();

    const got = await receivedAt(prefix);
    expect(got).toHaveLength(1);
    const payload = new Webhook(endpoint.secret).verify(got[0]!.body, got[0]!.headers) as { type: string; timestamp: string; data: unknown };
    expect(payload.type).toBe("job.completed");
    expect(payload.data).toEqual(jobView(await getJob(s, { accountId, actor: "usr_test" }, jobId)));
    expect(got[0]!.headers["webhook-id"]).toMatch(/^dlv_/);
    expect(() => new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").verify(got[0]!.body, got[0]!.headers)).toThrow();
  });

  it("writes one event per terminal status change on every path, only for subscribed types", async () => {
    const { accountId } = await seedEndpoint("ok", ["job.canceled", "job.failed"]);
    const canceled = await seedJob(accountId, ["a@x.test"]);
    await cancelJob(s, { accountId, actor: "usr_test" }, canceled.jobId);
    await cancelJob(s, { accountId, actor: "usr_test" }, canceled.jobId); // canceling again is no new event
    const failed = await seedJob(accountId, ["b@x.test"]);
    await failJob(failed.jobId); // e.g. the sweeper's stalled ingest
    await failJob(failed.jobId);
    const completed = await seedJob(accountId, ["c@x.test"]);
    const last = { probe_id: "prb_test", batch_id: completed.batchId, job_id: completed.jobId, seq: 0, final: true, results: [result("c@x.test")] };
    expect((await applyResultChunk(s.db, last)).finished).toBe(true); // not subscribed
    const events = await s.db.select().from(webhookEvents).where(eq(webhookEvents.accountId, accountId));
    expect(events.map((e) => [e.type, e.subjectId]).sort()).toEqual([["job.canceled", canceled.jobId], ["job.failed", failed.jobId]].sort());
    await settle();
    await fanOut(s);
    await fanOut(s);
    // Each delivery handed over once, by whichever fan-out (cancelJob's own, or these) made it.
    const made = await s.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.accountId, accountId));
    expect(made).toHaveLength(2);
    expect(handed.sort()).toEqual(made.map((d) => d.id).sort());
  });

  it("records a verification.completed only for an account subscribed to it", async () => {
    const { accountId } = await seedEndpoint("ok", ["verification.completed"]);
    const other = await seedEndpoint("ok", ["job.completed"]);
    await recordVerification(s, accountId, result("ada@x.test"));
    await recordVerification(s, other.accountId, result("ada@x.test"));
    await settle();
    const events = await s.db.select().from(webhookEvents);
    expect(events.map((e) => e.accountId)).toEqual([accountId]);
    expect(JSON.parse(events[0]!.data!)).toEqual(result("ada@x.test"));
    expect(handed).toHaveLength(1);
  });
});

describe("attempts", () => {
  it("retries on the fixed schedule, then gives up; the sweeper runs what is due and nothing early", async () => {
    const { accountId, endpoint } = await seedEndpoint("status/500");
    const t0 = Date.now();
    const id = await oneDelivery(accountId, t0);
    expect(await attemptDelivery(s, id, t0)).toBe("retry");
    let at = t0;
    for (let i = 0; i < RETRY_SCHEDULE_MS.length; i++) {
      const due = at + RETRY_SCHEDULE_MS[i]!;
      expect((await deliveryRow(id)).nextAttemptAt).toBe(due);
      expect((await sweepWebhooks(s, due - 1)).attempted).toBe(0);
      expect((await sweepWebhooks(s, due)).attempted).toBe(1);
      at = due;
    }
    const row = await deliveryRow(id);
    expect([row.status, row.attempts, row.nextAttemptAt, row.lastStatusCode]).toEqual(["failed", MAX_ATTEMPTS, null, 500]);
    const attempts = await attemptsOf(id);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.responseSnippet])).toEqual(Array.from({ length: MAX_ATTEMPTS }, (_, i) => [i + 1, 500, "answered 500"]));
    expect((await sweepWebhooks(s, at + 365 * 24 * 3_600_000)).attempted).toBe(0);
    // About 31 hours of failures: not yet the 3 days that disable an endpoint.
    expect((await endpointRow(endpoint.id)).enabled).toBe(true);
  });

  it("disables an endpoint failing for 3 days; a success in between resets the count", async () => {
    const { accountId, endpoint } = await seedEndpoint("status/503");
    const t0 = Date.now();
    expect(await attemptDelivery(s, await oneDelivery(accountId, t0), t0)).toBe("retry");
    expect((await endpointRow(endpoint.id)).failingSince).toBe(t0);
    // A success clears it (the receiver changed its answer).
    await s.db.update(webhookEndpoints).set({ url: `${env.STANDIN_RECEIVER_URL}/ok/${newId("req")}` }).where(eq(webhookEndpoints.id, endpoint.id));
    expect(await attemptDelivery(s, await oneDelivery(accountId, t0 + 1), t0 + 1)).toBe("delivered");
    expect((await endpointRow(endpoint.id)).failingSince).toBe(null);
    await s.db.update(webhookEndpoints).set({ url: `${env.STANDIN_RECEIVER_URL}/status/503/x` }).where(eq(webhookEndpoints.id, endpoint.id));
    const t1 = t0 + 10;
    expect(await attemptDelivery(s, await oneDelivery(accountId, t1), t1)).toBe("retry");
    const late = t1 + FAILING_DISABLE_MS - 1;
    expect(await attemptDelivery(s, await oneDelivery(accountId, late), late)).toBe("retry");
    expect((await endpointRow(endpoint.id)).enabled).toBe(true);
    const id = await oneDelivery(accountId, late + 1);
    expect(await attemptDelivery(s, id, late + 1)).toBe("retry");
    const off = await endpointRow(endpoint.id);
    expect([off.enabled, off.disabledReason]).toEqual([false, "failing"]);
    // Its pending deliveries are not sent, and new events make none.
    expect(await attemptDelivery(s, id, late + 1 + RETRY_SCHEDULE_MS[0]!)).toBe("skipped");
    const { jobId } = await seedJob(accountId, ["z@x.test"]);
    await failJob(jobId);
    handed = [];
    await fanOut(s);
    expect(handed).toEqual([]);
  });

  it("disables the endpoint at once on 410 Gone", async () => {
    const { accountId, endpoint } = await seedEndpoint("status/410");
    const id = await oneDelivery(accountId, Date.now());
    expect(await attemptDelivery(s, id)).toBe("gone");
    const row = await endpointRow(endpoint.id);
    expect([row.enabled, row.disabledReason]).toEqual([false, "gone"]);
    expect((await deliveryRow(id)).status).toBe("failed");
  });

  it("says in words why no answer came: a refused connection names the host and port", async () => {
    const { accountId, endpoint } = await seedEndpoint("ok");
    // Port 9 (discard) of loopback: nothing listens there, so the connection is refused.
    await s.db.update(webhookEndpoints).set({ url: "http://127.0.0.1:9/hook" }).where(eq(webhookEndpoints.id, endpoint.id));
    const id = await oneDelivery(accountId, Date.now());
    expect(await attemptDelivery(s, id)).toBe("retry");
    expect((await attemptsOf(id)).map((a) => [a.statusCode, a.responseSnippet])).toEqual([[null, "Connection refused by 127.0.0.1:9"]]);
    expect((await deliveryRow(id)).status).toBe("pending");
  });

  it("counts a redirect as a failure and does not follow it", async () => {
    const { accountId, prefix } = await seedEndpoint("redirect");
    const id = await oneDelivery(accountId, Date.now());
    expect(await attemptDelivery(s, id)).toBe("retry");
    expect((await attemptsOf(id)).map((a) => a.statusCode)).toEqual([302]);
    expect(await receivedAt(prefix)).toHaveLength(1);
    expect(await receivedAt(prefix.replace("/redirect/", "/ok/"))).toHaveLength(0);
  });

  it("attempts a delivery once when two callers race for it, and a replay resends it with the same webhook-id", async () => {
    const { accountId, endpoint, prefix } = await seedEndpoint("ok");
    const id = await oneDelivery(accountId, Date.now());
    const outcomes = await Promise.all([attemptDelivery(s, id), attemptDelivery(s, id)]);
    // The loser finds it being attempted ("busy") or, when a busy database made it wait, already
    // delivered ("final"); either way one attempt was made (the receiver's log below).
    expect([["busy", "delivered"], ["delivered", "final"]]).toContainEqual(outcomes.sort());
    handed = [];
    expect(await replayDelivery(s, who(accountId), { endpointId: endpoint.id, deliveryId: id })).toEqual({ delivery_id: id });
    expect(handed).toEqual([id]);
    expect(await attemptDelivery(s, id)).toBe("delivered");
    const got = await receivedAt(prefix);
    expect(got.map((r) => r.headers["webhook-id"])).toEqual([id, id]);
    for (const r of got) new Webhook(endpoint.secret).verify(r.body, r.headers);
    expect((await attemptsOf(id)).map((a) => [a.attempt, a.statusCode])).toEqual([[1, 200], [2, 200]]);
    expect((await attemptsOf(id))[0]!.responseSnippet).toHaveLength(256);
  });

  it("checks the URL again before each attempt", async () => {
    const { accountId, endpoint } = await seedEndpoint("ok");
    await s.db.update(webhookEndpoints).set({ url: "https://169.254.169.254/latest/meta-data/" }).where(eq(webhookEndpoints.id, endpoint.id));
    const id = await oneDelivery(accountId, Date.now());
    expect(await attemptDelivery(s, id)).toBe("failed");
    expect((await attemptsOf(id))[0]).toMatchObject({ statusCode: null, responseSnippet: expect.stringMatching(/^url_not_allowed \(address_not_public\)/) });
  });
});

describe("signing secrets at rest (issue 21)", () => {
  /** Every text cell of every table, as one string. */
  async function everyCell(): Promise<string> {
    const tables = await s.db.$client.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
    let all = "";
    for (const t of tables.rows) all += JSON.stringify((await s.db.$client.execute(`SELECT * FROM "${String(t.name)}"`)).rows);
    return all;
  }

  /** A delivery of the account's next failed job, attempted now: what the receiver got. */
  async function deliverOne(accountId: string, prefix: string): Promise<ReceivedWebhook> {
    const now = Date.now();
    expect(await attemptDelivery(s, await oneDelivery(accountId, now), now)).toBe("delivered");
    return (await receivedAt(prefix)).at(-1)!;
  }

  it("stores only the sealed secret, under the account's data key; deliveries are signed with the clear one", async () => {
    const { accountId, endpoint, prefix } = await seedEndpoint("ok", ["job.failed"]);
    const stored = (await endpointRow(endpoint.id)).secret;
    const [dataKey] = await s.db.select().from(dataKeys).where(eq(dataKeys.accountId, accountId));
    expect(isSealed(stored)).toBe(true);
    expect(sealedKeyId(stored)).toBe(dataKey!.id);
    const cells = await everyCell();
    expect(cells).not.toContain(endpoint.secret.slice("whsec_".length));
    expect(cells).not.toContain(JSON.stringify(endpoint.secret).slice(1, -1)); // as JSON escapes it
    const got = await deliverOne(accountId, prefix);
    expect(new Webhook(endpoint.secret).verify(got.body, got.headers)).toMatchObject({ type: "job.failed" });
  });

  it("a rotated secret is stored sealed and signs from then on", async () => {
    const { accountId, endpoint, prefix } = await seedEndpoint("ok", ["job.failed"]);
    const { secret } = await rotateSecret(s, who(accountId), endpoint.id);
    const stored = (await endpointRow(endpoint.id)).secret;
    expect(isSealed(stored)).toBe(true);
    expect(await everyCell()).not.toContain(secret.slice("whsec_".length));
    const got = await deliverOne(accountId, prefix);
    expect(new Webhook(secret).verify(got.body, got.headers)).toMatchObject({ type: "job.failed" });
    expect(() => new Webhook(endpoint.secret).verify(got.body, got.headers)).toThrow();
  });

  it("a secret stored in clear before migration 0012 signs as before, and the sweeper seals it in place", async () => {
    const { accountId, endpoint, prefix } = await seedEndpoint("ok", ["job.failed"]);
    const legacy = `whsec_${btoa("twenty-four legacy bytes")}`;
    await s.db.update(webhookEndpoints).set({ secret: legacy }).where(eq(webhookEndpoints.id, endpoint.id));
    const before = await deliverOne(accountId, prefix);
    expect(new Webhook(legacy).verify(before.body, before.headers)).toMatchObject({ type: "job.failed" });

    expect((await sweepWebhooks(s)).sealedSecrets).toBeGreaterThanOrEqual(1);
    const stored = (await endpointRow(endpoint.id)).secret;
    expect(isSealed(stored)).toBe(true);
    expect(await everyCell()).not.toContain(btoa("twenty-four legacy bytes"));
    expect((await sweepWebhooks(s)).sealedSecrets).toBe(0);
    // The customer's receiver keeps verifying with the secret it has.
    const after = await deliverOne(accountId, prefix);
    expect(new Webhook(legacy).verify(after.body, after.headers)).toMatchObject({ type: "job.failed" });
  });

  it("sends nothing when the secret does not open: moved to another endpoint, or its data key deleted", async () => {
    const { accountId, endpoint, prefix } = await seedEndpoint("ok", ["job.failed"]);
    const other = await createEndpoint(s, who(accountId), { url: `${env.STANDIN_RECEIVER_URL}/ok/${newId("req")}`, events: ["verification.completed"], kind: "endpoint" }, Date.now() - 1_000);
    // A ciphertext copied to another row of the same account is bound to its own row.
    await s.db.update(webhookEndpoints).set({ secret: (await endpointRow(endpoint.id)).secret }).where(eq(webhookEndpoints.id, other.id));
    handed = [];
    await recordVerification(s, accountId, result("ada@x.test"));
    await settle();
    expect(handed).toHaveLength(1);
    expect(await attemptDelivery(s, handed[0]!)).toBe("retry");
    expect((await attemptsOf(handed[0]!))[0]).toMatchObject({ statusCode: null, responseSnippet: expect.stringMatching(/^signing secret unreadable \(unreadable\); nothing was sent/) });

    // Crypto-shredding: the account's data key deleted, its secrets open no more.
    expect(await deleteDataKey(await vaultOf(s), accountId)).toBe(true);
    const id = await oneDelivery(accountId, Date.now());
    expect(await attemptDelivery(s, id)).toBe("retry");
    expect((await attemptsOf(id))[0]).toMatchObject({ statusCode: null, responseSnippet: expect.stringMatching(/^signing secret unreadable \(unknown_key\)/) });
    expect(await receivedAt(prefix)).toEqual([]);
  });
});

describe("test sends (issue 21)", () => {
  const HOUR = 3_600_000;
  const hourStart = Math.floor(Date.now() / HOUR) * HOUR + 5 * HOUR; // a fixed clock, later than any real call here

  async function refusal(work: Promise<unknown>): Promise<{ code: string; retryAfterS?: number; message: string } | "ok"> {
    try {
      await work;
      return "ok";
    } catch (e) {
      if (e instanceof ServiceError) return { code: e.code, retryAfterS: e.retryAfterS, message: e.message };
      throw e;
    }
  }

  it("sends at most TEST_SENDS_PER_ENDPOINT_HOUR test events an endpoint a clock hour, then rate_limited until the next", async () => {
    const { accountId, endpoint } = await seedEndpoint("ok");
    const now = hourStart + 30 * 60_000;
    for (let i = 0; i < TEST_SENDS_PER_ENDPOINT_HOUR; i++) await sendTestEvent(s, who(accountId), endpoint.id, now);
    expect(await refusal(sendTestEvent(s, who(accountId), endpoint.id, now))).toEqual({ code: "rate_limited", retryAfterS: 1_800, message: `A webhook may be sent ${TEST_SENDS_PER_ENDPOINT_HOUR} test events an hour; retry in 1800 s` });
    expect(await refusal(sendTestEvent(s, who(accountId), endpoint.id, hourStart + HOUR - 1))).toMatchObject({ code: "rate_limited", retryAfterS: 1 });
    const deliveries = await s.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id));
    expect(deliveries).toHaveLength(TEST_SENDS_PER_ENDPOINT_HOUR);
    expect(await serviceCode(sendTestEvent(s, who(accountId), endpoint.id, hourStart + HOUR))).toBe("ok");
  });

  it("caps an account's test sends across its endpoints, so deleting and making endpoints again gains nothing", async () => {
    const { accountId, endpoint } = await seedEndpoint("ok");
    const now = hourStart + 2 * HOUR;
    const ids = [endpoint.id];
    while (ids.length * TEST_SENDS_PER_ENDPOINT_HOUR < TEST_SENDS_PER_ACCOUNT_HOUR + 1) {
      ids.push((await createEndpoint(s, who(accountId), { url: `${env.STANDIN_RECEIVER_URL}/ok/${newId("req")}`, events: ["job.failed"], kind: "endpoint" }, now - 1)).id);
    }
    let sent = 0;
    for (const id of ids) {
      for (let i = 0; i < TEST_SENDS_PER_ENDPOINT_HOUR && sent < TEST_SENDS_PER_ACCOUNT_HOUR; i++, sent++) await sendTestEvent(s, who(accountId), id, now);
    }
    expect(await refusal(sendTestEvent(s, who(accountId), ids.at(-1)!, now))).toMatchObject({ code: "rate_limited", message: expect.stringContaining(`An account may send ${TEST_SENDS_PER_ACCOUNT_HOUR}`) });
    // Another account is not held by it.
    const other = await seedEndpoint("ok");
    expect(await serviceCode(sendTestEvent(s, who(other.accountId), other.endpoint.id, now))).toBe("ok");
  });
});
