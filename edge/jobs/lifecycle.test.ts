// The job's transitions inside workerd, against the real sqld: each moves only from where it may,
// once, and a move that ends a job writes its webhook event (for a subscribed account only) and
// settles its credits in the same write. The endpoints here are made "tomorrow": the events are
// recorded for them, but no fan-out (another test's, on this shared database) ever delivers one.
// (No value is imported from core/contracts.ts before testing.ts loads the Worker: its zod schemas
// would be built before @hono/zod-openapi extends zod; see core/job.ts.)
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import type { WebhookEventType } from "../../core/enums.ts";
import { accounts, batches, creditLedger, jobs, webhookEndpoints, webhookEvents } from "../../db/schema.ts";
import { reserveStatements } from "../credits/credits.ts";
import { seedAccount, seedJobWithBatch, testDb as db } from "../testing.ts";
import { cancel, complete, create, fail, queue, start, type Transition } from "./lifecycle.ts";

const DAY_MS = 24 * 60 * 60_000;

async function subscribed(events: WebhookEventType[], opts: { enabled?: boolean } = {}) {
  const { accountId } = await seedAccount(10);
  await db().insert(webhookEndpoints).values({
    id: newId("whk"), accountId, kind: "endpoint", url: "http://127.0.0.1:9/never", events: JSON.stringify(events), secret: "v1.never-opened", enabled: opts.enabled ?? true, createdAt: Date.now() + DAY_MS,
  });
  return accountId;
}

const run = async (t: Transition) => t.read(await db().$client.batch(t.statements, "write"));
const eventsOf = async (accountId: string) => db().select().from(webhookEvents).where(eq(webhookEvents.accountId, accountId));
const jobRow = async (jobId: string) => (await db().select().from(jobs).where(eq(jobs.id, jobId)))[0]!;
const balance = async (accountId: string) => (await db().select().from(accounts).where(eq(accounts.id, accountId)))[0]!.creditBalance;

