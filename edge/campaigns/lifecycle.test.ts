// The campaign's transitions inside workerd, against the real sqld: each moves only from where it
// may, once, and says what follows (its hub hears of each move, with the counts it left). The webhook endpoints here are made "tomorrow": events are
// recorded for them, but no fan-out (another test's, on this shared database) ever delivers one.
import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { testServices } from "../testing.ts";
import { newId } from "../../core/ids.ts";
import { campaignRecipients, campaigns, jobs, sendBatches, webhookEndpoints, webhookEvents } from "../../db/schema.ts";
import { materializeCampaign } from "./audience.ts";
import { begin, cancel, complete, fail, pause, resume, start, type Transition } from "./lifecycle.ts";
import { seedCampaign, seedSendingCampaign, seedWorld, type World } from "./testing.ts";

const s = testServices();
const DAY_MS = 24 * 60 * 60_000;
const run = async (t: Transition) => t.read(await s.db.$client.batch(t.statements, "write"));
const row = async (id: string) => (await s.db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!;
const setSendAt = (id: string, sendAt: number | null) => s.db.update(campaigns).set({ sendAt }).where(eq(campaigns.id, id));
const jobStatus = (w: World, status: "running" | "completed") => s.db.update(jobs).set({ status }).where(eq(jobs.id, w.jobId));
/** The progress a move hands the campaign's hub: where it went, and when. */
const told = (id: string, status: string, at?: number, more: object = {}) =>
  expect.objectContaining({ id, status, ...(at === undefined ? {} : { updated_at: new Date(at).toISOString() }), ...more });

describe("the campaign's lifecycle", () => {
  it("starts a draft into verifying, scheduled or sending, as its job and send_at say", async () => {
    const w = await seedWorld(s, { jobStatus: "running" });
    const now = Date.now();
    const waiting = await seedCampaign(s, w);
    expect(await run(start(waiting, w.accountId, "{}", now))).toEqual({ moved: true, effects: { campaign: told(waiting, "verifying", now) } });
    expect(await row(waiting)).toMatchObject({ status: "verifying", snapshot: null, startedAt: null, updatedAt: now });

    await jobStatus(w, "completed");
    const later = await seedCampaign(s, w);
    await setSendAt(later, now + 60_000);
    expect(await run(start(later, w.accountId, "{}", now))).toEqual({ moved: true, effects: { campaign: told(later, "scheduled", now) } });
    expect((await row(later)).status).toBe("scheduled");

    const now2 = await seedCampaign(s, w);
    expect(await run(start(now2, "acc_someone_else", "{}", now))).toMatchObject({ moved: false });
    expect(await run(start(now2, w.accountId, '{"x":1}', now))).toEqual({ moved: true, effects: { campaign: told(now2, "sending", now), materialize: now2, sendDispatch: true } });
    expect(await row(now2)).toMatchObject({ status: "sending", snapshot: '{"x":1}', startedAt: now });
    expect(await run(start(now2, w.accountId, "{}", now))).toMatchObject({ moved: false }); // only a draft starts
  });

  it("begins a verifying campaign once its job completed, and a scheduled one once send_at came", async () => {
    const w = await seedWorld(s, { jobStatus: "running" });
    const now = Date.now();
    const id = await seedCampaign(s, w);
    await run(start(id, w.accountId, "{}", now));
    expect(await run(begin(id, "{}", now))).toMatchObject({ moved: false }); // the job still runs
    await jobStatus(w, "completed");
    await setSendAt(id, now + 60_000);
    // Its job is done but send_at is ahead: scheduled, no snapshot needed yet.
    expect(await run(begin(id, null, now))).toEqual({ moved: true, effects: { campaign: told(id, "scheduled", now) } });
    expect(await row(id)).toMatchObject({ status: "scheduled", snapshot: null });
    expect(await run(begin(id, "{}", now + 59_000))).toMatchObject({ moved: false });
    expect(await run(begin(id, null, now + 60_000))).toMatchObject({ moved: false }); // sending needs the snapshot
    expect(await run(begin(id, '{"s":1}', now + 60_000))).toEqual({ moved: true, effects: { campaign: told(id, "sending", now + 60_000), materialize: id, sendDispatch: true } });
    expect(await row(id)).toMatchObject({ status: "sending", snapshot: '{"s":1}', startedAt: now + 60_000 });
  });

  it("pauses with a reason, and resumes with the pending batches' clock moved on by the pause", async () => {
    const w = await seedWorld(s);
    const t0 = Date.now() - 10 * 60_000;
    const id = await seedSendingCampaign(s, w, { ratePerHour: 3_600, startedAt: t0 });
    const before = await s.db.select().from(sendBatches).where(eq(sendBatches.campaignId, id));
    expect(await run(pause(id, "relay_auth_failed: 535 5.7.8", t0 + 1_000))).toEqual({
      moved: true,
      effects: { campaign: told(id, "paused", t0 + 1_000, { status_reason: "relay_auth_failed: 535 5.7.8", counts: expect.objectContaining({ audience: 3, sent: 0 }) }) },
    });
    expect(await row(id)).toMatchObject({ status: "paused", statusReason: "relay_auth_failed: 535 5.7.8" });
    expect(await run(pause(id, "again", t0 + 2_000))).toMatchObject({ moved: false });
    // Paused for 5 minutes: every pending batch waits 5 minutes more.
    expect(await run(resume(id, null, t0 + 1_000 + 300_000))).toEqual({ moved: true, effects: { campaign: told(id, "sending", t0 + 301_000, { status_reason: null }), materialize: id, sendDispatch: true } });
    expect(await row(id)).toMatchObject({ status: "sending", statusReason: null, startedAt: t0 });
    const after = await s.db.select().from(sendBatches).where(eq(sendBatches.campaignId, id));
    expect(after.map((b) => b.notBefore - before.find((x) => x.id === b.id)!.notBefore)).toEqual(after.map(() => 300_000));
    expect(await run(resume(id, null, Date.now()))).toMatchObject({ moved: false }); // only a paused one
  });

  it("resumes a campaign paused before it began to where a start would send it", async () => {
    const w = await seedWorld(s, { jobStatus: "running" });
    const now = Date.now();
    const id = await seedCampaign(s, w);
    await run(start(id, w.accountId, "{}", now));
    await run(pause(id, "paused by key_x", now));
    expect(await run(resume(id, '{"s":2}', now + 1))).toEqual({ moved: true, effects: { campaign: told(id, "verifying", now + 1) } });
    expect((await row(id)).status).toBe("verifying");
    await run(pause(id, "paused by key_x", now + 2));
    await jobStatus(w, "completed");
    expect(await run(resume(id, '{"s":2}', now + 3))).toEqual({ moved: true, effects: { campaign: told(id, "sending", now + 3), materialize: id, sendDispatch: true } });
    expect(await row(id)).toMatchObject({ status: "sending", snapshot: '{"s":2}', startedAt: now + 3 });
  });

  it("cancels: queued recipients and pending batches too; what a probe claimed keeps its status", async () => {
    const w = await seedWorld(s);
    const id = await seedSendingCampaign(s, w);
    const [first] = await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, id)).orderBy(asc(campaignRecipients.id));
    await s.db.update(campaignRecipients).set({ status: "sending" }).where(eq(campaignRecipients.id, first!.id));
    expect(await run(cancel(id, "acc_someone_else", Date.now()))).toMatchObject({ moved: false });
    expect(await run(cancel(id, w.accountId, Date.now()))).toEqual({ moved: true, effects: { campaign: told(id, "canceled") } });
    expect(await run(cancel(id, w.accountId, Date.now()))).toMatchObject({ moved: false });
    const recipients = await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, id)).orderBy(asc(campaignRecipients.id));
    expect(recipients.map((r) => r.status)).toEqual(["sending", "canceled", "canceled"]);
    expect((await s.db.select().from(sendBatches).where(eq(sendBatches.campaignId, id))).map((b) => b.status)).toEqual(["canceled"]);
    expect((await row(id)).status).toBe("canceled");
    // An ended campaign materialises nothing more.
    expect(await materializeCampaign(s, id)).toEqual({});
  });

  it("fails with why, from any open status but a draft", async () => {
    const w = await seedWorld(s);
    const draft = await seedCampaign(s, w);
    expect(await run(fail(draft, "job gone", Date.now()))).toMatchObject({ moved: false });
    const id = await seedSendingCampaign(s, w);
    expect(await run(fail(id, `job ${w.jobId} was deleted`, Date.now()))).toEqual({ moved: true, effects: { campaign: told(id, "failed", undefined, { status_reason: `job ${w.jobId} was deleted` }) } });
    expect(await row(id)).toMatchObject({ status: "failed", statusReason: `job ${w.jobId} was deleted` });
    expect(await s.db.select().from(campaignRecipients).where(and(eq(campaignRecipients.campaignId, id), eq(campaignRecipients.status, "queued")))).toEqual([]);
  });

  it("completes once nothing is left, writing campaign.completed once, only for a subscribed account", async () => {
    const w = await seedWorld(s);
    await s.db.insert(webhookEndpoints).values({
      id: newId("whk"), accountId: w.accountId, kind: "endpoint", url: "http://127.0.0.1:9/never", events: JSON.stringify(["campaign.completed"]), secret: "v1.never-opened", createdAt: Date.now() + DAY_MS,
    });
    const id = await seedSendingCampaign(s, w);
    const now = Date.now();
    expect(await run(complete(id, now))).toEqual({ moved: false, effects: { webhooks: false } }); // recipients still queued
    await s.db.update(campaignRecipients).set({ status: "sent" }).where(eq(campaignRecipients.campaignId, id));
    expect(await run(complete(id, now))).toEqual({ moved: false, effects: { webhooks: false } }); // its batch is still pending
    await s.db.update(sendBatches).set({ status: "done" }).where(eq(sendBatches.campaignId, id));
    expect(await run(complete(id, now))).toEqual({ moved: true, effects: { campaign: told(id, "completed", now), webhooks: true } });
    expect(await run(complete(id, now + 1))).toEqual({ moved: false, effects: { webhooks: false } });
    expect(await row(id)).toMatchObject({ status: "completed", finishedAt: now });
    const events = await s.db.select().from(webhookEvents).where(eq(webhookEvents.accountId, w.accountId));
    expect(events.map((e) => [e.type, e.subjectId, e.data])).toEqual([["campaign.completed", id, null]]);

    // An account with no endpoint for it gets no outbox row.
    const quiet = await seedWorld(s);
    const other = await seedSendingCampaign(s, quiet);
    await s.db.update(campaignRecipients).set({ status: "sent" }).where(eq(campaignRecipients.campaignId, other));
    await s.db.update(sendBatches).set({ status: "done" }).where(eq(sendBatches.campaignId, other));
    expect(await run(complete(other, now))).toEqual({ moved: true, effects: { campaign: told(other, "completed", now), webhooks: false } });
  });
});
