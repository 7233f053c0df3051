// The operations console's services inside workerd, on a database of their own (they read and
// change every probe): taking a probe out of dispatch, stuck jobs, and credit
// adjustments applied once per form with the ledger, balance and audit log moving together.
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import type { Heartbeat } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { accounts, apiKeys, auditLog, batches, batchItems, creditLedger, jobs, members, probeMinutes, probes, stripeEvents } from "../../db/schema.ts";
import { deduplicationId, type BatchDispatchRequest } from "../adapters/dispatch.ts";
import { ServiceError } from "../errors.ts";
import { call, errorCode, result, seedAccount } from "../testing.ts";
import {
  adjustCredits, fleet, heldStripeEvents, jobsInFlight, retriedBatches, retryStripeEvent, searchAccounts, setAccountDisabled, setProbeState, STUCK_MS,
} from "./admin.ts";
import { buildServices, type Services } from "../context.ts";
import { ledgerDrift } from "../credits/ledger.ts";
import { dispatchPending, liveProbes } from "../dispatch/dispatch.ts";
import { sweep } from "../dispatch/sweep.ts";
import { recordHeartbeat } from "../dispatch/probes.ts";
import { applyStripeEvent } from "../billing/payments.ts";
import { applyResultChunk } from "../jobs/results.ts";

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
const operator = { id: "usr_operator", email: "operator@mxray.test" };
/** The operator as the console's services take them: signed in to an account of their own. */
const ops = { accountId: "acc_operator", actor: operator.id, email: operator.email };
const request = { ip: "127.0.0.1", userAgent: "test", requestId: "req_admin" };
const adminEnv = { ...env, TURSO_DATABASE_URL: env.ADMIN_TEST_DATABASE_URL! };
let s: Services;
let sent: BatchDispatchRequest[];

beforeEach(async () => {
  sent = [];
  s = {
    ...buildServices(adminEnv, { waitUntil: () => {} }, "http://edge.test", request),
    dispatcher: { kind: "direct", dispatch: async (req) => ("batch" in req && sent.push(req), { ok: true, messageId: deduplicationId(req) }) },
  };
  for (const table of [batches, jobs, members, creditLedger, apiKeys, accounts, probes, probeMinutes, stripeEvents]) await s.db.delete(table);
});

async function account(name: string, email: string) {
  const id = newId("acc");
  await s.db.insert(accounts).values({ id, name, kind: "personal", creditBalance: 0 });
  await s.db.insert(members).values({ accountId: id, userId: `usr_${email}`, email, role: "owner" });
  return id;
}

describe("the fleet", () => {
  const heartbeat = (now: number) => recordHeartbeat(s, { probe_id: "prb_one", url: "http://prb-one.test", version: "1.2.3", in_flight: 0, capacity: 4, draining: false, sent_at: new Date(now).toISOString() }, now);

  it("a disabled probe leaves dispatch and stays out through its heartbeats until it is enabled", async () => {
    const now = Date.now();
    await heartbeat(now);
    expect((await liveProbes(s, now)).map((p) => p.id)).toEqual(["prb_one"]);

    await setProbeState(s, ops, { probeId: "prb_one", state: "disabled" });
    expect(await liveProbes(s, now)).toEqual([]);
    await heartbeat(now + 1);
    expect(await liveProbes(s, now + 1)).toEqual([]);
    expect((await fleet(s, now + 1))[0]).toMatchObject({ id: "prb_one", status: "disabled", version: "1.2.3", capacity: 4, heartbeatAgeMs: 0 });

    await setProbeState(s, ops, { probeId: "prb_one", state: "active" });
    expect((await liveProbes(s, now + 1)).map((p) => p.id)).toEqual(["prb_one"]);
    await expect(setProbeState(s, ops, { probeId: "prb_one", state: "active" })).rejects.toMatchObject({ code: "conflict" });
    await expect(setProbeState(s, ops, { probeId: "prb_nobody", state: "disabled" })).rejects.toMatchObject({ code: "not_found" });
  });

  it("shows a probe whose heartbeats stopped as silent, by the services' clock, though its status still says active", async () => {
    let t = T0;
    s = { ...s, clock: { now: () => t, sleep: async (ms) => void (t += ms) } };
    await heartbeat(T0);
    const bound = s.config.MXRAY_PROBE_SILENT_MS;
    t = T0 + bound;
    expect((await fleet(s))[0]).toMatchObject({ status: "active", silent: false, heartbeatAgeMs: bound });
    t = T0 + bound + 1;
    expect((await fleet(s))[0]).toMatchObject({ status: "active", silent: true, heartbeatAgeMs: bound + 1 });
    // A heartbeat again: heard from, not silent.
    await heartbeat(t);
    expect((await fleet(s))[0]).toMatchObject({ silent: false, heartbeatAgeMs: 0 });
    // Once the sweeper has marked it dead, the status says so itself.
    await s.db.update(probes).set({ status: "dead" });
    t += 10 * bound;
    expect((await fleet(s))[0]).toMatchObject({ status: "dead", silent: false });
  });

  it("counts each probe's dispatched batches", async () => {
    await heartbeat(T0);
    const accountId = await account("Acme", "a@acme.test");
    const jobId = newId("job");
    await s.db.insert(jobs).values({ id: jobId, accountId, name: "list", status: "running" });
    for (const status of ["dispatched", "dispatched", "done"] as const) {
      await s.db.insert(batches).values({ id: newId("bat"), jobId, accountId, status, size: 1, probeId: "prb_one" });
    }
    expect((await fleet(s, T0 + 5_000))[0]).toMatchObject({ batchesInFlight: 2, heartbeatAgeMs: 5_000 });
  });
});

