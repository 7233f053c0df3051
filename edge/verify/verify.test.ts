// The single check's choices, with a stand-in probe client (edge/testing.ts) and the real sqld:
// which probe next, what is charged, what the cache and an Idempotency-Key answer. The real client
// against a probe on loopback is tested in edge/adapters/probeclient.test.ts and through the route
// in edge/api/v1_verify.test.ts.
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { creditLedger, probes } from "../../db/schema.ts";
import type { ProbeAnswer, ProbeFailure } from "../adapters/probeclient.ts";
import { ServiceError } from "../errors.ts";
import { result, seedAccount, standInProbeClient, testDb as db } from "../testing.ts";
import { buildServices, type Services } from "../context.ts";
import { creditBalance } from "../credits/credits.ts";
import { PROBES_PER_CHECK } from "../dispatch/probes.ts";
import { checkAddress, type CheckRequest } from "./verify.ts";

const ok = (email: string, verdict: Parameters<typeof result>[1] = "deliverable"): ProbeAnswer => ({ ok: true, result: result(email, verdict) });
const FAILURES: ProbeFailure[] = [
  { ok: false, error: "http_status", status: 503, detail: "503" },
  { ok: false, error: "timeout", detail: "no answer" },
  { ok: false, error: "bad_body", detail: "not a result" },
];

// Two live probes at least; other test files may add theirs, which the stand-in answers alike.
const ours = [newId("prb"), newId("prb")];
beforeAll(async () => {
  await db().insert(probes).values(ours.map((id) => ({ id, url: "http://standin.invalid", capacity: 4, status: "active" as const, lastHeartbeatAt: Date.now() })));
});
afterAll(async () => {
  await db().delete(probes).where(inArray(probes.id, ours));
});

function harness(answer: (email: string, attempt: number) => ProbeAnswer, over: Partial<Services> = {}) {
  const client = standInProbeClient(answer);
  const pending: Promise<unknown>[] = [];
  const s: Services = { ...buildServices(env, { waitUntil: (p) => pending.push(p) }, "http://edge.test"), probeClient: client, ...over };
  const check = (accountId: string, req: CheckRequest, key?: string) => checkAddress(s, { accountId, actor: "user_test" }, { check: req, requestId: newId("req"), idempotencyKey: key });
  // Background cache writes, done: what the next request would find.
  const settled = () => Promise.all(pending);
  return { client, check, settled };
}

const address = (prefix = "ada") => `${prefix}.${newId("req").slice(4, 14).toLowerCase()}@example.com`;
const spent = async (accountId: string, from = 100) => from - (await creditBalance(db(), accountId));
const codeOf = (work: Promise<unknown>) =>
  work.then(
    () => "ok",
    (e: unknown) => (e instanceof ServiceError ? { code: e.code, retryAfterS: e.retryAfterS } : Promise.reject(e)),
  );

describe("checkAddress: probes", () => {
  it.each(FAILURES)("asks the next probe when the first fails ($error) and charges the answer once", async (failure) => {
    const { accountId } = await seedAccount(100);
    const { client, check } = harness((email, attempt) => (attempt === 0 ? failure : ok(email)));
    const email = address();
    const outcome = await check(accountId, { email });
    expect(outcome).toMatchObject({ cached: false, replayed: false, result: { email, verdict: "deliverable" } });
    expect(client.calls.map((c) => c.email)).toEqual([email, email]);
    expect(client.calls[0]!.probeId).not.toBe(client.calls[1]!.probeId);
    expect(await spent(accountId)).toBe(1);
  });

  it("answers probe_unavailable with a retry hint when no probe answers, after asking each allowed probe once, and charges nothing", async () => {
    const { accountId } = await seedAccount(100);
    const { client, check } = harness(() => FAILURES[1]!);
    expect(await codeOf(check(accountId, { email: address(), budget_ms: 2_000 }))).toEqual({ code: "probe_unavailable", retryAfterS: 30 });
    expect(client.calls).toHaveLength(PROBES_PER_CHECK);
    expect(client.calls.every((c) => c.budgetMs === 2_000)).toBe(true);
    expect(await spent(accountId)).toBe(0);
  });

  it("charges nothing for an unknown and does not cache it: the next check asks again", async () => {
    const { accountId } = await seedAccount(100);
    const { client, check, settled } = harness((email) => ok(email, "unknown"));
    const email = address();
    expect((await check(accountId, { email })).result.verdict).toBe("unknown");
    await settled();
    expect(await check(accountId, { email })).toMatchObject({ cached: false, result: { verdict: "unknown" } });
    expect(client.calls).toHaveLength(2);
    expect(await spent(accountId)).toBe(0);
  });

  it("serves a final answer again from the cache without a probe, charged as a fresh one (issue 10), and refuses it without credit", async () => {
    const { accountId } = await seedAccount(100);
    const { client, check, settled } = harness((email) => ok(email, "undeliverable"));
    const email = address();
    expect((await check(accountId, { email })).result.verdict).toBe("undeliverable");
    await settled();
    expect(await check(accountId, { email: email.toUpperCase() })).toMatchObject({ cached: true, result: { email: email.toUpperCase(), verdict: "undeliverable" } });
    expect(client.calls).toHaveLength(1);
    expect(await spent(accountId)).toBe(2);
    expect(await db().select().from(creditLedger).where(eq(creditLedger.accountId, accountId))).toHaveLength(2);
    const broke = await seedAccount(0);
    expect(await codeOf(check(broke.accountId, { email }))).toEqual({ code: "insufficient_credits", retryAfterS: undefined });
    expect(client.calls).toHaveLength(1);
  });
});

