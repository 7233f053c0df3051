// Retention's setting and erasure through the API, inside workerd: PATCH /api/v1/account takes only
// 7, 30, 90 or null, audits the change and shows in GET /api/v1/account; POST /api/v1/erasure
// removes an address from every job (answered, and waiting in a running job's queue), the
// campaigns' recipients, the bounces, the webhook outbox, the single-check cache and the kept
// Idempotency-Key answers, leaves a suppressed address suppressed as its tombstone (which a later
// campaign on a new upload still honours), names it in the audit log only by that tombstone,
// answers the same call again with zeros, and never touches another account's data.
import { and, eq, inArray, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
// The Worker (and so @hono/zod-openapi) first: core/contracts' schemas need zod extended.
import { call, errorCode, result, seedAccount, seedJobWithBatch, testDb, testServices } from "../testing.ts";
import { newId } from "../../core/ids.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { tombstoneOf } from "../../core/tombstone.ts";
import { auditLog, batches, batchItems, bounces, campaignRecipients, campaigns, creditLedger, jobEmails, jobs, softBounceScores, suppressions, webhookEvents } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import { materializeCampaign } from "../campaigns/audience.ts";
import { seedCampaign, seedWorld } from "../campaigns/testing.ts";
import { systemWho } from "../context.ts";
import { moveStatements } from "../credits/ledger.ts";
import { applyResultChunk } from "../jobs/results.ts";
import { checkCacheKey, idempotent } from "../verify/verify.ts";

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "content-type": "application/json" } });
const patch = (key: string, body: unknown) => call("/api/v1/account", { method: "PATCH", key, ...json(body) });
const erase = (key: string, body: unknown) => call("/api/v1/erasure", { method: "POST", key, ...json(body) });
const account = async (key: string) => (await (await call("/api/v1/account", { key })).json()) as { retention_days: number | null };

interface ErasureBody {
  email_hash: string;
  removed: Record<string, number>;
  suppressed: boolean;
}

describe("PATCH /api/v1/account (retention)", () => {
  it("takes 7, 30, 90 or null, shows it in GET /api/v1/account, and audits each change with what it was", async () => {
    const mine = await seedAccount();
    const theirs = await seedAccount();
    expect((await account(mine.key)).retention_days).toBeNull();
    const set = await patch(mine.key, { retention_days: 30 });
    expect([set.status, await set.json()]).toEqual([200, { retention_days: 30 }]);
    expect((await account(mine.key)).retention_days).toBe(30);
    expect(await (await patch(mine.key, { retention_days: null })).json()).toEqual({ retention_days: null });
    expect((await account(mine.key)).retention_days).toBeNull();
    // Only the key's own account changed.
    expect((await account(theirs.key)).retention_days).toBeNull();

    const audit = await testDb().select().from(auditLog).where(and(eq(auditLog.accountId, mine.accountId), eq(auditLog.action, "retention.updated"))).orderBy(auditLog.id);
    expect(audit.map((e) => [e.actor, JSON.parse(e.detail!)])).toEqual([
      [mine.keyId, { before: null, after: 30 }],
      [mine.keyId, { before: 30, after: null }],
    ]);
  });

  it("refuses any other value, a missing one or another field (validation_failed), and changes nothing", async () => {
    const { key, accountId } = await seedAccount();
    await patch(key, { retention_days: 90 });
    for (const bad of [{ retention_days: 14 }, { retention_days: "30" }, { retention_days: 0 }, {}, { retention_days: 7, rules: {} }]) {
      const res = await patch(key, bad);
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }
    const notJson = await call("/api/v1/account", { method: "PATCH", key, body: "{", headers: { "content-type": "application/json" } });
    expect([notJson.status, await errorCode(notJson)]).toEqual([400, "invalid_json"]);
    expect((await account(key)).retention_days).toBe(90);
    expect(await testDb().select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.action, "retention.updated")))).toHaveLength(1);
    const anonymous = await call("/api/v1/account", { method: "PATCH", ...json({ retention_days: 7 }) });
    expect([anonymous.status, await errorCode(anonymous)]).toEqual([401, "unauthorized"]);
  });
});

