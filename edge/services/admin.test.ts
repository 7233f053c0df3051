// The operations console's services inside workerd, on a database of their own (they read and
// change every probe): who is an operator, taking a probe out of dispatch, stuck jobs, and credit
// adjustments applied once per form with the ledger, balance and audit log moving together.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { accounts, auditLog, batches, creditLedger, jobs, members, probes } from "../../db/schema.ts";
import { ConfigSchema } from "../config.ts";
import { ServiceError } from "../errors.ts";
import { adjustCredits, fleet, isOperator, jobsInFlight, searchAccounts, setProbeEnabled, STUCK_MS } from "./admin.ts";
import { buildServices, type Services } from "./context.ts";
import { ledgerDrift } from "./credits.ts";
import { liveProbes } from "./dispatch.ts";
import { recordHeartbeat } from "./probes.ts";

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
const operator = { id: "usr_operator", email: "operator@mxray.test" };
const request = { ip: "127.0.0.1", userAgent: "test", requestId: "req_admin" };
let s: Services;

beforeEach(async () => {
  s = buildServices({ ...env, TURSO_DATABASE_URL: env.ADMIN_TEST_DATABASE_URL! }, { waitUntil: () => {} }, "http://edge.test");
  for (const table of [batches, jobs, members, creditLedger, accounts, probes]) await s.db.delete(table);
});

async function account(name: string, email: string) {
  const id = newId("acc");
  await s.db.insert(accounts).values({ id, name, kind: "personal", creditBalance: 0 });
  await s.db.insert(members).values({ accountId: id, userId: `usr_${email}`, email, role: "owner" });
  return id;
}

describe("isOperator", () => {
  it("matches MXRAY_ADMIN_EMAILS case-insensitively, and nobody when it is unset", () => {
    const config = ConfigSchema.parse({ ...env, MXRAY_ADMIN_EMAILS: " Operator@MXRay.test, ops@mxray.test ,," });
    expect(config.MXRAY_ADMIN_EMAILS).toEqual(["operator@mxray.test", "ops@mxray.test"]);
    expect(isOperator(config, "OPERATOR@mxray.test")).toBe(true);
    expect(isOperator(config, "ops@mxray.test")).toBe(true);
    expect(isOperator(config, "someone@mxray.test")).toBe(false);
    expect(isOperator(config, "")).toBe(false);
    const none = ConfigSchema.parse({ ...env, MXRAY_ADMIN_EMAILS: undefined });
    expect(isOperator(none, "operator@mxray.test")).toBe(false);
  });
});

describe("the fleet", () => {
  const heartbeat = (now: number) => recordHeartbeat(s.db, { probe_id: "prb_one", url: "http://prb-one.test", version: "1.2.3", in_flight: 0, capacity: 4, draining: false, sent_at: new Date(now).toISOString() }, now);

  it("a disabled probe leaves dispatch and stays out through its heartbeats until it is enabled", async () => {
    const now = Date.now();
    await heartbeat(now);
    expect((await liveProbes(s, now)).map((p) => p.id)).toEqual(["prb_one"]);

    await setProbeEnabled(s.db, "prb_one", false);
    expect(await liveProbes(s, now)).toEqual([]);
    await heartbeat(now + 1);
    expect(await liveProbes(s, now + 1)).toEqual([]);
    expect((await fleet(s.db, now + 1))[0]).toMatchObject({ id: "prb_one", status: "disabled", version: "1.2.3", capacity: 4, heartbeatAgeMs: 0 });

    await setProbeEnabled(s.db, "prb_one", true);
    expect((await liveProbes(s, now + 1)).map((p) => p.id)).toEqual(["prb_one"]);
    await expect(setProbeEnabled(s.db, "prb_one", true)).rejects.toMatchObject({ code: "conflict" });
    await expect(setProbeEnabled(s.db, "prb_nobody", false)).rejects.toMatchObject({ code: "not_found" });
  });

  it("counts each probe's dispatched batches", async () => {
    await heartbeat(T0);
    const accountId = await account("Acme", "a@acme.test");
    const jobId = newId("job");
    await s.db.insert(jobs).values({ id: jobId, accountId, name: "list", status: "running" });
    for (const status of ["dispatched", "dispatched", "done"] as const) {
      await s.db.insert(batches).values({ id: newId("bat"), jobId, accountId, status, size: 1, probeId: "prb_one" });
    }
    expect((await fleet(s.db, T0 + 5_000))[0]).toMatchObject({ batchesInFlight: 2, heartbeatAgeMs: 5_000 });
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
    const rows = await jobsInFlight(s.db, T0);
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
    expect((await searchAccounts(s.db, "acme.test")).map((a) => a.id)).toEqual([acme]);
    expect((await searchAccounts(s.db, other)).map((a) => a.id)).toEqual([other]);
    expect((await searchAccounts(s.db, "100%")).map((a) => a.id)).toEqual([acme]);
    expect(await searchAccounts(s.db, "_")).toEqual([]);
    expect((await searchAccounts(s.db, "")).length).toBe(2);
  });

  it("an adjustment applies once per form, moves ledger and balance together, and is audited in the account", async () => {
    const accountId = await account("Acme", "owner@acme.test");
    const nonce = "nonce-0123456789";
    const first = await adjustCredits(s.db, request, operator, { accountId, delta: 500, reason: "goodwill", nonce }, T0);
    const again = await adjustCredits(s.db, request, operator, { accountId, delta: 500, reason: "goodwill", nonce }, T0);
    expect(first).toEqual({ applied: true, balance: 500 });
    expect(again).toEqual({ applied: false, balance: 500 });
    const back = await adjustCredits(s.db, request, operator, { accountId, delta: -200, reason: "mistake", nonce: "nonce-second-one" }, T0);
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
      await expect(adjustCredits(s.db, request, operator, { accountId, nonce: "nonce-0123456789", ...b })).rejects.toMatchObject({ code: "validation_failed" });
    }
    await expect(adjustCredits(s.db, request, operator, { accountId: "acc_nobody", delta: 5, reason: "x", nonce: "nonce-0123456789" })).rejects.toBeInstanceOf(ServiceError);
    expect(await s.db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId))).toEqual([]);
    expect(await s.db.select().from(auditLog).where(eq(auditLog.accountId, "acc_nobody"))).toEqual([]);
  });
});
