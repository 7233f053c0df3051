// Inside workerd, against the real sqld: idempotent result application, completion, greylist
// re-queues, and what a probe left unanswered.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Result, ResultChunk } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { accounts, batches, batchItems, creditLedger, jobEmails, jobs } from "../../db/schema.ts";
import { meter, resetMeter } from "../meter.ts";
import { result, seedAccount, seedJobWithBatch, testDb as db } from "../testing.ts";
import { applyResultChunk, MAX_DISPATCH_ATTEMPTS, MAX_GREYLIST_ROUNDS } from "./results.ts";

const chunk = (jobId: string, batchId: string, seq: number, results: Result[], final = false): ResultChunk => ({
  probe_id: "prb_1", batch_id: batchId, job_id: jobId, seq, final, results,
});

describe("applyResultChunk", () => {
  it("counts each address once, however often its chunk arrives, and completes the job", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "b@x.test", "c@x.test"]);
    const first = chunk(jobId, batchId, 0, [result("a@x.test", "deliverable"), result("b@x.test", "undeliverable")]);
    expect((await applyResultChunk(db(), first)).applied).toBe(2);
    const again = await applyResultChunk(db(), first);
    expect(again.applied).toBe(0);
    expect(again.job).toMatchObject({ processed: 2, status: "running", counts: { deliverable: 1, undeliverable: 1, risky: 0, unknown: 0 } });
    const last = await applyResultChunk(db(), chunk(jobId, batchId, 1, [result("C@x.test", "unknown")], true));
    expect(last).toMatchObject({ applied: 1, finished: true, batchDone: true, requeued: 0 });
    expect(last.job).toMatchObject({ processed: 3, status: "completed", counts: { unknown: 1 } });
    const [row] = await db().select().from(jobs).where(eq(jobs.id, jobId));
    expect(row!.finishedAt).not.toBeNull();
    const [b] = await db().select().from(batches).where(eq(batches.id, batchId));
    expect(b!.status).toBe("done");
  });

  it("ignores addresses outside the batch and chunks for another job's batch", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    const other = await seedJobWithBatch(accountId, ["z@x.test"]);
    expect((await applyResultChunk(db(), chunk(other.jobId, batchId, 0, [result("a@x.test")]))).applied).toBe(0);
    const stray = await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("intruder@x.test")]));
    expect(stray.applied).toBe(0);
    expect(stray.job).toMatchObject({ processed: 0 });
  });

  it("keeps the first answer when two probes answer the same address", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("a@x.test", "deliverable")]));
    const second = await applyResultChunk(db(), { ...chunk(jobId, batchId, 0, [result("a@x.test", "undeliverable")]), probe_id: "prb_2" });
    expect(second.applied).toBe(0);
    const [row] = await db().select().from(jobEmails).where(eq(jobEmails.jobId, jobId));
    expect(row!.verdict).toBe("deliverable");
  });

  it("re-queues greylisted and unanswered addresses at the final chunk, with the server's retry time", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "grey@x.test", "lost@x.test"]);
    const retryAt = Date.now() + 120_000;
    const grey = result("grey@x.test", "unknown", { reason: "greylisted", greylisted: true, retry_after: new Date(retryAt).toISOString() });
    const out = await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("a@x.test"), grey], true));
    expect(out).toMatchObject({ applied: 1, requeued: 2, batchDone: true, finished: false });
    const queued = await db().select().from(batches).where(and(eq(batches.jobId, jobId), eq(batches.status, "pending")));
    expect(queued).toHaveLength(1);
    expect(queued[0]!.round).toBe(1);
    expect(queued[0]!.notBefore).toBe(retryAt);
    const [queuedItems] = await db().select().from(batchItems).where(eq(batchItems.batchId, queued[0]!.id));
    expect((JSON.parse(queuedItems!.items) as string[][]).map((i) => i[0]).sort()).toEqual(["grey@x.test", "lost@x.test"]);
    expect(queued[0]!.size).toBe(2);
  });

  it("takes a greylisted answer as final in the last round", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["grey@x.test"], { round: MAX_GREYLIST_ROUNDS });
    const grey = result("grey@x.test", "unknown", { reason: "greylisted", greylisted: true });
    const out = await applyResultChunk(db(), chunk(jobId, batchId, 0, [grey], true));
    expect(out).toMatchObject({ applied: 1, requeued: 0, finished: true });
    expect(out.job).toMatchObject({ status: "completed", counts: { unknown: 1 } });
  });

  it("stores late answers for a canceled job without reopening it", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "b@x.test"]);
    await db().update(jobs).set({ status: "canceled" }).where(eq(jobs.id, jobId));
    const out = await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("a@x.test"), result("b@x.test")]));
    expect(out.job).toMatchObject({ status: "canceled", processed: 2 });
  });
});

