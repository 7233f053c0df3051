// POST /api/v1/verify inside workerd. Through its probe paths it runs on a database of its own
// whose only probes are paths of the scripted stand-in on loopback (e2e/standin-probe.ts), asked
// by the real probe client; the choices behind it are tested in edge/verify/verify.test.ts.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Result } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { probes } from "../../db/schema.ts";
import { createEdgeDb } from "../db.ts";
import { creditBalance } from "../credits/credits.ts";
import type { Clock } from "../clock.ts";
import { buildServices, type Services } from "../context.ts";
import { findPerson } from "../finder/find.ts";
import { call, errorCode, result, seedAccount, standInProbeClient } from "../testing.ts";
import { checkAddress, DEFAULT_CHECK_BUDGET_MS } from "../verify/verify.ts";

const verify = (key: string, body: string, type = "application/json") => call("/api/v1/verify", { method: "POST", key, body, headers: { "content-type": type } });

describe("POST /api/v1/verify", () => {
  it("answers a bad address as a verdict, not an error, without a probe or a credit", async () => {
    const { key } = await seedAccount(0);
    const res = await verify(key, JSON.stringify({ email: "not an address" }));
    expect(res.status).toBe(200);
    expect((await res.json()) as Result).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax", score: 0 });
  });

  it("refuses malformed JSON, a wrong shape, and a check with no credit", async () => {
    const { key } = await seedAccount(0);
    const bad = await verify(key, "{\"email\":");
    expect([bad.status, await errorCode(bad)]).toEqual([400, "invalid_json"]);
    const shape = await verify(key, JSON.stringify({ address: "a@x.test" }));
    expect([shape.status, await errorCode(shape)]).toEqual([400, "validation_failed"]);
    const broke = await verify(key, JSON.stringify({ email: "ada@example.com" }));
    expect([broke.status, await errorCode(broke)]).toEqual([402, "insufficient_credits"]);
  });

  it("documents the Idempotency-Key header, and the publishable key in the URL", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as { paths: Record<string, { post: { parameters?: { name: string; in: string }[] } }> };
    expect(doc.paths["/api/v1/verify"]!.post.parameters).toEqual([expect.objectContaining({ name: "key", in: "query" }), expect.objectContaining({ name: "idempotency-key", in: "header" })]);
  });
});

