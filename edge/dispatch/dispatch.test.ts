// Dispatch and the sweeper inside workerd, on a database of their own (they act on every probe
// and batch), with a recording dispatcher standing in for QStash.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { BatchSchema } from "../../core/contracts.ts";
import { findCandidates } from "../../core/finder/patterns.ts";
import { accounts, batches, batchItems, domainPatterns, jobEmails, jobs, probes, stripeSubscriptions } from "../../db/schema.ts";
import { deduplicationId, type BatchDispatchRequest, type Dispatcher } from "../adapters/dispatch.ts";
import { buildServices, type Services } from "../context.ts";
import { dispatchPending } from "./dispatch.ts";
import { STALLED_INGEST_MS, sweep } from "./sweep.ts";
import { MAX_DISPATCH_ATTEMPTS } from "../jobs/results.ts";

let sent: BatchDispatchRequest[];
let s: Services;

beforeEach(async () => {
  sent = [];
  const recording: Dispatcher = { kind: "direct", dispatch: async (req) => ("batch" in req && sent.push(req), { ok: true, messageId: deduplicationId(req) }) };
  s = { ...buildServices({ ...env, TURSO_DATABASE_URL: env.FLEET_TEST_DATABASE_URL! }, { waitUntil: () => {} }, "http://edge.test"), dispatcher: recording };
  await s.db.delete(accounts);
  await s.db.delete(probes);
});

async function seed(batchCount: number, opts: { size?: number; attempts?: number; notBefore?: number; accountId?: string; createdAt?: number } = {}) {
  const accountId = opts.accountId ?? newId("acc");
  const jobId = newId("job");
  const size = opts.size ?? 2;
  await s.db.insert(accounts).values({ id: accountId, name: "a", kind: "personal" }).onConflictDoNothing();
  await s.db.insert(jobs).values({ id: jobId, accountId, name: "j", status: "queued", total: batchCount * size, unique: batchCount * size });
  const ids: string[] = [];
  for (let b = 0; b < batchCount; b++) {
    const items: BatchItem[] = Array.from({ length: size }, (_, i) => [`u${b}_${i}@x.test`, `u${b}_${i}@x.test`, b * size + i, null]);
    const id = newId("bat");
    ids.push(id);
    await s.db.insert(batches).values({ id, jobId, accountId, status: "pending", size, attempts: opts.attempts ?? 0, notBefore: opts.notBefore ?? 0, createdAt: (opts.createdAt ?? Date.now()) + b });
    await s.db.insert(batchItems).values({ batchId: id, items: JSON.stringify(items) });
  }
  return { jobId, ids, accountId };
}

/** How many of the batches sent so far belong to each of `ids`' jobs, by name. */
const sentOf = (groups: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(groups).map(([name, ids]) => [name, sent.filter((r) => ids.includes(r.batch.batch_id)).length]));

const probe = (id: string, capacity: number, heartbeatAgoMs = 0) =>
  s.db.insert(probes).values({ id, url: `http://${id}.test`, capacity, status: "active", lastHeartbeatAt: Date.now() - heartbeatAgoMs });

describe("dispatchPending", () => {
  it("fills live probes up to their capacity, claims each batch once, and starts the job", async () => {
    const { jobId, ids } = await seed(3);
    await probe("prb_a", 2);
    await probe("prb_silent", 4, 10 * 60_000);
    expect(await dispatchPending(s)).toBe(2);
    expect(sent.map((r) => [r.probeId, r.batch.batch_id])).toEqual([["prb_a", ids[0]], ["prb_a", ids[1]]]);
    expect(sent[0]!.batch.emails).toEqual(["u0_0@x.test", "u0_1@x.test"]);
    const rows = await s.db.select().from(batches).where(eq(batches.jobId, jobId));
    expect(rows.filter((b) => b.status === "dispatched").every((b) => b.attempts === 1 && b.leaseExpiresAt! > Date.now())).toBe(true);
    expect(rows.filter((b) => b.status === "pending")).toHaveLength(1);
    const [job] = await s.db.select().from(jobs).where(eq(jobs.id, jobId));
    expect(job!.status).toBe("running");
    expect(await dispatchPending(s)).toBe(0); // no room left, nothing sent twice
  });

  it("sends a find batch's people with what their domains are known to use, read now (issue 14)", async () => {
    const { jobId, ids } = await seed(1, { size: 1 });
    await s.db.update(jobs).set({ kind: "find" }).where(eq(jobs.id, jobId));
    const [known, fresh] = [`known-${crypto.randomUUID().slice(0, 8)}.test`, `fresh-${crypto.randomUUID().slice(0, 8)}.test`];
    const person = (first: string, last: string, domain: string): BatchItem => [`${first}||${last}|${domain}`.toLowerCase(), `${first} ${last} <${domain}>`, 0, null, { first, middle: "", last, domain }];
    const items = [person("Ada", "Lovelace", known), person("Alan", "Turing", known), person("Grace", "Hopper", fresh)];
    await s.db.update(batchItems).set({ items: JSON.stringify(items) }).where(eq(batchItems.batchId, ids[0]!));
    await s.db.insert(domainPatterns).values([{ domain: known, pattern: "flast", count: 3, updatedAt: 1 }]);
    await probe("prb_a", 1);
    expect(await dispatchPending(s)).toBe(1);
    const batch = BatchSchema.parse(sent[0]!.batch);
    expect(batch.emails).toEqual([]);
    expect(batch.people).toEqual(items.map(([key, , , , p]) => ({ key, person: p })));
    // Only this batch's domains, each with its counts (none yet for a fresh one).
    expect(batch.known).toEqual({ [known]: [{ pattern: "flast", count: 3 }], [fresh]: [] });
    // What the probe makes of it (probe/server.ts): the learned pattern first.
    expect(findCandidates(items[0]![4]!, known, batch.known![known])[0]).toMatchObject({ email: `alovelace@${known}`, pattern: "flast" });
  });

  it("leaves the batches of a job still ingesting", async () => {
    const { jobId } = await seed(1);
    await s.db.update(jobs).set({ status: "ingesting" }).where(eq(jobs.id, jobId));
    await probe("prb_a", 4);
    expect(await dispatchPending(s)).toBe(0);
  });

  it("waits for a greylisting re-queue's time and sends nothing without a live probe", async () => {
    await seed(1, { notBefore: Date.now() + 60_000 });
    await probe("prb_a", 4);
    expect(await dispatchPending(s)).toBe(0);
    await s.db.delete(probes);
    await seed(1);
    expect(await dispatchPending(s)).toBe(0);
  });
});