describe("what a batch's tail waits on (issue 26)", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");

  it("hands the hub a probe's summary from a chunk with no results, and nothing when a probe says none", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "b@x.test"]);
    const waiting = { greylisted: { count: 2, next_try_at: "2030-01-01T00:00:12.000Z" } };
    resetMeter();
    const out = await applyResultChunk(db(), { ...chunk(jobId, batchId, 3, []), waiting }, now);
    expect(meter.dbRoundTrips).toBe(0); // the tail alone is not written
    expect(out.effects.hub).toBeUndefined();
    expect(out.effects.tail).toEqual({ jobId, batches: [{ batch_id: batchId, seq: 3, waiting }] });
    // An older probe's chunk says nothing of it.
    expect((await applyResultChunk(db(), chunk(jobId, batchId, 4, [result("a@x.test")]), now)).effects.tail).toBeUndefined();
  });

  it("ends the batch's word at its final chunk, and names the re-queued greylisted addresses with their not-before time, once", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "grey@x.test", "grey2@x.test"]);
    const retryAt = now + 120_000;
    const grey = (email: string) => result(email, "unknown", { reason: "greylisted", greylisted: true, retry_after: new Date(retryAt).toISOString() });
    const final = chunk(jobId, batchId, 1, [result("a@x.test"), grey("grey@x.test"), grey("grey2@x.test")], true);
    const out = await applyResultChunk(db(), final, now);
    const [queued] = await db().select().from(batches).where(and(eq(batches.jobId, jobId), eq(batches.status, "pending")));
    expect(out.effects.tail).toEqual({
      jobId,
      batches: [
        { batch_id: batchId, seq: 1, waiting: null },
        { batch_id: queued!.id, seq: -1, waiting: { greylisted: { count: 2, next_try_at: new Date(retryAt).toISOString() } } },
      ],
    });
    expect((await applyResultChunk(db(), final, now)).effects.tail).toBeUndefined();
  });

  it("names no wait for addresses re-queued to go at once", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "lost@x.test"]);
    const out = await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("a@x.test")], true), now);
    expect(out.requeued).toBe(1);
    expect(out.effects.tail).toEqual({ jobId, batches: [{ batch_id: batchId, seq: 0, waiting: null }] });
  });
});

describe("a batch asked too often", () => {
  it("answers what is still unanswered as unknown instead of re-queueing it again", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "lost@x.test"]);
    await db().update(batches).set({ attempts: MAX_DISPATCH_ATTEMPTS }).where(eq(batches.id, batchId));
    const out = await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("a@x.test")], true));
    expect(out).toMatchObject({ applied: 2, requeued: 0, finished: true });
    expect(out.job).toMatchObject({ status: "completed", counts: { deliverable: 1, unknown: 1 } });
    const [lost] = await db().select().from(jobEmails).where(and(eq(jobEmails.jobId, jobId), eq(jobEmails.normalized, "lost@x.test")));
    expect([lost!.verdict, lost!.reason]).toEqual(["unknown", "timeout"]);
  });

  it("carries the dispatch count into a re-queue", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "lost@x.test"]);
    await db().update(batches).set({ attempts: 3 }).where(eq(batches.id, batchId));
    await applyResultChunk(db(), chunk(jobId, batchId, 0, [result("a@x.test")], true));
    const [queued] = await db().select().from(batches).where(and(eq(batches.jobId, jobId), eq(batches.status, "pending")));
    expect(queued!.attempts).toBe(3);
  });
});

describe("the write of a chunk", () => {
  it("is one round trip, keeps each address's row and columns, and settles the job's credits once when it completes", async () => {
    const { accountId } = await seedAccount(10);
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "b@x.test", "c@x.test"]);
    const items: BatchItem[] = [["a@x.test", "A@x.test", 7, JSON.stringify(["Ada", "A@x.test"])], ["b@x.test", "b@x.test", 8, null], ["c@x.test", "c@x.test", 9, null]];
    await db().update(batchItems).set({ items: JSON.stringify(items) }).where(eq(batchItems.batchId, batchId));
    await db().update(jobs).set({ creditsReserved: 3 }).where(eq(jobs.id, jobId));
    await db().update(accounts).set({ creditBalance: 7 }).where(eq(accounts.id, accountId));
    resetMeter();
    const final = chunk(jobId, batchId, 0, [result("a@x.test"), result("b@x.test", "unknown"), result("c@x.test", "unknown")], true);
    expect(await applyResultChunk(db(), final)).toMatchObject({ applied: 3, finished: true, batchDone: true });
    expect(meter.dbRoundTrips).toBe(1);
    const [a] = await db().select().from(jobEmails).where(and(eq(jobEmails.jobId, jobId), eq(jobEmails.normalized, "a@x.test")));
    expect([a!.email, a!.rowIndex, a!.row, a!.batchId]).toEqual(["A@x.test", 7, JSON.stringify(["Ada", "A@x.test"]), batchId]);
    // Two unknowns of three reserved: two credits back, once, however often the final chunk comes.
    expect(await applyResultChunk(db(), final)).toMatchObject({ applied: 0, finished: false, batchDone: false });
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(9);
    const refunds = await db().select().from(creditLedger).where(eq(creditLedger.jobId, jobId));
    expect(refunds.map((r) => [r.kind, r.delta])).toEqual([["refund", 2]]);
  });
});