describe("checkAddress: Idempotency-Key", () => {
  // trace skips the fresh-result cache, so what saves the probe call here is the key alone.
  it("charges each request without a key, as before", async () => {
    const { accountId } = await seedAccount(100);
    const { client, check } = harness((email) => ok(email));
    const email = address();
    await check(accountId, { email, trace: true });
    await check(accountId, { email, trace: true });
    expect(client.calls).toHaveLength(2);
    expect(await spent(accountId)).toBe(2);
  });

  it("charges a retry with the same key once and replays the first answer without asking a probe", async () => {
    const { accountId } = await seedAccount(100);
    const { client, check } = harness((email) => ok(email));
    const email = address();
    const first = await check(accountId, { email, trace: true }, "retry-1");
    const again = await check(accountId, { email, trace: true }, "retry-1");
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ result: first.result, cached: true, replayed: true });
    expect(client.calls).toHaveLength(1);
    expect(await spent(accountId)).toBe(1);
  });

  it("charges a retry once even when the stored answer is gone: the ledger is keyed by account and key", async () => {
    const { accountId } = await seedAccount(100);
    const forgetful = { get: async () => null, set: async () => {}, increment: async () => 1, claim: async () => true, remember: async () => {}, members: async () => [], delete: async () => 0 };
    const { client, check } = harness((email) => ok(email), { cache: forgetful });
    const email = address();
    await check(accountId, { email }, "lost-record");
    await check(accountId, { email }, "lost-record");
    expect(client.calls).toHaveLength(2);
    expect(await spent(accountId)).toBe(1);
  });

  it("refuses the key with other parameters (conflict), and lets another account use the same key", async () => {
    const a = await seedAccount(100);
    const b = await seedAccount(100);
    const { client, check } = harness((email) => ok(email));
    await check(a.accountId, { email: address() }, "shared-key");
    expect(await codeOf(check(a.accountId, { email: address() }, "shared-key"))).toMatchObject({ code: "conflict" });
    expect(client.calls).toHaveLength(1);
    expect(await spent(a.accountId)).toBe(1);
    expect((await check(b.accountId, { email: address() }, "shared-key")).replayed).toBe(false);
    expect(await spent(b.accountId)).toBe(1);
  });

  it("keeps no answer for an unknown or an error: the retry asks again and is charged once it is final", async () => {
    const { accountId } = await seedAccount(100);
    const script: ProbeAnswer[] = [];
    const { client, check } = harness((email, attempt) => script[attempt] ?? ok(email));
    const email = address();
    script.push(FAILURES[0]!, FAILURES[0]!, ok(email, "unknown"));
    expect(await codeOf(check(accountId, { email }, "k"))).toMatchObject({ code: "probe_unavailable" });
    expect((await check(accountId, { email }, "k")).result.verdict).toBe("unknown");
    expect(await check(accountId, { email }, "k")).toMatchObject({ replayed: false, result: { verdict: "deliverable" } });
    expect(await check(accountId, { email }, "k")).toMatchObject({ replayed: true, result: { verdict: "deliverable" } });
    expect(client.calls).toHaveLength(4);
    expect(await spent(accountId)).toBe(1);
  });
});
