// /api/v1/account/rules inside workerd, and the `safe_to_send` they put on every result the API
// reads out: the rules read and replaced whole (bad ones refused in the API's words, each change
// audited, another account's left alone), the job's results in every format rated by the rules
// as they are now and filtered by them, and the single check's answer and its webhook event.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { call, errorCode, result, seedAccount, testDb, testServices } from "../testing.ts";
import { newId } from "../../core/ids.ts";
import { DEFAULT_RULES, safeToSend, type Rules } from "../../core/rules.ts";
import { accounts, auditLog, jobEmails, jobs, webhookEvents } from "../../db/schema.ts";
import { seedVariedJob, variedRows } from "../rules/testing.ts";

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "content-type": "application/json" } });
const getRules = async (key: string) => (await call("/api/v1/account/rules", { key })).json();
const putRules = (key: string, body: unknown) => call("/api/v1/account/rules", { method: "PUT", key, ...json(body) });
const stored = async (accountId: string) => (await testDb().select({ rules: accounts.rules }).from(accounts).where(eq(accounts.id, accountId)))[0]!.rules;

describe("/api/v1/account/rules", () => {
  it("answers the defaults, replaces the rules whole (a field left out takes its default), keeps the defaults as null, and audits each change", async () => {
    const { key, keyId, accountId } = await seedAccount(0);
    expect(await getRules(key)).toEqual({ risky: "refuse", catch_all: "risky", disposable: "risky", role: "allow", free: "allow", min_score: 0 });
    const b2b = await putRules(key, { free: "refuse", risky: "allow", min_score: 50 });
    expect([b2b.status, await b2b.json()]).toEqual([200, { ...DEFAULT_RULES, free: "refuse", risky: "allow", min_score: 50 }]);
    expect(await getRules(key)).toEqual({ ...DEFAULT_RULES, free: "refuse", risky: "allow", min_score: 50 });
    expect(await (await call("/api/v1/account", { key })).json()).toMatchObject({ id: accountId, rules: { ...DEFAULT_RULES, free: "refuse", risky: "allow", min_score: 50 } });
    expect(JSON.parse((await stored(accountId))!)).toEqual({ ...DEFAULT_RULES, free: "refuse", risky: "allow", min_score: 50 });
    // Whole: what this PUT leaves out goes back to its default.
    expect(await (await putRules(key, { role: "refuse" })).json()).toEqual({ ...DEFAULT_RULES, role: "refuse" });
    expect(await (await putRules(key, {})).json()).toEqual(DEFAULT_RULES);
    expect(await stored(accountId)).toBeNull();
    // The same rules again are no change: not audited.
    expect((await putRules(key, DEFAULT_RULES)).status).toBe(200);
    const audit = await testDb().select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.action, "rules.updated")));
    expect(audit.map((a) => [a.actor, a.target, JSON.parse(a.detail!)])).toEqual([
      [keyId, accountId, { before: DEFAULT_RULES, after: { ...DEFAULT_RULES, free: "refuse", risky: "allow", min_score: 50 } }],
      [keyId, accountId, { before: { ...DEFAULT_RULES, free: "refuse", risky: "allow", min_score: 50 }, after: { ...DEFAULT_RULES, role: "refuse" } }],
      [keyId, accountId, { before: { ...DEFAULT_RULES, role: "refuse" }, after: DEFAULT_RULES }],
    ]);
  });

  it("refuses bad rules with validation_failed naming the field, and keeps the rules it had", async () => {
    const { key } = await seedAccount(0);
    await putRules(key, { free: "refuse" });
    const cases: [unknown, string][] = [
      [{ min_scor: 50 }, "min_scor"],
      [{ free: "no" }, "free"],
      [{ risky: true }, "risky"],
      [{ min_score: 101 }, "min_score"],
      [{ min_score: 2.5 }, "min_score"],
      [{ min_score: "50" }, "min_score"],
      [[], "body"],
    ];
    for (const [body, field] of cases) {
      const res = await putRules(key, body);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect([res.status, answer.error.code], JSON.stringify(body)).toEqual([400, "validation_failed"]);
      expect(answer.error.message, JSON.stringify(body)).toContain(field);
    }
    const broken = await call("/api/v1/account/rules", { method: "PUT", key, body: "{\"free\":", headers: { "content-type": "application/json" } });
    expect([broken.status, await errorCode(broken)]).toEqual([400, "invalid_json"]);
    expect(await getRules(key)).toEqual({ ...DEFAULT_RULES, free: "refuse" });
  });

  it("keeps each account's rules its own, and answers nothing without a key", async () => {
    const mine = await seedAccount(0);
    const theirs = await seedAccount(0);
    await putRules(theirs.key, { role: "refuse", min_score: 90 });
    expect((await putRules(mine.key, { free: "refuse" })).status).toBe(200);
    expect(await getRules(theirs.key)).toEqual({ ...DEFAULT_RULES, role: "refuse", min_score: 90 });
    expect(await getRules(mine.key)).toEqual({ ...DEFAULT_RULES, free: "refuse" });
    const anonymous = await call("/api/v1/account/rules", { method: "PUT", ...json({}) });
    expect([anonymous.status, await errorCode(anonymous)]).toEqual([401, "unauthorized"]);
    expect(await getRules(theirs.key)).toEqual({ ...DEFAULT_RULES, role: "refuse", min_score: 90 });
  });
});

