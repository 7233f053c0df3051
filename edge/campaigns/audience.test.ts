// A campaign's audience inside workerd, against the real sqld: only deliverable addresses (and
// risky ones when asked) become recipients, suppressed ones never, every job row is counted once,
// and the work goes in steps that each write once.
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { testServices } from "../testing.ts";
import { campaignRecipients, campaigns, sendBatches } from "../../db/schema.ts";
import { materializeCampaign, materializeStep } from "./audience.ts";
import { JOB_ROWS, seedCampaign, seedWorld } from "./testing.ts";

const s = testServices();
const small = { ...s, config: { ...s.config, MXRAY_SEND_BATCH_SIZE: 2 } };
const row = async (id: string) => (await s.db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!;
const recipients = (id: string) => s.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, id)).orderBy(asc(campaignRecipients.id));
const batchesOf = (id: string) => s.db.select().from(sendBatches).where(eq(sendBatches.campaignId, id)).orderBy(asc(sendBatches.notBefore));

describe("the audience", () => {
  it("takes deliverable addresses that are not suppressed, and counts every other row once", async () => {
    const w = await seedWorld(s);
    const id = await seedCampaign(s, w, { status: "sending" });
    expect(await materializeCampaign(small, id)).toEqual({ sendDispatch: true, campaign: expect.objectContaining({ id, counts: expect.objectContaining({ audience: 3, suppressed: 1, skipped_unverified: 5 }) }) });
    const got = await recipients(id);
    expect(got.map((r) => [r.email, r.normalized, r.rowIndex, r.status])).toEqual([
      ["Ada@X.test", "ada@x.test", 0, "queued"],
      ["bob@x.test", "bob@x.test", 1, "queued"],
      ["fay@x.test", "fay@x.test", 11, "queued"],
    ]);
    const c = await row(id);
    // sue is suppressed; cay (risky, not asked for), dan, eve, the bad syntax and rex (risky) are skipped.
    expect([c.audience, c.suppressed, c.skippedUnverified, c.materialized, c.materializedThrough]).toEqual([3, 1, 5, true, 11]);
    expect(c.audience + c.suppressed + c.skippedUnverified).toBe(JOB_ROWS.length);
    // Groups of MXRAY_SEND_BATCH_SIZE in row order, one send batch each.
    const made = await batchesOf(id);
    expect(made.map((b) => [b.status, b.size])).toEqual([["pending", 2], ["pending", 1]]);
    expect(got.map((r) => r.batchId)).toEqual([made[0]!.id, made[0]!.id, made[1]!.id]);
    // Done is done: another run changes nothing.
    expect(await materializeCampaign(small, id)).toEqual({});
    expect(await recipients(id)).toHaveLength(3);
  });

  it("takes risky addresses too with include_risky, still never a suppressed one", async () => {
    const w = await seedWorld(s);
    const id = await seedCampaign(s, w, { status: "sending", includeRisky: true });
    await materializeCampaign(small, id);
    expect((await recipients(id)).map((r) => r.normalized)).toEqual(["ada@x.test", "bob@x.test", "cay@x.test", "fay@x.test"]);
    const c = await row(id);
    expect([c.audience, c.suppressed, c.skippedUnverified]).toEqual([4, 2, 3]);
  });

  it("goes in steps, each one write from where the last ended, and spaces batches by rate_per_hour", async () => {
    const w = await seedWorld(s);
    const startedAt = Date.now() - 60_000;
    // 3,600 an hour: one message a second, so each batch waits a second per message ahead of it.
    const id = await seedCampaign(s, w, { status: "sending", includeRisky: true, ratePerHour: 3_600, startedAt });
    const first = await materializeStep(small, id, Date.now(), 2);
    expect(first).toEqual({ done: false, recipients: 2, effects: { sendDispatch: true, campaign: expect.objectContaining({ id, status: "sending", counts: expect.objectContaining({ audience: 2 }) }) } });
    expect(await row(id)).toMatchObject({ materializedThrough: 1, materialized: false, audience: 2, suppressed: 0, skippedUnverified: 0 });
    const steps = [first];
    while (!steps.at(-1)!.done) steps.push(await materializeStep(small, id, Date.now(), 2));
    // 9 rows, 2 at a time: 5 steps; the last found fewer than it asked for.
    expect(steps.map((st) => st.recipients)).toEqual([2, 1, 0, 0, 1]);
    const c = await row(id);
    expect([c.audience, c.suppressed, c.skippedUnverified, c.materialized]).toEqual([4, 2, 3, true]);
    // ada, bob | cay (step 2) | fay (step 5): 0, 2 and 3 messages ahead.
    expect((await batchesOf(id)).map((b) => [b.size, b.notBefore - startedAt])).toEqual([[2, 0], [1, 2_000], [1, 3_000]]);
  });

  it("writes nothing for a campaign that is not sending, or a step another runner already wrote", async () => {
    const w = await seedWorld(s);
    const draft = await seedCampaign(s, w);
    expect(await materializeStep(small, draft)).toEqual({ done: true, recipients: 0, effects: {} });
    expect(await recipients(draft)).toEqual([]);
    const id = await seedCampaign(s, w, { status: "sending" });
    // Two runners at once: each step is written once, whoever wins it.
    await Promise.all([materializeCampaign(small, id), materializeCampaign(small, id), materializeCampaign(small, id)]);
    expect(await recipients(id)).toHaveLength(3);
    expect(await row(id)).toMatchObject({ audience: 3, suppressed: 1, skippedUnverified: 5 });
  });

  it("completes at once when nothing is left to send", async () => {
    const w = await seedWorld(s);
    const id = await seedCampaign(s, w, { status: "sending" });
    // Every sendable address suppressed since.
    await s.db.$client.execute({ sql: "INSERT INTO suppressions (account_id, email, reason, source) VALUES (?, 'ada@x.test', 'manual', 't'), (?, 'bob@x.test', 'manual', 't'), (?, 'fay@x.test', 'manual', 't')", args: [w.accountId, w.accountId, w.accountId] });
    // The hub hears of the last step: the campaign completed with it.
    expect(await materializeCampaign(small, id)).toEqual({ campaign: expect.objectContaining({ id, status: "completed", counts: expect.objectContaining({ suppressed: 4 }) }) });
    expect(await row(id)).toMatchObject({ status: "completed", audience: 0, suppressed: 4, skippedUnverified: 5 });
    expect(await batchesOf(id)).toEqual([]);
  });
});
