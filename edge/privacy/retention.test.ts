// The retention sweep inside workerd, on a clock the test sets: only jobs that ended more than
// the account's days ago are expired (never a running one, one a sending campaign uses, one of an
// account without the setting or with a longer one); an expired job keeps its summary, answers
// `results_expired` for its results and is purged in bounded steps over several sweeps; its
// finished campaign's recipients keep their rows with their address as its tombstone, and an old
// unsubscribe link still suppresses; old bounces, scores and webhook events of the account go.
import { env } from "cloudflare:test";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
// The Worker (and so @hono/zod-openapi) first: core/contracts' schemas need zod extended.
import { call, errorCode, result, seedAccount, testDb, testServices } from "../testing.ts";
import { newId } from "../../core/ids.ts";
import { tombstoneOf } from "../../core/tombstone.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import { accounts, batches, batchItems, bounces, campaignRecipients, campaigns, jobEmails, jobs, softBounceScores, suppressions, webhookEvents } from "../../db/schema.ts";
import { unsubscribe } from "../campaigns/unsubscribe.ts";
import { PURGE_RESULT_ROWS } from "../jobs/expiry.ts";
import { sweepRetention, type RetentionSweep } from "./retention.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2031, 5, 15, 12);

const setRetention = (accountId: string, days: number | null) => testDb().update(accounts).set({ retentionDays: days }).where(eq(accounts.id, accountId));

/** A job of `accountId` that ended `endedDaysAgo` before NOW, with `rows` answered rows spread over batches of 1,000 that keep their items. */
async function seedJob(accountId: string, opts: { endedDaysAgo: number; rows?: number; status?: "completed" | "running" | "canceled" }) {
  const db = testDb();
  const jobId = newId("job");
  const rows = opts.rows ?? 3;
  const endedAt = NOW - opts.endedDaysAgo * DAY;
  const status = opts.status ?? "completed";
  await db.insert(jobs).values({
    id: jobId, accountId, name: "list.csv", status, total: rows, unique: rows, processed: rows, deliverable: rows, columns: JSON.stringify(["email", "first_name"]),
    emailColumn: "email", createdAt: endedAt - 3_600_000, finishedAt: status === "running" ? null : endedAt,
  });
  const batchIds = Array.from({ length: Math.ceil(rows / 1_000) }, () => newId("bat"));
  await db.insert(batches).values(batchIds.map((id) => ({ id, jobId, accountId, status: "done" as const, size: 1_000 })));
  // Rows and items made by SQLite: a test of a several-step purge needs more rows than a loop of inserts would like.
  await db.$client.batch(
    [
      {
        sql: `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
              INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at)
              SELECT ?1, 'p' || i || '@x.test', 'p' || i || '@x.test', i, json_array('p' || i || '@x.test', 'P' || i), json_extract(?3, '$[' || (i / 1000) || ']'),
                'deliverable', 'accepted', json_object('email', 'p' || i || '@x.test'), ?4 FROM n`,
        args: [jobId, rows, JSON.stringify(batchIds), endedAt],
      },
      {
        sql: `INSERT INTO batch_items (batch_id, items)
              SELECT json_extract(?2, '$[' || (row_index / 1000) || ']'), json_group_array(json_array(normalized, email, row_index, row))
              FROM job_emails WHERE job_id = ?1 GROUP BY row_index / 1000`,
        args: [jobId, JSON.stringify(batchIds)],
      },
    ],
    "write",
  );
  return jobId;
}

const rowsOf = async (jobId: string) => (await testDb().select({ n: jobEmails.rowIndex }).from(jobEmails).where(eq(jobEmails.jobId, jobId))).length;
const jobRow = async (jobId: string) => (await testDb().select().from(jobs).where(eq(jobs.id, jobId)))[0]!;

/** Sweeps until a sweep moves nothing (every test leaves no purge half done for the next); answers how many sweeps moved something. */
async function drain(now = NOW): Promise<number> {
  const s = testServices();
  for (let sweeps = 0; sweeps < 50; sweeps++) {
    const out = await sweepRetention(s, now);
    if (!Object.values(out).some((n) => n > 0)) return sweeps;
  }
  throw new Error("the retention sweep never settled");
}