describe("dispatchPending shares probes fairly across accounts", () => {
  const T0 = Date.now() - 60_000;

  it("sends a small list's batches in the first round beside a big older one, which takes the other slots", async () => {
    const big = await seed(50, { createdAt: T0 });
    const small = await seed(2, { createdAt: T0 + 1_000 });
    await probe("prb_a", 4);
    expect(await dispatchPending(s)).toBe(4);
    expect(sentOf({ big: big.ids, small: small.ids })).toEqual({ big: 2, small: 2 });
    // Within an account, oldest first.
    expect(sent.filter((r) => big.ids.includes(r.batch.batch_id)).map((r) => r.batch.batch_id)).toEqual(big.ids.slice(0, 2));
  });

  it("counts what an account already has in flight: a newcomer gets the next free slot", async () => {
    const big = await seed(50, { createdAt: T0 });
    await probe("prb_a", 4);
    expect(await dispatchPending(s)).toBe(4);
    const small = await seed(2, { createdAt: T0 + 1_000 });
    // One of the big job's batches finishes: the freed slot goes to the small list, not the big one.
    await s.db.update(batches).set({ status: "done" }).where(eq(batches.id, big.ids[0]!));
    expect(await dispatchPending(s)).toBe(1);
    expect(sent.at(-1)!.batch.batch_id).toBe(small.ids[0]);
  });

  it("sends a newcomer's first batch to a full probe's reserve slot, one per probe, while the big job holds every slot", async () => {
    const big = await seed(50, { createdAt: T0 });
    await probe("prb_a", 4);
    expect(await dispatchPending(s)).toBe(4);
    const small = await seed(2, { createdAt: T0 + 1_000 });
    const other = await seed(1, { createdAt: T0 + 2_000 });
    expect(await dispatchPending(s)).toBe(1);
    expect(sent.at(-1)!.batch).toMatchObject({ batch_id: small.ids[0], reserve: true });
    expect(sent.slice(0, 4).every((r) => r.batch.reserve === undefined)).toBe(true);
    // The reserve slot is taken: the next newcomer and the small list's second batch wait.
    expect(await dispatchPending(s)).toBe(0);
    // A big batch ends: the probe is back at capacity, so its reserve slot is free for the next
    // newcomer; the small list, which has a batch out, waits for a normal slot.
    await s.db.update(batches).set({ status: "done" }).where(eq(batches.id, big.ids[0]!));
    expect(await dispatchPending(s)).toBe(1);
    expect(sent.at(-1)!.batch).toMatchObject({ batch_id: other.ids[0], reserve: true });
    await s.db.update(batches).set({ status: "done" }).where(eq(batches.id, big.ids[1]!));
    expect(await dispatchPending(s)).toBe(0); // at capacity again, and no newcomer left
  });

  it("takes no more of one account's batches than the free slots, and leaves nobody starved", async () => {
    const big = await seed(50, { createdAt: T0 });
    await probe("prb_a", 4);
    await probe("prb_b", 4);
    expect(await dispatchPending(s)).toBe(8);
    expect(sent.map((r) => r.batch.batch_id)).toEqual(big.ids.slice(0, 8));
  });

  it("gives an account on the Growth plan twice the share", async () => {
    const growth = await seed(10, { createdAt: T0 + 1_000 });
    await s.db.insert(stripeSubscriptions).values({ id: "sub_growth", accountId: growth.accountId, plan: "plan_growth", status: "active" });
    const starter = await seed(10, { createdAt: T0 });
    await s.db.insert(stripeSubscriptions).values({ id: "sub_starter", accountId: starter.accountId, plan: "plan_starter", status: "active" });
    await probe("prb_a", 6);
    expect(await dispatchPending(s)).toBe(6);
    expect(sentOf({ growth: growth.ids, starter: starter.ids })).toEqual({ growth: 4, starter: 2 });
  });

  it("keeps the old oldest-first order under MXRAY_DISPATCH_ORDER=fifo", async () => {
    const big = await seed(50, { createdAt: T0 });
    await seed(2, { createdAt: T0 + 1_000 });
    await probe("prb_a", 4);
    s = { ...s, config: { ...s.config, MXRAY_DISPATCH_ORDER: "fifo" } };
    expect(await dispatchPending(s)).toBe(4);
    expect(sent.map((r) => r.batch.batch_id)).toEqual(big.ids.slice(0, 4));
  });
});