describe("jobs in flight", () => {
  it("flags a job none of whose batches moved for ten minutes", async () => {
    const accountId = await account("Acme", "a@acme.test");
    const moving = newId("job");
    const stuck = newId("job");
    await s.db.insert(jobs).values([
      { id: moving, accountId, name: "moving", status: "running", unique: 10, processed: 4, createdAt: T0 - 3 * STUCK_MS },
      { id: stuck, accountId, name: "stuck", status: "queued", unique: 10, createdAt: T0 - 2 * STUCK_MS },
      { id: newId("job"), accountId, name: "done", status: "completed", createdAt: T0 - 2 * STUCK_MS },
    ]);
    await s.db.insert(batches).values([
      { id: newId("bat"), jobId: moving, accountId, status: "dispatched", size: 5, updatedAt: T0 - 60_000 },
      { id: newId("bat"), jobId: stuck, accountId, status: "pending", size: 5, updatedAt: T0 - STUCK_MS },
    ]);
    const rows = await jobsInFlight(s, T0);
    expect(rows.map((j) => [j.name, j.account, j.stuck, j.idleMs])).toEqual([
      ["moving", "Acme", false, 60_000],
      ["stuck", "Acme", true, STUCK_MS],
    ]);
  });
});

describe("accounts", () => {
  it("are found by id, name or a member's email, wildcards taken literally", async () => {
    const acme = await account("Acme 100%", "owner@acme.test");
    const other = await account("Globex", "boss@globex.test");
    expect((await searchAccounts(s, "acme.test")).map((a) => a.id)).toEqual([acme]);
    expect((await searchAccounts(s, other)).map((a) => a.id)).toEqual([other]);
    expect((await searchAccounts(s, "100%")).map((a) => a.id)).toEqual([acme]);
    expect(await searchAccounts(s, "_")).toEqual([]);
    expect((await searchAccounts(s, "")).length).toBe(2);
  });

  it("an adjustment applies once per form, moves ledger and balance together, and is audited in the account", async () => {
    const accountId = await account("Acme", "owner@acme.test");
    const nonce = "nonce-0123456789";
    const first = await adjustCredits(s, ops, { accountId, delta: 500, reason: "goodwill", nonce }, T0);
    const again = await adjustCredits(s, ops, { accountId, delta: 500, reason: "goodwill", nonce }, T0);
    expect(first).toEqual({ applied: true, balance: 500 });
    expect(again).toEqual({ applied: false, balance: 500 });
    const back = await adjustCredits(s, ops, { accountId, delta: -200, reason: "mistake", nonce: "nonce-second-one" }, T0);
    expect(back).toEqual({ applied: true, balance: 300 });

    expect(await ledgerDrift(s.db, [accountId])).toEqual([]);
    const ledger = await s.db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId));
    expect(ledger.map((e) => [e.delta, e.kind, e.reason, e.actor])).toEqual([
      [500, "grant", "admin_adjustment", operator.id],
      [-200, "reversal", "admin_adjustment", operator.id],
    ]);
    const audit = await s.db.select().from(auditLog).where(eq(auditLog.accountId, accountId));
    expect(audit.map((e) => [e.action, e.actor, e.target, JSON.parse(e.detail!), e.requestId])).toEqual([
      ["admin.credits_adjusted", operator.id, accountId, { delta: 500, reason: "goodwill", operator: operator.email }, "req_admin"],
      ["admin.credits_adjusted", operator.id, accountId, { delta: -200, reason: "mistake", operator: operator.email }, "req_admin"],
    ]);
  });

  it("refuses a zero, fractional or oversized change, a missing reason, and an unknown account, writing nothing", async () => {
    const accountId = await account("Acme", "owner@acme.test");
    const bad = [
      { delta: 0, reason: "x" },
      { delta: 1.5, reason: "x" },
      { delta: 10_000_001, reason: "x" },
      { delta: -10_000_001, reason: "x" },
      { delta: 5, reason: "   " },
    ];
    for (const b of bad) {
      await expect(adjustCredits(s, ops, { accountId, nonce: "nonce-0123456789", ...b })).rejects.toMatchObject({ code: "validation_failed" });
    }
    await expect(adjustCredits(s, ops, { accountId: "acc_nobody", delta: 5, reason: "x", nonce: "nonce-0123456789" })).rejects.toBeInstanceOf(ServiceError);
    expect(await s.db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId))).toEqual([]);
    expect(await s.db.select().from(auditLog).where(eq(auditLog.accountId, "acc_nobody"))).toEqual([]);
  });
});