describe("safe_to_send on a job's results", () => {
  type Row = { email: string; safe_to_send: boolean; contradicted: unknown };
  const results = async (key: string, jobId: string, query = "format=jsonl") => {
    const res = await call(`/api/v1/jobs/${jobId}/results?${query}`, { key });
    expect(res.status).toBe(200);
    return (await res.text()).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Row);
  };

  it("is on every format, from the rules as they are when the export starts, and filters exactly those rows", async () => {
    const { key, accountId } = await seedAccount(0);
    const rows = variedRows(120);
    const jobId = await seedVariedJob(testDb(), accountId, rows);
    const b2b: Rules = { ...DEFAULT_RULES, risky: "allow", free: "refuse", min_score: 50 };
    const expected = (rules: Rules) => rows.map((r) => [r.email, safeToSend(r.record, rules)]);
    // The defaults: deliverable only.
    expect((await results(key, jobId)).map((r) => [r.email, r.safe_to_send])).toEqual(expected(DEFAULT_RULES));
    expect(expected(DEFAULT_RULES).map(([, safe]) => safe)).toEqual(rows.map((r) => r.record.verdict === "deliverable"));

    // Changed rules apply at once, with nothing verified again.
    await putRules(key, b2b);
    const jsonl = await results(key, jobId);
    expect(jsonl.map((r) => [r.email, r.safe_to_send])).toEqual(expected(b2b));
    // Every record also says its data row and its cells (issue 26).
    expect(jsonl[0]).toEqual({ row: 1, ...rows[0]!.record, contradicted: null, safe_to_send: safeToSend(rows[0]!.record, b2b), columns: { email: rows[0]!.record.email, first_name: "P0" } });
    const array = (await (await call(`/api/v1/jobs/${jobId}/results?format=json`, { key })).json()) as Row[];
    expect(array.map((r) => [r.email, r.safe_to_send])).toEqual(expected(b2b));
    const csv = Papa.parse<string[]>((await (await call(`/api/v1/jobs/${jobId}/results?format=csv`, { key })).text()).trim()).data;
    expect(csv[0]).toEqual(["email", "first_name", "verdict", "reason", "score", "catch_all", "disposable", "role", "free", "suggestion", "mx", "smtp_code", "smtp_message", "safe_to_send"]);
    expect(csv.slice(1).map((c) => [c[0], c.at(-1)])).toEqual(expected(b2b).map(([email, safe]) => [email, String(safe)]));

    // The filter: exactly the rows rated so, and with a verdict filter beside it.
    const safe = expected(b2b).filter(([, s]) => s).map(([email]) => email);
    expect(safe.length).toBeGreaterThan(10);
    expect(safe.length).toBeLessThan(rows.length / 2);
    expect((await results(key, jobId, "format=jsonl&safe_to_send=true")).map((r) => r.email)).toEqual(safe);
    expect((await results(key, jobId, "format=jsonl&safe_to_send=false")).map((r) => r.email)).toEqual(expected(b2b).filter(([, s]) => !s).map(([email]) => email));
    const riskySafe = rows.filter((r) => r.record.verdict === "risky" && safeToSend(r.record, b2b)).map((r) => r.email);
    expect(riskySafe.length).toBeGreaterThan(0);
    expect((await results(key, jobId, "format=jsonl&verdict=risky&safe_to_send=true")).map((r) => r.email)).toEqual(riskySafe);
    const filteredCsv = (await (await call(`/api/v1/jobs/${jobId}/results?format=csv&safe_to_send=true`, { key })).text()).trim().split("\r\n");
    expect(filteredCsv).toHaveLength(safe.length + 1);
  });

  it("refuses a filter it does not know, and a find job's results are not rated", async () => {
    const { key, accountId } = await seedAccount(0);
    const jobId = await seedVariedJob(testDb(), accountId, variedRows(3));
    const bad = await call(`/api/v1/jobs/${jobId}/results?safe_to_send=yes`, { key });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "validation_failed"]);
    const findId = newId("job");
    await testDb().insert(jobs).values({ id: findId, accountId, name: "people.csv", kind: "find", status: "completed", total: 1, unique: 1, processed: 1 });
    await testDb().insert(jobEmails).values({
      jobId: findId, normalized: "ada lovelace <x.test>", email: "Ada Lovelace <x.test>", rowIndex: 0, verdict: "deliverable", reason: "accepted",
      result: JSON.stringify({ email: "ada@x.test", verdict: "deliverable", reason: "accepted", confidence: 95, pattern: "first", catch_all: false, candidates: [], duration_ms: 1 }),
    });
    const find = await call(`/api/v1/jobs/${findId}/results?safe_to_send=true`, { key });
    expect([find.status, await errorCode(find)]).toEqual([400, "validation_failed"]);
    const answers = await results(key, findId);
    expect(answers).toEqual([expect.not.objectContaining({ safe_to_send: expect.anything() })]);
    // Another account's job stays not found, filter or not.
    const stranger = await seedAccount(0);
    const hidden = await call(`/api/v1/jobs/${jobId}/results?safe_to_send=true`, { key: stranger.key });
    expect([hidden.status, await errorCode(hidden)]).toEqual([404, "not_found"]);
  });
});