describe("the retention sweep", () => {
  it("expires only jobs that ended more than the account's days ago, keeps their summary, and refuses their results", async () => {
    const { key, accountId } = await seedAccount();
    const longer = await seedAccount();
    const none = await seedAccount();
    await setRetention(accountId, 7);
    await setRetention(longer.accountId, 30);
    const old = await seedJob(accountId, { endedDaysAgo: 8 });
    const canceled = await seedJob(accountId, { endedDaysAgo: 9, status: "canceled" });
    const recent = await seedJob(accountId, { endedDaysAgo: 6 });
    // Created long ago but still running: its end is not known yet.
    const running = await seedJob(accountId, { endedDaysAgo: 20, status: "running" });
    const keptLonger = await seedJob(longer.accountId, { endedDaysAgo: 8 });
    const keptForever = await seedJob(none.accountId, { endedDaysAgo: 400 });
    const s = testServices();
    await s.hub(old).update({ id: old, status: "completed", total: 3, unique: 3, processed: 3, counts: { deliverable: 3, undeliverable: 0, risky: 0, unknown: 0 } }, [result("p0@x.test")], 3);

    await drain();
    for (const id of [old, canceled]) {
      const job = await jobRow(id);
      expect(job).toMatchObject({ resultsExpiredAt: NOW, resultsPurgedAt: NOW, name: "list.csv", total: 3, unique: 3, deliverable: 3, columns: JSON.stringify(["email", "first_name"]) });
      expect(await rowsOf(id)).toBe(0);
      expect(await testDb().select().from(batches).where(eq(batches.jobId, id))).toEqual([]);
    }
    // The hub forgot the newest results it kept for the page's first paint.
    expect(await s.hub(old).forget(null)).toBe(0);
    for (const id of [recent, running, keptLonger, keptForever]) {
      expect(await jobRow(id)).toMatchObject({ resultsExpiredAt: null, resultsPurgedAt: null });
      expect(await rowsOf(id)).toBe(3);
    }
    expect(await testDb().select().from(batchItems).where(inArray(batchItems.batchId, testDb().select({ id: batches.id }).from(batches).where(eq(batches.jobId, recent))))).toHaveLength(1);

    // The job answers as its summary; its results are gone, with a code that says why.
    const view = (await (await call(`/api/v1/jobs/${old}`, { key })).json()) as { counts: { deliverable: number }; results_expired_at: string | null };
    expect(view).toMatchObject({ counts: { deliverable: 3 }, results_expired_at: new Date(NOW).toISOString() });
    expect(((await (await call(`/api/v1/jobs/${recent}`, { key })).json()) as { results_expired_at: string | null }).results_expired_at).toBeNull();
    const results = await call(`/api/v1/jobs/${old}/results`, { key });
    expect([results.status, await errorCode(results)]).toEqual([410, "results_expired"]);
    expect((await call(`/api/v1/jobs/${recent}/results`, { key })).status).toBe(200);

    // Eight days on, the recent one's turn comes; the running one still waits for its end.
    await drain(NOW + 2 * DAY);
    expect(await rowsOf(recent)).toBe(0);
    expect(await rowsOf(running)).toBe(3);
  });

  it("purges a large job in bounded steps over several sweeps", async () => {
    const { accountId } = await seedAccount();
    await setRetention(accountId, 7);
    const big = await seedJob(accountId, { endedDaysAgo: 10, rows: 2 * PURGE_RESULT_ROWS + 500 });
    const s = testServices();
    const sweeps: RetentionSweep[] = [];
    const firstSweep = await sweepRetention(s, NOW, 2);
    sweeps.push(firstSweep);
    // Two writes: the batches' items (11 batches, one statement), then one step of rows.
    expect(firstSweep).toMatchObject({ expiredJobs: 1, purgedItems: 11, purgedResults: PURGE_RESULT_ROWS, purgedJobs: 0 });
    expect(await rowsOf(big)).toBe(PURGE_RESULT_ROWS + 500);
    expect((await jobRow(big)).resultsPurgedAt).toBeNull();
    for (;;) {
      const out = await sweepRetention(s, NOW, 2);
      sweeps.push(out);
      if (out.purgedJobs > 0) break;
      expect(sweeps.length).toBeLessThan(10);
    }
    expect(sweeps.length).toBeGreaterThanOrEqual(3);
    expect(sweeps.every((o) => o.purgedResults <= 2 * PURGE_RESULT_ROWS)).toBe(true);
    expect(sweeps.reduce((n, o) => n + o.purgedResults, 0)).toBe(2 * PURGE_RESULT_ROWS + 500);
    expect(await rowsOf(big)).toBe(0);
    expect((await jobRow(big)).resultsPurgedAt).toBe(NOW);
  });

  it("waits for a campaign using the job, then keeps its finished campaign's recipients as tombstones that an old unsubscribe link still suppresses", async () => {
    const { accountId, keyId } = await seedAccount();
    await setRetention(accountId, 30);
    const jobId = await seedJob(accountId, { endedDaysAgo: 40 });
    const campaignId = newId("cmp");
    await testDb().insert(campaigns).values({
      id: campaignId, accountId, name: "June", jobId, senderId: newId("snd"), templateId: newId("tpl"), status: "sending", consentBasis: "opt_in", consentSource: "form", createdBy: keyId, audience: 2, sent: 2,
    });
    const recipients = await testDb()
      .insert(campaignRecipients)
      .values(["p0@x.test", "p1@x.test"].map((email, rowIndex) => ({ campaignId, normalized: email, email, rowIndex, status: "sent" as const, reply: `250 2.0.0 Ok: queued for <${email}>` })))
      .returning({ id: campaignRecipients.id });

    await drain();
    expect(await jobRow(jobId)).toMatchObject({ resultsExpiredAt: null });
    expect(await rowsOf(jobId)).toBe(3);

    await testDb().update(campaigns).set({ status: "completed", finishedAt: NOW - 35 * DAY }).where(eq(campaigns.id, campaignId));
    await drain();
    expect(await rowsOf(jobId)).toBe(0);
    expect((await jobRow(jobId)).resultsPurgedAt).toBe(NOW);
    const kept = await testDb().select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId)).orderBy(campaignRecipients.id);
    expect(kept.map((r) => [r.status, r.normalized, r.email, r.reply])).toEqual([
      ["sent", await tombstoneOf("p0@x.test"), await tombstoneOf("p0@x.test"), null],
      ["sent", await tombstoneOf("p1@x.test"), await tombstoneOf("p1@x.test"), null],
    ]);
    expect((await testDb().select().from(campaigns).where(eq(campaigns.id, campaignId)))[0]).toMatchObject({ audience: 2, sent: 2 });

    // The link in a message sent then still works, and the address stays out of later campaigns.
    const token = await recipientToken(env.SESSION_SECRET, { accountId, campaignId, recipientId: recipients[0]!.id });
    expect((await unsubscribe(testServices(), token)).changed).toBe(true);
    expect(await testDb().select({ email: suppressions.email }).from(suppressions).where(eq(suppressions.accountId, accountId))).toEqual([{ email: await tombstoneOf("p0@x.test") }]);
  });

  it("removes the account's bounces, settled soft-bounce scores and webhook events older than its days, and nobody else's", async () => {
    const { accountId } = await seedAccount();
    const other = await seedAccount();
    await setRetention(accountId, 7);
    await testDb().update(accounts).set({ softBounceResetDays: 10 }).where(eq(accounts.id, accountId));
    const db = testDb();
    const bounce = (account: string, daysAgo: number) => ({ id: newId("bnc"), accountId: account, email: `b${daysAgo}@x.test`, kind: "hard" as const, source: "api" as const, dedupeKey: newId("req"), occurredAt: NOW - daysAgo * DAY, createdAt: NOW - daysAgo * DAY });
    await db.insert(bounces).values([bounce(accountId, 8), bounce(accountId, 2), bounce(other.accountId, 8)]);
    const score = (account: string, email: string, daysAgo: number) => ({ accountId: account, email, score: 1, lastDay: Math.floor((NOW - daysAgo * DAY) / DAY) });
    // 8 days quiet: past the retention but not the reset days, so it still counts; 11: both.
    await db.insert(softBounceScores).values([score(accountId, "s8@x.test", 8), score(accountId, "s11@x.test", 11), score(other.accountId, "s11@x.test", 11)]);
    const event = (account: string, daysAgo: number) => ({ id: newId("msg"), accountId: account, type: "verification.completed", data: JSON.stringify(result(`e${daysAgo}@x.test`)), createdAt: NOW - daysAgo * DAY, fannedOutAt: NOW - daysAgo * DAY });
    await db.insert(webhookEvents).values([event(accountId, 8), event(accountId, 2), event(other.accountId, 8)]);

    await drain();
    expect((await db.select({ email: bounces.email }).from(bounces).where(inArray(bounces.accountId, [accountId, other.accountId]))).map((b) => b.email).sort()).toEqual(["b2@x.test", "b8@x.test"]);
    expect(await db.select({ email: bounces.email }).from(bounces).where(and(eq(bounces.accountId, accountId), eq(bounces.email, "b8@x.test")))).toEqual([]);
    expect((await db.select({ email: softBounceScores.email }).from(softBounceScores).where(eq(softBounceScores.accountId, accountId))).map((r) => r.email)).toEqual(["s8@x.test"]);
    expect(await db.select().from(softBounceScores).where(eq(softBounceScores.accountId, other.accountId))).toHaveLength(1);
    expect((await db.select({ data: webhookEvents.data }).from(webhookEvents).where(eq(webhookEvents.accountId, accountId))).map((e) => JSON.parse(e.data!).email)).toEqual(["e2@x.test"]);
    expect(await db.select().from(webhookEvents).where(eq(webhookEvents.accountId, other.accountId))).toHaveLength(1);
  });
});