/** A queued job of `accountId` with `n` pending batches of two addresses each. */
async function pendingJob(accountId: string, n: number, attempts = 0) {
  const jobId = newId("job");
  await s.db.insert(jobs).values({ id: jobId, accountId, name: "list", status: "queued", total: 2 * n, unique: 2 * n });
  const ids: string[] = [];
  for (let b = 0; b < n; b++) {
    const id = newId("bat");
    ids.push(id);
    const items: BatchItem[] = [0, 1].map((i) => [`u${b}_${i}@x.test`, `u${b}_${i}@x.test`, 2 * b + i, null]);
    await s.db.insert(batches).values({ id, jobId, accountId, status: "pending", size: 2, attempts, createdAt: Date.now() + b });
    await s.db.insert(batchItems).values({ batchId: id, items: JSON.stringify(items) });
  }
  return { jobId, ids };
}

const liveProbe = (id: string, capacity: number) =>
  s.db.insert(probes).values({ id, url: `http://${id}.test`, capacity, status: "active", lastHeartbeatAt: Date.now() });

describe("disabling an account", () => {
  it("refuses its keys with account_disabled, leaves its batches waiting, and enabling resumes them; both audited", async () => {
    const { accountId, key } = await seedAccount(1_000, s.db);
    await liveProbe("prb_one", 4);
    await pendingJob(accountId, 2);
    expect((await call("/api/v1/account", { key, env: adminEnv })).status).toBe(200);

    await expect(setAccountDisabled(s, ops, { accountId, disabled: true, reason: "  " })).rejects.toMatchObject({ code: "validation_failed" });
    await setAccountDisabled(s, ops, { accountId, disabled: true, reason: "chargebacks" }, T0);
    await expect(setAccountDisabled(s, ops, { accountId, disabled: true, reason: "again" })).rejects.toMatchObject({ code: "conflict" });
    const refused = await call("/api/v1/account", { key, env: adminEnv });
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe("account_disabled");
    expect(await dispatchPending(s)).toBe(0);
    expect(sent).toEqual([]);
    expect((await searchAccounts(s, accountId))[0]).toMatchObject({ disabledAt: T0, disabledReason: "chargebacks" });

    await setAccountDisabled(s, ops, { accountId, disabled: false, reason: "" }, T0 + 1);
    expect((await call("/api/v1/account", { key, env: adminEnv })).status).toBe(200);
    expect(await dispatchPending(s)).toBe(2);
    const audit = await s.db.select().from(auditLog).where(eq(auditLog.accountId, accountId));
    expect(audit.map((e) => [e.action, e.actor, JSON.parse(e.detail!)])).toEqual([
      ["admin.account_disabled", operator.id, { reason: "chargebacks", operator: operator.email }],
      ["admin.account_enabled", operator.id, { operator: operator.email }],
    ]);
    await expect(setAccountDisabled(s, ops, { accountId: "acc_nobody", disabled: true, reason: "x" })).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("draining and disabling a probe", () => {
  it("drained keeps what it holds; disabled gives it up to another probe at the next sweep", async () => {
    const accountId = await account("Acme", "a@acme.test");
    await liveProbe("prb_a", 2);
    const { ids } = await pendingJob(accountId, 2);
    expect(await dispatchPending(s)).toBe(2);
    await liveProbe("prb_b", 2);

    await setProbeState(s, ops, { probeId: "prb_a", state: "drained" });
    const hb: Heartbeat = { probe_id: "prb_a", url: "http://prb_a.test", version: "1", in_flight: 2, capacity: 2, draining: false, sent_at: "" };
    await recordHeartbeat(s, hb); // a heartbeat keeps the operator's drain
    expect((await liveProbes(s)).map((p) => p.id)).toEqual(["prb_b"]);
    expect((await sweep(s)).reclaimed).toBe(0);
    const held = await s.db.select().from(batches).where(inArray(batches.id, ids));
    expect(held.map((b) => [b.status, b.probeId])).toEqual([["dispatched", "prb_a"], ["dispatched", "prb_a"]]);

    const now = Date.now();
    await setProbeState(s, ops, { probeId: "prb_a", state: "disabled" }, now);
    expect((await sweep(s, now + 1)).reclaimed).toBe(2);
    expect(sent.slice(2).map((r) => [r.probeId, r.batch.batch_id]).sort()).toEqual(ids.map((id) => ["prb_b", id]).sort());
    expect((await retriedBatches(s)).map((b) => [b.id, b.attempts, b.probeId, b.account]).sort()).toEqual(ids.map((id) => [id, 2, "prb_b", "Acme"]).sort());
  });
});

describe("the fleet's health and last hour", () => {
  it("keeps a heartbeat's self-check and shared state, also through heartbeats without them", async () => {
    const selfCheck = { checked_at: "2026-11-30T09:00:00.000Z", ok: false, checks: [{ name: "ptr", ok: false, detail: "no PTR for 192.0.2.1" }, { name: "port 25", ok: true, detail: "banner" }] };
    const hb: Heartbeat = { probe_id: "prb_one", url: "http://prb-one.test", version: "1", in_flight: 0, capacity: 4, draining: false, sent_at: "" };
    await recordHeartbeat(s, { ...hb, self_check: selfCheck, shared_state: { mode: "redis", open_breakers: 3 } }, T0);
    await recordHeartbeat(s, hb, T0 + 1);
    expect((await fleet(s, T0 + 1))[0]).toMatchObject({ selfCheck, sharedState: { mode: "redis", open_breakers: 3 }, lastHour: { results: 0, unknownRate: null } });
  });

  it("counts each probe's new answers per verdict in the same write, once per address, for an hour", async () => {
    const accountId = await account("Acme", "a@acme.test");
    const { jobId, ids } = await pendingJob(accountId, 2);
    await s.db.update(batches).set({ status: "dispatched", probeId: "prb_one" });
    await liveProbe("prb_one", 4);
    const chunk = (batch: number, verdicts: ("deliverable" | "unknown")[]) => ({
      probe_id: "prb_one", batch_id: ids[batch]!, job_id: jobId, seq: 0, final: false, results: verdicts.map((v, i) => result(`u${batch}_${i}@x.test`, v)),
    });
    await applyResultChunk(s.db, chunk(0, ["deliverable", "unknown"]), T0);
    await applyResultChunk(s.db, chunk(0, ["deliverable", "unknown"]), T0 + 1); // a repeat counts nothing
    await applyResultChunk(s.db, chunk(1, ["deliverable"]), T0 + 90_000);
    const [job] = await s.db.select().from(jobs).where(eq(jobs.id, jobId));
    expect(job).toMatchObject({ processed: 3, deliverable: 2, unknown: 1 });
    expect((await fleet(s, T0 + 120_000))[0]!.lastHour).toEqual({ results: 3, deliverable: 2, undeliverable: 0, risky: 0, unknown: 1, unknownRate: 1 / 3 });
    expect((await fleet(s, T0 + 60 * 60_000 + 30_000))[0]!.lastHour).toMatchObject({ results: 1, deliverable: 1 });
  });
});

describe("held Stripe events", () => {
  it("a retry re-applies the stored event through the webhook's handler: held while the cause stands, then applied once", async () => {
    const accountId = newId("acc");
    const event = {
      id: "evt_held_1", type: "checkout.session.completed",
      data: { object: { id: "cs_held_1", payment_status: "paid", mode: "payment", client_reference_id: accountId, metadata: { account_id: accountId, product: "credits_10k" }, payment_intent: "pi_held_1", amount_total: 1000 } },
    };
    expect(await applyStripeEvent(s, { event, raw: JSON.stringify(event) }, T0)).toEqual({ outcome: "held", code: "unknown_account" });
    expect(await heldStripeEvents(s, T0 + 5_000)).toEqual([{ id: "evt_held_1", type: "checkout.session.completed", code: "unknown_account", createdAt: T0, ageMs: 5_000 }]);
    expect(await retryStripeEvent(s, ops, { eventId: "evt_held_1" })).toEqual({ outcome: "held", code: "unknown_account" });

    await s.db.insert(accounts).values({ id: accountId, name: "Late", kind: "personal" });
    expect(await retryStripeEvent(s, ops, { eventId: "evt_held_1" })).toEqual({ outcome: "applied" });
    await expect(retryStripeEvent(s, ops, { eventId: "evt_held_1" })).rejects.toMatchObject({ code: "not_found" });
    expect(await heldStripeEvents(s)).toEqual([]);
    const [acc] = await s.db.select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(10_000);
    expect(await ledgerDrift(s.db, [accountId])).toEqual([]);
    const audit = await s.db.select().from(auditLog).where(eq(auditLog.accountId, accountId));
    expect(audit.map((e) => [e.action, e.actor])).toEqual([["billing.credits_granted", "stripe"]]);
  });
});