describe("POST /api/v1/verify through probes", () => {
  // A request that finds no live probe waits this long for one (MXRAY_PROBE_WAIT_MS): short here;
  // the waiting itself is driven by an injected clock below.
  const bindings: Env = { ...env, TURSO_DATABASE_URL: env.VERIFY_TEST_DATABASE_URL!, MXRAY_PROBE_WAIT_MS: "50" };
  const db = createEdgeDb(bindings);
  const email = (prefix = "ada") => `${prefix}.${newId("req").slice(4, 14).toLowerCase()}@example.com`;
  const stood = async (address: string) =>
    ((await (await fetch(`${env.STANDIN_PROBE_URL}/calls?email=${encodeURIComponent(address)}`)).json()) as { count: number }).count;

  /** Registers probes by signed heartbeats, in the order the check asks them (least loaded first). */
  async function probesAt(...modes: string[]) {
    for (const [i, mode] of modes.entries()) {
      const body = JSON.stringify({ probe_id: `prb_${mode}${i}`, url: `${env.STANDIN_PROBE_URL}/${mode}/prb_${mode}${i}`, version: "0.0.0-standin", in_flight: i, capacity: 100, draining: false, sent_at: new Date().toISOString() });
      const res = await call("/internal/probes/heartbeat", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/heartbeat" }, body) }, env: bindings });
      expect(res.status).toBe(200);
    }
  }
  const check = (key: string, body: object, headers: Record<string, string> = {}) =>
    call("/api/v1/verify", { method: "POST", key, body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers }, env: bindings });
  const account = async () => {
    const { accountId, key } = await seedAccount(100, db);
    return { key, spent: async () => 100 - (await creditBalance(db, accountId)) };
  };

  beforeEach(async () => {
    await db.delete(probes);
  });

  it.each(["error", "garbage"])("asks the next probe when the first answers badly (%s), and charges the answer once", async (mode) => {
    await probesAt(mode, "ok");
    const { key, spent } = await account();
    const address = email();
    const res = await check(key, { email: address });
    expect([res.status, res.headers.get("x-mxray-cache")]).toEqual([200, "miss"]);
    expect(await res.json()).toMatchObject({ email: address, verdict: "deliverable", reason: "accepted" });
    expect(await stood(address)).toBe(2);
    expect(await spent()).toBe(1);
  });

  it("answers 503 probe_unavailable with Retry-After when no probe is online (after the wait) or none answers, and charges nothing", async () => {
    const { key, spent } = await account();
    const none = await check(key, { email: email() });
    expect([none.status, none.headers.get("retry-after"), await errorCode(none)]).toEqual([503, "30", "probe_unavailable"]);
    const find = await call("/api/v1/find", { method: "POST", key, body: JSON.stringify({ first_name: "Ada", last_name: "Lovelace", domain: "example.com" }), headers: { "content-type": "application/json" }, env: bindings });
    expect([find.status, find.headers.get("retry-after"), await errorCode(find)]).toEqual([503, "30", "probe_unavailable"]);
    await probesAt("error", "garbage", "ok");
    const address = email();
    const failed = await check(key, { email: address });
    expect([failed.status, failed.headers.get("retry-after"), await errorCode(failed)]).toEqual([503, "30", "probe_unavailable"]);
    expect(await stood(address)).toBe(2); // two probes asked, the third never
    expect(await spent()).toBe(0);
  });

  it("charges nothing for an unknown, and a final answer and its repeat from the cache one each", async () => {
    await probesAt("ok");
    const { key, spent } = await account();
    const unknown = await check(key, { email: email("unknown") });
    expect(await unknown.json()).toMatchObject({ verdict: "unknown" });
    expect(await spent()).toBe(0);
    const address = email("gone");
    expect(await (await check(key, { email: address })).json()).toMatchObject({ verdict: "undeliverable" });
    const again = await check(key, { email: address });
    expect([again.headers.get("x-mxray-cache"), ((await again.json()) as Result).verdict]).toEqual(["hit", "undeliverable"]);
    expect(await stood(address)).toBe(1);
    expect(await spent()).toBe(2);
  });

  it("charges a retry with the same Idempotency-Key once and answers it the same without a probe; another body is a conflict", async () => {
    await probesAt("ok");
    const { key, spent } = await account();
    const address = email();
    const idem = { "idempotency-key": crypto.randomUUID() };
    // trace skips the fresh-result cache: without a key, each request is a check and a charge.
    for (let i = 0; i < 2; i++) expect((await check(key, { email: address, trace: true })).status).toBe(200);
    expect(await spent()).toBe(2);
    const first = await check(key, { email: address, trace: true }, idem);
    const retry = await check(key, { email: address, trace: true }, idem);
    expect([first.status, first.headers.get("idempotent-replayed")]).toEqual([200, null]);
    expect([retry.status, retry.headers.get("idempotent-replayed")]).toEqual([200, "true"]);
    expect(await retry.json()).toEqual(await first.json());
    expect(await stood(address)).toBe(3);
    expect(await spent()).toBe(3);
    const other = await check(key, { email: email(), trace: true }, idem);
    expect([other.status, await errorCode(other)]).toEqual([409, "conflict"]);
    expect(await spent()).toBe(3);
  });

  it("refuses an Idempotency-Key that is too long or not printable", async () => {
    const { key, spent } = await account();
    for (const bad of ["k".repeat(256), "a\tb"]) {
      const res = await check(key, { email: email() }, { "idempotency-key": bad });
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }
    expect((await check(key, { email: "not an address" }, { "idempotency-key": "k".repeat(255) })).status).toBe(200);
    expect(await spent()).toBe(0);
  });

  describe("while no probe has reported in", () => {
    /** A clock whose sleeps pass at once, each first running `during` (the test's move while the request waits). */
    function steppingClock(during: (sleep: number) => Promise<void> = async () => {}) {
      let now = 0;
      const sleeps: number[] = [];
      const clock: Clock = { now: () => now, sleep: async (ms) => { sleeps.push(ms); await during(sleeps.length); now += ms; } };
      return { clock, sleeps };
    }
    const services = (clock: Clock, over: Partial<Services> = {}): Services => ({ ...buildServices({ ...bindings, MXRAY_PROBE_WAIT_MS: "5000" }, { waitUntil: () => {} }, "http://edge.test"), clock, ...over });
    const who = async () => ({ accountId: (await seedAccount(100, db)).accountId, actor: "user_test" });

    it("a check waits for the first heartbeat and is answered by that probe", async () => {
      const { clock, sleeps } = steppingClock(async (n) => {
        if (n === 2) await probesAt("ok"); // the probe reports in during the second pause
      });
      const address = email();
      const outcome = await checkAddress(services(clock), await who(), { check: { email: address }, requestId: newId("req") });
      expect(outcome.result).toMatchObject({ email: address, verdict: "deliverable" });
      expect(sleeps).toEqual([250, 500]); // read, pause, read, pause (the heartbeat), read: found
      expect(await stood(address)).toBe(1);
    });

    it("a find waits too, and its probe gets the budget less the wait", async () => {
      const client = standInProbeClient((address) => ({ ok: true, result: result(address, address.startsWith("ada.lovelace@") ? "deliverable" : "undeliverable") }));
      const { clock, sleeps } = steppingClock(async (n) => {
        if (n === 1) await probesAt("ok");
      });
      const answer = await findPerson(services(clock, { probeClient: client }), await who(), { find: { first_name: "Ada", last_name: "Lovelace", domain: `${newId("req").slice(4, 14).toLowerCase()}.example.com` }, chargeKey: newId("req") });
      expect(answer).toMatchObject({ verdict: "deliverable", email: expect.stringMatching(/^ada\.lovelace@/) });
      expect(sleeps).toEqual([250]);
      expect(new Set(client.calls.map((c) => c.budgetMs))).toEqual(new Set([DEFAULT_CHECK_BUDGET_MS - 250]));
    });

    it("with no probe at all, reads the fleet a bounded number of times within the wait and half the budget, then answers probe_unavailable", async () => {
      const payer = await who();
      const full = steppingClock();
      const none = checkAddress(services(full.clock), payer, { check: { email: email() }, requestId: newId("req") });
      await expect(none).rejects.toMatchObject({ code: "probe_unavailable", retryAfterS: 30 });
      // 5 s: pauses of 250 ms, 500 ms, then a second, the last cut to the deadline; 8 reads in all.
      expect(full.sleeps).toEqual([250, 500, 1000, 1000, 1000, 1000, 250]);
      const short = steppingClock();
      const budgeted = checkAddress(services(short.clock), payer, { check: { email: email(), budget_ms: 1_200 }, requestId: newId("req") });
      await expect(budgeted).rejects.toMatchObject({ code: "probe_unavailable" });
      expect(short.sleeps).toEqual([250, 350]); // half of its 1.2 s budget
      const off = steppingClock();
      const noWait = services(off.clock);
      noWait.config = { ...noWait.config, MXRAY_PROBE_WAIT_MS: 0 };
      await expect(checkAddress(noWait, payer, { check: { email: email() }, requestId: newId("req") })).rejects.toMatchObject({ code: "probe_unavailable" });
      expect(off.sleeps).toEqual([]);
    });
  });
});