const ERIN = "erin.doe@example.com";
const OTHER = "zed@example.com";

/** A completed job of `rows` ([address as given, verdict]) answered by one batch that keeps its items; its id and the batch's. */
async function seedCompletedJob(accountId: string, rows: [string, "deliverable" | "undeliverable"][]) {
  const db = testDb();
  const jobId = newId("job");
  const batchId = newId("bat");
  await db.insert(jobs).values({ id: jobId, accountId, name: "list.csv", status: "completed", total: rows.length, unique: rows.length, processed: rows.length, deliverable: rows.filter(([, v]) => v === "deliverable").length, finishedAt: Date.now() });
  await db.insert(batches).values({ id: batchId, jobId, accountId, status: "done", size: rows.length });
  const items: BatchItem[] = rows.map(([email], i) => [email.toLowerCase(), email, i, JSON.stringify([email, "Erin"])]);
  await db.insert(batchItems).values({ batchId, items: JSON.stringify(items) });
  await db.insert(jobEmails).values(
    rows.map(([email, verdict], rowIndex) => ({
      jobId, normalized: email.toLowerCase(), email, rowIndex, row: JSON.stringify([email, "Erin"]), batchId, verdict, reason: verdict === "deliverable" ? "accepted" : "mailbox_not_found",
      result: JSON.stringify(result(email, verdict)),
    })),
  );
  return { jobId, batchId };
}

/** Everything of `accountId` that holds ERIN, each place seeded as its own capability writes it (or as a row of it). */
async function seedErin(accountId: string) {
  const s = testServices();
  const db = testDb();
  const now = Date.now();
  const world = await seedWorld(s, { accountId });
  const first = await seedCompletedJob(accountId, [["Erin.Doe@Example.com", "deliverable"], [OTHER, "deliverable"]]);
  // A second job answered ERIN in a re-queue (round 1): the first round's batch still carries it.
  const second = await seedCompletedJob(accountId, [[ERIN, "deliverable"]]);
  const requeue = newId("bat");
  await db.insert(batches).values({ id: requeue, jobId: second.jobId, accountId, status: "done", size: 1, round: 1 });
  await db.insert(batchItems).values({ batchId: requeue, items: JSON.stringify([[ERIN, ERIN, 0, null]]) });
  await db.update(jobEmails).set({ batchId: requeue }).where(eq(jobEmails.jobId, second.jobId));
  // A running job still waiting for ERIN's answer (and another address's).
  const running = await seedJobWithBatch(accountId, ["ERIN.doe@example.com", "yan@example.com"]);

  const campaignId = await seedCampaign(s, { ...world, jobId: first.jobId }, { status: "sending" });
  await materializeCampaign(s, campaignId);
  await db.insert(suppressions).values({ accountId, email: ERIN, reason: "unsubscribed", source: "recipient", campaignId, createdAt: now - 1_000 });
  await recordAudit(s, { accountId, actor: "key_test" }, { action: "suppression.removed", target: ERIN, detail: { reason: "manual" } });
  await db.insert(bounces).values({ id: newId("bnc"), accountId, email: ERIN, kind: "hard", source: "api", dedupeKey: `api:${newId("req")}`, raw: `Final-Recipient: rfc822; ${ERIN}`, occurredAt: now });
  await db.insert(softBounceScores).values({ accountId, email: ERIN, score: 1, lastDay: Math.floor(now / 86_400_000) });
  await db.$client.batch(moveStatements({ accountId, delta: 1, kind: "refund", reason: "bounce_refund", actor: "system", jobId: first.jobId, key: `bounce_refund:${first.jobId}:${ERIN}` }, now), "write");
  await recordAudit(s, systemWho(accountId), { action: "bounce.refunded", target: first.jobId, detail: { bounce_id: "bnc_x", email: ERIN, status: "5.1.1", source: "api" } });
  await db.insert(webhookEvents).values({ id: newId("msg"), accountId, type: "verification.completed", data: JSON.stringify(result("Erin.Doe@Example.com")), fannedOutAt: now });
  await idempotent(s, { accountId, actor: "key_test" }, { what: "verify", requestId: newId("req"), idempotencyKey: "erin-check", request: [ERIN], run: async () => result(ERIN), keep: () => true, address: () => ERIN });
  await s.cache.set(checkCacheKey(ERIN), result(ERIN), 600);
  return { world, first, second, requeue, running, campaignId };
}