describe("the job's lifecycle", () => {
  it("completes a job once every address is answered, with its event and its refund, once", async () => {
    const accountId = await subscribed(["job.completed"]);
    const { jobId } = await seedJobWithBatch(accountId, ["a@x.test", "b@x.test"]);
    const now = Date.now();
    expect(await run(complete(jobId, now))).toEqual({ moved: false, effects: { webhooks: false } }); // nothing answered yet
    await db().update(jobs).set({ processed: 2, deliverable: 1, unknown: 1 }).where(eq(jobs.id, jobId));
    expect(await run(complete(jobId, now))).toEqual({ moved: true, effects: { webhooks: true } });
    expect(await run(complete(jobId, now + 1))).toEqual({ moved: false, effects: { webhooks: false } });
    expect(await jobRow(jobId)).toMatchObject({ status: "completed", finishedAt: now });
    const events = await eventsOf(accountId);
    expect(events.map((e) => [e.type, e.subjectId, e.createdAt, e.data, e.fannedOutAt])).toEqual([["job.completed", jobId, now, null, null]]);
    expect(events[0]!.id).toMatch(/^msg_[0-9a-z]{20}$/);
    // Two reserved (seedJobWithBatch), one used: the unknown comes back, once.
    expect((await db().select().from(creditLedger).where(eq(creditLedger.jobId, jobId))).map((e) => [e.kind, e.delta])).toEqual([["refund", 1]]);
    expect(await balance(accountId)).toBe(11);
  });

  it("cancels an unfinished job and its batches; the event goes only to a type the account subscribed to", async () => {
    const accountId = await subscribed(["job.failed"]);
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    expect(await run(cancel(jobId, "acc_someone_else", Date.now()))).toMatchObject({ moved: false });
    expect(await run(cancel(jobId, accountId, Date.now()))).toEqual({ moved: true, effects: { webhooks: false } });
    expect(await run(cancel(jobId, accountId, Date.now()))).toMatchObject({ moved: false });
    expect((await jobRow(jobId)).status).toBe("canceled");
    expect((await db().select().from(batches).where(eq(batches.id, batchId)))[0]!.status).toBe("canceled");
    expect(await eventsOf(accountId)).toEqual([]);
    expect(await balance(accountId)).toBe(11); // its one reserved credit, unused
  });

  it("fails a job only from the statuses it is given, once, and tells no disabled endpoint", async () => {
    const accountId = await subscribed(["job.failed"]);
    const off = await subscribed(["job.failed"], { enabled: false });
    const { jobId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    expect(await run(fail(jobId, Date.now(), ["ingesting"]))).toMatchObject({ moved: false });
    expect(await run(fail(jobId, Date.now()))).toEqual({ moved: true, effects: { webhooks: true } });
    expect(await run(fail(jobId, Date.now()))).toEqual({ moved: false, effects: { webhooks: false } });
    expect((await eventsOf(accountId)).map((e) => [e.type, e.subjectId])).toEqual([["job.failed", jobId]]);
    const other = await seedJobWithBatch(off, ["b@x.test"]);
    expect(await run(fail(other.jobId, Date.now()))).toEqual({ moved: true, effects: { webhooks: false } });
    expect(await eventsOf(off)).toEqual([]);
  });

  it("queues an ingested job only when its credits were reserved just before, and completes one answered at ingest", async () => {
    const accountId = await subscribed(["job.completed"]);
    const ingested = { total: 3, unique: 2, answered: 0, header: ["email"], column: "email", rejects: { no_address: 1, too_long: 0, invalid_person: 0 }, files: null };
    const now = Date.now();
    const ingest = async (unique: number, answered: number) => {
      const jobId = newId("job");
      await db().$client.execute(create({ id: jobId, accountId, name: "list", kind: "verify" }));
      const queuing = queue(jobId, { ...ingested, unique, answered }, now);
      const results = await db().$client.batch([...reserveStatements(accountId, "usr_test", jobId, unique, now), ...queuing.statements], "write");
      return { jobId, ...queuing.read(results.slice(2)) };
    };
    const queued = await ingest(2, 0);
    expect(queued).toMatchObject({ moved: true, effects: { dispatch: true, webhooks: false } });
    expect(await jobRow(queued.jobId)).toMatchObject({ status: "queued", total: 3, unique: 2, processed: 0, creditsReserved: 2, columns: '["email"]', emailColumn: "email", finishedAt: null });
    const unpaid = await ingest(50, 0); // 8 credits left
    expect(unpaid).toMatchObject({ moved: false, effects: { dispatch: false, webhooks: false } });
    expect((await jobRow(unpaid.jobId)).status).toBe("ingesting");
    const invalid = await ingest(2, 2); // every address answered at ingest (bad syntax)
    expect(invalid).toMatchObject({ moved: true, effects: { dispatch: false, webhooks: true } });
    expect(await jobRow(invalid.jobId)).toMatchObject({ status: "completed", processed: 2, undeliverable: 2, finishedAt: now });
    expect((await eventsOf(accountId)).map((e) => [e.type, e.subjectId])).toEqual([["job.completed", invalid.jobId]]);
  });

  it("starts queued jobs only", async () => {
    const { accountId } = await seedAccount(10);
    const queued = await seedJobWithBatch(accountId, ["a@x.test"], { status: "queued" });
    const canceled = await seedJobWithBatch(accountId, ["b@x.test"], { status: "queued" });
    await run(cancel(canceled.jobId, accountId, Date.now()));
    expect(await run(start([queued.jobId, canceled.jobId]))).toEqual({ moved: true, effects: {} });
    expect([(await jobRow(queued.jobId)).status, (await jobRow(canceled.jobId)).status]).toEqual(["running", "canceled"]);
    expect(await run(start([queued.jobId]))).toMatchObject({ moved: false });
  });
});