describe("sweep", () => {
  it("marks silent probes dead and gives their batches to another probe", async () => {
    const { ids } = await seed(1);
    await probe("prb_old", 1);
    await dispatchPending(s);
    await s.db.update(probes).set({ lastHeartbeatAt: Date.now() - 10 * 60_000 }).where(eq(probes.id, "prb_old"));
    await probe("prb_new", 1);
    const outcome = await sweep(s);
    expect(outcome).toMatchObject({ deadProbes: 1, reclaimed: 1, dispatched: 1 });
    expect(sent.map((r) => r.probeId)).toEqual(["prb_old", "prb_new"]);
    const [b] = await s.db.select().from(batches).where(eq(batches.id, ids[0]!));
    expect([b!.status, b!.probeId, b!.attempts]).toEqual(["dispatched", "prb_new", 2]);
  });

  it("takes back a batch whose lease ran out, preferring another probe", async () => {
    const { ids } = await seed(1);
    await probe("prb_a", 1);
    await probe("prb_b", 1);
    await dispatchPending(s);
    const first = sent[0]!.probeId;
    await s.db.update(batches).set({ leaseExpiresAt: Date.now() - 1 }).where(eq(batches.id, ids[0]!));
    expect(await sweep(s)).toMatchObject({ reclaimed: 1, dispatched: 1 });
    expect(sent[1]!.probeId).not.toBe(first);
  });

  it("answers unknown for what no probe could finish after the last attempt, and completes the job", async () => {
    const { jobId, ids } = await seed(1, { attempts: MAX_DISPATCH_ATTEMPTS });
    await s.db.update(jobs).set({ creditsReserved: 2 }).where(eq(jobs.id, jobId));
    await s.db.update(batches).set({ status: "dispatched", probeId: "prb_gone", leaseExpiresAt: Date.now() - 1 }).where(eq(batches.id, ids[0]!));
    expect(await sweep(s)).toMatchObject({ reclaimed: 0, givenUp: 2 }); // closed, not put back
    const rows = await s.db.select().from(jobEmails).where(eq(jobEmails.jobId, jobId));
    expect(rows.map((r) => [r.verdict, r.reason])).toEqual([["unknown", "timeout"], ["unknown", "timeout"]]);
    const [job] = await s.db.select().from(jobs).where(eq(jobs.id, jobId));
    expect([job!.status, job!.processed, job!.unknown]).toEqual(["completed", 2, 2]);
    const [acc] = await s.db.select().from(accounts).where(eq(accounts.id, job!.accountId));
    expect(acc!.creditBalance).toBe(2); // both reserved credits came back: nothing was verified
  });
});

describe("sweep of stalled uploads", () => {
  it("fails a job left ingesting (its request died) and cancels its batches; a fresh upload is left alone", async () => {
    const old = await seed(1);
    const fresh = await seed(1);
    await s.db.update(jobs).set({ status: "ingesting", createdAt: Date.now() - STALLED_INGEST_MS - 1 }).where(eq(jobs.id, old.jobId));
    await s.db.update(jobs).set({ status: "ingesting" }).where(eq(jobs.id, fresh.jobId));
    expect(await sweep(s)).toMatchObject({ stalledJobs: 1 });
    const [failed] = await s.db.select().from(jobs).where(eq(jobs.id, old.jobId));
    expect([failed!.status, failed!.finishedAt !== null]).toEqual(["failed", true]);
    const [b] = await s.db.select().from(batches).where(eq(batches.jobId, old.jobId));
    expect(b!.status).toBe("canceled");
    const [still] = await s.db.select().from(jobs).where(eq(jobs.id, fresh.jobId));
    expect(still!.status).toBe("ingesting");
  });
});