const erinRows = async (jobIds: string[]) => testDb().select().from(jobEmails).where(and(inArray(jobEmails.jobId, jobIds), eq(jobEmails.normalized, ERIN)));

describe("POST /api/v1/erasure", () => {
  it("removes the address from every place the account keeps it, keeps it suppressed as its tombstone, and names it nowhere in clear", async () => {
    const mine = await seedAccount();
    const theirs = await seedAccount();
    const seeded = await seedErin(mine.accountId);
    const other = await seedCompletedJob(theirs.accountId, [[ERIN, "deliverable"]]);
    const db = testDb();
    await db.insert(suppressions).values({ accountId: theirs.accountId, email: ERIN, reason: "manual", source: "test" });
    await db.insert(bounces).values({ id: newId("bnc"), accountId: theirs.accountId, email: ERIN, kind: "hard", source: "api", dedupeKey: "api:theirs", occurredAt: Date.now() });
    await db.insert(webhookEvents).values({ id: newId("msg"), accountId: theirs.accountId, type: "verification.completed", data: JSON.stringify(result(ERIN)), fannedOutAt: Date.now() });
    const s = testServices();
    await idempotent(s, { accountId: theirs.accountId, actor: "key_theirs" }, { what: "verify", requestId: newId("req"), idempotencyKey: "erin-check", request: [ERIN], run: async () => result(ERIN), keep: () => true, address: () => ERIN });
    const suppressedBefore = (await db.select().from(campaigns).where(eq(campaigns.id, seeded.campaignId)))[0]!.suppressed;

    const res = await erase(mine.key, { email: "  ERIN.Doe@example.COM " });
    expect(res.status).toBe(200);
    const tombstone = await tombstoneOf(ERIN);
    expect(await res.json()).toEqual({
      email_hash: tombstone,
      removed: { results: 2, unanswered: 1, campaign_recipients: 1, bounces: 1, soft_bounce_scores: 1, webhook_events: 1, cached_checks: 1, idempotency_records: 1 },
      suppressed: true,
    });

    // Results, and every batch that carried the address (done ones, the re-queue's first round, the running job's open one).
    const mineJobs = [seeded.first.jobId, seeded.second.jobId, seeded.running.jobId];
    expect(await erinRows(mineJobs)).toEqual([]);
    expect((await db.select().from(jobEmails).where(eq(jobEmails.jobId, seeded.first.jobId))).map((r) => r.normalized)).toEqual([OTHER]);
    const items = await db.select().from(batchItems).where(inArray(batchItems.batchId, [seeded.first.batchId, seeded.second.batchId, seeded.requeue, seeded.running.batchId]));
    expect(items).toHaveLength(4);
    for (const b of items) expect(b.items.toLowerCase()).not.toContain(ERIN);
    // The waiting address is answered `unknown` for the counts: the job can end, and its credit comes back.
    const [running] = await db.select().from(jobs).where(eq(jobs.id, seeded.running.jobId));
    expect(running).toMatchObject({ status: "running", processed: 1, unknown: 1, unique: 2 });
    // A probe's late answer for it finds no item: nothing is written; the other address still is.
    const late = await applyResultChunk(db, { probe_id: "prb_test", batch_id: seeded.running.batchId, job_id: seeded.running.jobId, seq: 1, final: true, results: [result("ERIN.doe@example.com"), result("yan@example.com")] });
    expect(late.applied).toBe(1);
    expect(late.finished).toBe(true);
    expect(await erinRows([seeded.running.jobId])).toEqual([]);

    // The campaign: the queued recipient is gone, counted suppressed.
    expect(await db.select().from(campaignRecipients).where(and(eq(campaignRecipients.campaignId, seeded.campaignId), eq(campaignRecipients.normalized, ERIN)))).toEqual([]);
    expect((await db.select().from(campaigns).where(eq(campaigns.id, seeded.campaignId)))[0]!.suppressed).toBe(suppressedBefore + 1);

    // Suppressed still, as its tombstone (reason and campaign kept); the lookup by address finds it.
    expect(await db.select({ email: suppressions.email, reason: suppressions.reason, campaignId: suppressions.campaignId }).from(suppressions).where(eq(suppressions.accountId, mine.accountId))).toEqual(
      expect.arrayContaining([{ email: tombstone, reason: "unsubscribed", campaignId: seeded.campaignId }]),
    );
    expect(await db.select().from(suppressions).where(and(eq(suppressions.accountId, mine.accountId), eq(suppressions.email, ERIN)))).toEqual([]);
    const lookup = (await (await call(`/api/v1/suppressions?email=${encodeURIComponent("Erin.Doe@example.com")}`, { key: mine.key })).json()) as { data: { email: string }[] };
    expect(lookup.data.map((e) => e.email)).toEqual([tombstone]);

    // Bounces, scores, the outbox, the ledger's refund key, the caches.
    expect(await db.select().from(bounces).where(and(eq(bounces.accountId, mine.accountId), eq(bounces.email, ERIN)))).toEqual([]);
    expect(await db.select().from(softBounceScores).where(eq(softBounceScores.accountId, mine.accountId))).toEqual([]);
    expect(await db.select().from(webhookEvents).where(eq(webhookEvents.accountId, mine.accountId))).toEqual([]);
    expect((await db.select({ key: creditLedger.idempotencyKey }).from(creditLedger).where(and(eq(creditLedger.accountId, mine.accountId), eq(creditLedger.reason, "bounce_refund"))))).toEqual([
      { key: `bounce_refund:${seeded.first.jobId}:${tombstone}` },
    ]);
    expect(await s.cache.get(checkCacheKey(ERIN))).toBeNull();
    expect(await s.cache.get(`verify:idem:${mine.accountId}:erin-check`)).toBeNull();

    // The audit log names the address nowhere in clear: the erasure by its tombstone, older entries redacted.
    const audit = await db.select().from(auditLog).where(eq(auditLog.accountId, mine.accountId));
    expect(JSON.stringify(audit).toLowerCase()).not.toContain(ERIN);
    const entry = audit.find((e) => e.action === "address.erased")!;
    expect([entry.actor, entry.target]).toEqual([mine.keyId, tombstone]);
    expect(JSON.parse(entry.detail!)).toMatchObject({ suppressed: true, removed: { results: 2 } });

    // Another account's data is untouched (the shared single-check cache is no account's).
    expect(await erinRows([other.jobId])).toHaveLength(1);
    expect(await db.select().from(suppressions).where(and(eq(suppressions.accountId, theirs.accountId), eq(suppressions.email, ERIN)))).toHaveLength(1);
    expect(await db.select().from(bounces).where(eq(bounces.accountId, theirs.accountId))).toHaveLength(1);
    expect(await db.select().from(webhookEvents).where(eq(webhookEvents.accountId, theirs.accountId))).toHaveLength(1);
    expect(await s.cache.get(`verify:idem:${theirs.accountId}:erin-check`)).not.toBeNull();

    // Again: nothing is left to remove, and it is still suppressed.
    const again = await erase(mine.key, { email: ERIN });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({
      email_hash: tombstone,
      removed: { results: 0, unanswered: 0, campaign_recipients: 0, bounces: 0, soft_bounce_scores: 0, webhook_events: 0, cached_checks: 0, idempotency_records: 0 },
      suppressed: true,
    });
  });

  it("keeps an erased, suppressed address out of a later campaign on a new upload of it", async () => {
    const { key, accountId } = await seedAccount();
    const s = testServices();
    const world = await seedWorld(s, { accountId });
    await testDb().insert(suppressions).values({ accountId, email: ERIN, reason: "complained", source: "bounce" });
    expect((await (await erase(key, { email: ERIN })).json()) as ErasureBody).toMatchObject({ suppressed: true });

    // The customer uploads the address again; a campaign on that list begins.
    const upload = await seedCompletedJob(accountId, [["Erin.Doe@example.com", "deliverable"], [OTHER, "deliverable"]]);
    const campaignId = await seedCampaign(s, { ...world, jobId: upload.jobId }, { status: "sending" });
    await materializeCampaign(s, campaignId);
    const recipients = await testDb().select({ normalized: campaignRecipients.normalized }).from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId));
    expect(recipients).toEqual([{ normalized: OTHER }]);
    expect((await testDb().select().from(campaigns).where(eq(campaigns.id, campaignId)))[0]).toMatchObject({ audience: 1, suppressed: 1 });
    // The address is back in the account's data, so it is suppressed in clear again, first reason kept.
    expect(await testDb().select({ email: suppressions.email, reason: suppressions.reason }).from(suppressions).where(eq(suppressions.accountId, accountId))).toEqual(
      expect.arrayContaining([{ email: ERIN, reason: "complained" }]),
    );
    expect(await testDb().select().from(suppressions).where(and(eq(suppressions.accountId, accountId), like(suppressions.email, "sha256:%")))).toEqual([]);
  });

  it("lets adding or importing an erased address find its tombstone: already there, first reason kept", async () => {
    const { key, accountId } = await seedAccount();
    await testDb().insert(suppressions).values({ accountId, email: ERIN, reason: "unsubscribed", source: "recipient" });
    await erase(key, { email: ERIN });
    const imported = await call("/api/v1/suppressions/import", { method: "POST", key, body: `email\n${ERIN.toUpperCase()}\nnew@example.com\n`, headers: { "content-type": "text/csv" } });
    expect(await imported.json()).toEqual({ rows: 2, added: 1, already: 1, invalid: 0 });
    const list = (await (await call("/api/v1/suppressions", { key })).json()) as { data: { email: string; reason: string }[] };
    expect(list.data.map((e) => [e.email, e.reason]).sort()).toEqual([[ERIN, "unsubscribed"], ["new@example.com", "manual"]]);

    await erase(key, { email: ERIN });
    const added = await call("/api/v1/suppressions", { method: "POST", key, ...json({ email: ERIN, reason: "bounced" }) });
    expect([added.status, ((await added.json()) as { email: string; reason: string }).reason]).toEqual([200, "unsubscribed"]);
    // An export's tombstone imports back as one.
    await erase(key, { email: ERIN });
    const tombstone = await tombstoneOf(ERIN);
    await call(`/api/v1/suppressions/${encodeURIComponent(tombstone)}`, { method: "DELETE", key });
    const back = await call("/api/v1/suppressions/import", { method: "POST", key, body: `email\n${tombstone}\n`, headers: { "content-type": "text/csv" } });
    expect(await back.json()).toEqual({ rows: 1, added: 1, already: 0, invalid: 0 });
  });

  it("refuses what is no address with a stable code, and erases nothing", async () => {
    const { key } = await seedAccount();
    for (const bad of [{ email: "no at sign" }, { email: "" }, {}, { email: `${"a".repeat(600)}@x.test` }, { email: ERIN, also: 1 }]) {
      const res = await erase(key, bad);
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }
    const notJson = await call("/api/v1/erasure", { method: "POST", key, body: "{", headers: { "content-type": "application/json" } });
    expect([notJson.status, await errorCode(notJson)]).toEqual([400, "invalid_json"]);
    const anonymous = await call("/api/v1/erasure", { method: "POST", ...json({ email: ERIN }) });
    expect([anonymous.status, await errorCode(anonymous)]).toEqual([401, "unauthorized"]);
  });
});