describe("safe_to_send on a single check", () => {
  it("rates the answer by the rules as they are now, a cached and a replayed one too, and the verification.completed event carries it", async () => {
    const { key, accountId } = await seedAccount(100);
    const hook = await call("/api/v1/webhooks", { method: "POST", key, env, ...json({ url: `${env.STANDIN_RECEIVER_URL}/ok/${newId("req")}`, events: ["verification.completed"] }) });
    expect(hook.status).toBe(201);
    // A fresh answer in the shared cache: the check needs no probe.
    const address = `ada.${newId("req").slice(4, 14).toLowerCase()}@example.com`;
    await testServices().cache.set(`verify:${address}`, result(address, "deliverable", { score: 95 }), 600);
    const idem = { "idempotency-key": crypto.randomUUID() };
    const check = () => call("/api/v1/verify", { method: "POST", key, env, body: JSON.stringify({ email: address }), headers: { "content-type": "application/json", ...idem } });

    const first = await check();
    expect([first.headers.get("x-mxray-cache"), await first.json()]).toEqual(["hit", { ...result(address, "deliverable", { score: 95 }), safe_to_send: true }]);
    // A stricter rule applies to the replay of the same answer: the stored result carries no rating.
    expect((await putRules(key, { min_score: 96 })).status).toBe(200);
    const replay = await check();
    expect([replay.headers.get("idempotent-replayed"), await replay.json()]).toEqual(["true", expect.objectContaining({ verdict: "deliverable", safe_to_send: false })]);
    const events = await testDb().select().from(webhookEvents).where(and(eq(webhookEvents.accountId, accountId), eq(webhookEvents.type, "verification.completed")));
    expect(events.map((e) => JSON.parse(e.data!) as unknown)).toEqual([{ ...result(address, "deliverable", { score: 95 }), safe_to_send: true }]);
  });
});
