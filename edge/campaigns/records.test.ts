// Claims and records inside workerd, against the real sqld: each recipient is claimed once however
// often its batch is delivered or re-dispatched, a repeated chunk counts nothing twice, a lost
// answer is reported unknown_outcome and never sent again, and a campaign completes once; the
// campaign's hub hears of each write that moved something, with its counts. Each test
// works on batches of its own (by id), so the shared database's other tests never interfere.
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { testServices } from "../testing.ts";
import type { SendChunk, SendClaim, SendClaimAnswer, SendOutcome } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { campaignRecipients, campaigns, sendBatches, suppressions, webhookEndpoints, webhookEvents } from "../../db/schema.ts";
import { claimSends } from "./claims.ts";
import { cancel, pause } from "./lifecycle.ts";
import { applySendChunk, closeSendBatch, MAX_SEND_ATTEMPTS, RELEASED_BATCH_DELAY_MS } from "./records.ts";
import { seedSendingCampaign, seedWorld } from "./testing.ts";

const s = testServices();
const small = { ...s, config: { ...s.config, MXRAY_SEND_BATCH_SIZE: 2 } };
const DAY_MS = 24 * 60 * 60_000;
const row = async (id: string) => (await s.db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!;
const batchRow = async (id: string) => (await s.db.select().from(sendBatches).where(eq(sendBatches.id, id)))[0]!;
const statuses = async (campaignId: string) =>
  Object.fromEntries((await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId)).orderBy(asc(campaignRecipients.id))).map((r) => [r.normalized, r.status]));
const counts = async (id: string) => {
  const c = await row(id);
  return { sent: c.sent, failed: c.failed, unknown_outcome: c.unknownOutcome, suppressed: c.suppressed };
};

/** A sending campaign (batches of 2: ada+bob, fay) whose first batch is out to prb_a at attempt 1. */
async function dispatched(opts: { subscribed?: boolean } = {}) {
  const w = await seedWorld(s);
  if (opts.subscribed) {
    await s.db.insert(webhookEndpoints).values({
      id: newId("whk"), accountId: w.accountId, kind: "endpoint", url: "http://127.0.0.1:9/never", events: JSON.stringify(["campaign.completed"]), secret: "v1.never-opened", createdAt: Date.now() + DAY_MS,
    });
  }
  const campaignId = await seedSendingCampaign(small, w);
  const recipients = await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId)).orderBy(asc(campaignRecipients.id));
  const [ada, bob, fay] = recipients.map((r) => r.id) as [number, number, number];
  const batchId = recipients[0]!.batchId!;
  const lastBatchId = recipients[2]!.batchId!;
  await redispatch(batchId, "prb_a", 1);
  return { w, campaignId, batchId, lastBatchId, ada, bob, fay };
}

const redispatch = (batchId: string, probeId: string, attempts: number, leaseExpiresAt = Date.now() + 60_000) =>
  s.db.update(sendBatches).set({ status: "dispatched", probeId, attempts, leaseExpiresAt }).where(eq(sendBatches.id, batchId));

const claimWithEffects = (c: { campaignId: string; batchId: string }, ids: number[], attempt = 1, probeId = "prb_a") =>
  claimSends(s.db, { probe_id: probeId, batch_id: c.batchId, campaign_id: c.campaignId, attempt, ids } satisfies SendClaim);
const claim = async (c: { campaignId: string; batchId: string }, ids: number[], attempt = 1, probeId = "prb_a"): Promise<SendClaimAnswer> =>
  (await claimWithEffects(c, ids, attempt, probeId)).answer;
/** What a write tells the campaign's hub. */
const told = (id: string, status: string, counts: object) => expect.objectContaining({ id, status, counts: expect.objectContaining(counts) });

const outcome = (id: number, status: SendOutcome["status"], queueId: string | null = null): SendOutcome => ({
  id, status, relay_id: "rly_1", queue_id: queueId, reply: status === "sent" ? { code: 250, enhanced: "2.0.0", message: `Ok: queued as ${queueId}` } : null,
});

const chunk = (c: { campaignId: string; batchId: string }, outcomes: SendOutcome[], extra: Partial<SendChunk> = {}): SendChunk => ({
  kind: "send", probe_id: "prb_a", batch_id: c.batchId, campaign_id: c.campaignId, attempt: 1, seq: 0, final: false, outcomes, ...extra,
});

describe("claims", () => {
  it("claims each recipient once: a second claim, another attempt or another probe gets nothing", async () => {
    const c = await dispatched();
    expect(await claim(c, [c.ada, c.bob])).toEqual({ claimed: [c.ada, c.bob], stop: null });
    expect(await claim(c, [c.ada, c.bob])).toEqual({ claimed: [], stop: null });
    expect(await claim(c, [c.ada], 1, "prb_other")).toMatchObject({ claimed: [], stop: expect.stringMatching(/^superseded/) });
    // Not this batch's recipient: never claimed through it.
    expect(await claim(c, [c.fay])).toEqual({ claimed: [], stop: null });
    expect(await statuses(c.campaignId)).toEqual({ "ada@x.test": "sending", "bob@x.test": "sending", "fay@x.test": "queued" });
  });

  it("after a re-dispatch, the old attempt claims nothing and is told to stop; the new one only what is still queued", async () => {
    const c = await dispatched();
    expect(await claim(c, [c.ada])).toEqual({ claimed: [c.ada], stop: null });
    await redispatch(c.batchId, "prb_a", 2); // the same probe again, a new attempt
    expect(await claim(c, [c.bob], 1)).toEqual({ claimed: [], stop: `superseded: batch ${c.batchId} is dispatched, at attempt 2` });
    expect(await claim(c, [c.ada, c.bob], 2)).toEqual({ claimed: [c.bob], stop: null });
    // Two probes racing for one batch: one claim wins each id.
    const d = await dispatched();
    const [x, y] = await Promise.all([claim(d, [d.ada, d.bob]), claim(d, [d.bob, d.ada])]);
    expect([...x.claimed, ...y.claimed].sort()).toEqual([d.ada, d.bob].sort());
  });

  it("skips and counts an address suppressed since the start", async () => {
    const c = await dispatched();
    await s.db.insert(suppressions).values({ accountId: c.w.accountId, email: "bob@x.test", reason: "unsubscribed", source: "recipient", campaignId: c.campaignId });
    expect(await claimWithEffects(c, [c.ada, c.bob])).toEqual({ answer: { claimed: [c.ada], stop: null }, effects: { campaign: told(c.campaignId, "sending", { suppressed: 2 }) } });
    expect(await statuses(c.campaignId)).toMatchObject({ "bob@x.test": "suppressed" });
    expect((await counts(c.campaignId)).suppressed).toBe(2); // sue at materialisation, bob now
    // Nothing found suppressed, no count moved: the hub is not told.
    expect(await claimWithEffects(c, [c.bob])).toEqual({ answer: { claimed: [], stop: null }, effects: {} });
    expect((await counts(c.campaignId)).suppressed).toBe(2);
  });

  it("answers stop with the reason once the campaign is paused or canceled", async () => {
    const c = await dispatched();
    await s.db.$client.batch(pause(c.campaignId, "relay_auth_failed: 535 5.7.8 bad login", Date.now()).statements, "write");
    expect(await claim(c, [c.ada])).toEqual({ claimed: [], stop: "paused: relay_auth_failed: 535 5.7.8 bad login" });
    await s.db.$client.batch(cancel(c.campaignId, c.w.accountId, Date.now()).statements, "write");
    expect(await claim(c, [c.ada])).toEqual({ claimed: [], stop: "canceled" });
    expect(await statuses(c.campaignId)).toEqual({ "ada@x.test": "canceled", "bob@x.test": "canceled", "fay@x.test": "canceled" });
  });
});

describe("records", () => {
  it("moves each claimed recipient once and counts exactly the rows that moved; a repeated chunk counts nothing", async () => {
    const c = await dispatched();
    await claim(c, [c.ada, c.bob]);
    const body = chunk(c, [outcome(c.ada, "sent", "Q1"), outcome(c.bob, "failed")]);
    expect(await applySendChunk(s.db, body)).toEqual({ applied: 2, paused: false, closed: false, effects: { campaign: told(c.campaignId, "sending", { sent: 1, failed: 1 }) } });
    expect(await applySendChunk(s.db, body)).toEqual({ applied: 0, paused: false, closed: false, effects: {} });
    expect(await counts(c.campaignId)).toEqual({ sent: 1, failed: 1, unknown_outcome: 0, suppressed: 1 });
    const [ada] = await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.id, c.ada));
    expect(ada).toMatchObject({ status: "sent", relayId: "rly_1", queueId: "Q1" });
    expect(JSON.parse(ada!.reply!)).toEqual({ code: 250, enhanced: "2.0.0", message: "Ok: queued as Q1" });
    // An outcome for a recipient never claimed (still queued) moves nothing.
    expect((await applySendChunk(s.db, chunk({ ...c, batchId: c.lastBatchId }, [outcome(c.fay, "sent", "Q9")]))).applied).toBe(0);
  });

  it("takes a lapsed batch back: claimed recipients become unknown_outcome, are never claimed again, and a late true answer replaces the guess", async () => {
    const c = await dispatched();
    await claim(c, [c.ada]);
    const now = Date.now();
    await redispatch(c.batchId, "prb_a", 1, now - 1);
    const closing = closeSendBatch(c.batchId, c.campaignId, { lapsedAt: now }, now);
    expect(closing.read(await s.db.$client.batch(closing.statements, "write"))).toMatchObject({
      closed: true,
      effects: { sendDispatch: true, campaign: told(c.campaignId, "sending", { unknown_outcome: 1 }) },
    });
    expect(await statuses(c.campaignId)).toMatchObject({ "ada@x.test": "unknown_outcome", "bob@x.test": "queued" });
    expect((await counts(c.campaignId)).unknown_outcome).toBe(1);
    const batch = await batchRow(c.batchId);
    expect(batch.status).toBe("pending"); // bob is still to send
    expect(batch.notBefore).toBe(now); // due at once: its lease was the wait
    // The next dispatch claims bob only; a release from the dead probe's chunk cannot queue ada again.
    await redispatch(c.batchId, "prb_b", 2);
    expect(await claim(c, [c.ada, c.bob], 2, "prb_b")).toEqual({ claimed: [c.bob], stop: null });
    expect((await applySendChunk(s.db, chunk(c, [outcome(c.ada, "queued")]))).applied).toBe(0);
    // The dead probe's outbox delivers ada's answer after all.
    expect((await applySendChunk(s.db, chunk(c, [outcome(c.ada, "sent", "Q2")]))).applied).toBe(1);
    expect(await counts(c.campaignId)).toMatchObject({ sent: 1, unknown_outcome: 0 });
    expect(await statuses(c.campaignId)).toMatchObject({ "ada@x.test": "sent", "bob@x.test": "sending" });
  });

  it("pauses the campaign when a chunk says so", async () => {
    const c = await dispatched();
    await claim(c, [c.ada, c.bob]);
    const out = await applySendChunk(s.db, chunk(c, [outcome(c.ada, "queued"), outcome(c.bob, "queued")], { final: true, pause: { reason: "relay_auth_failed", relay_id: "rly_1", detail: "rly_1 answered 535 5.7.8" } }));
    expect(out).toMatchObject({ applied: 2, paused: true, closed: true, effects: { campaign: told(c.campaignId, "paused", { sent: 0 }) } });
    expect(await row(c.campaignId)).toMatchObject({ status: "paused", statusReason: "relay_auth_failed: rly_1 answered 535 5.7.8" });
    // Released, and its batch waits in the queue for a resume.
    expect(await statuses(c.campaignId)).toMatchObject({ "ada@x.test": "queued", "bob@x.test": "queued" });
    expect((await batchRow(c.batchId)).status).toBe("pending");
  });

  it("releases only from the batch's current attempt: a repeat of an old attempt's chunk cannot queue a new claim again", async () => {
    const c = await dispatched();
    await claim(c, [c.ada]);
    const release = chunk(c, [outcome(c.ada, "queued")], { attempt: 1, final: true });
    expect(await applySendChunk(s.db, release)).toMatchObject({ applied: 1, closed: true });
    await redispatch(c.batchId, "prb_a", 2);
    expect(await claim(c, [c.ada], 2)).toEqual({ claimed: [c.ada], stop: null });
    // The first delivery's answer was lost; the outbox sends it again.
    expect(await applySendChunk(s.db, release)).toMatchObject({ applied: 0, closed: false });
    expect(await statuses(c.campaignId)).toMatchObject({ "ada@x.test": "sending" });
    expect((await batchRow(c.batchId)).status).toBe("dispatched");
  });

  it("gives up what is still queued after the last attempt", async () => {
    const c = await dispatched();
    await redispatch(c.batchId, "prb_a", MAX_SEND_ATTEMPTS);
    await claim(c, [c.ada], MAX_SEND_ATTEMPTS);
    await applySendChunk(s.db, chunk(c, [outcome(c.ada, "sent", "Q3")], { attempt: MAX_SEND_ATTEMPTS, final: true }));
    expect(await statuses(c.campaignId)).toMatchObject({ "ada@x.test": "sent", "bob@x.test": "failed" });
    expect(await counts(c.campaignId)).toMatchObject({ sent: 1, failed: 1 });
    expect((await batchRow(c.batchId)).status).toBe("done");
  });

  it("completes the campaign with its last final chunk, writing one campaign.completed however often it arrives", async () => {
    const c = await dispatched({ subscribed: true });
    await claim(c, [c.ada, c.bob]);
    const first = chunk(c, [outcome(c.ada, "sent", "Q1"), outcome(c.bob, "unknown_outcome")], { final: true });
    expect(await applySendChunk(s.db, first)).toMatchObject({ applied: 2, closed: true, effects: { sendDispatch: true, webhooks: false } });
    await redispatch(c.lastBatchId, "prb_b", 1);
    await claim({ ...c, batchId: c.lastBatchId }, [c.fay], 1, "prb_b");
    const last = chunk({ ...c, batchId: c.lastBatchId }, [outcome(c.fay, "sent", "Q2")], { probe_id: "prb_b", final: true });
    expect(await applySendChunk(s.db, last)).toMatchObject({
      applied: 1,
      closed: true,
      effects: { sendDispatch: true, webhooks: true, campaign: told(c.campaignId, "completed", { sent: 2, unknown_outcome: 1 }) },
    });
    const repeated = await applySendChunk(s.db, last);
    expect(repeated).toMatchObject({ applied: 0, closed: false, effects: { webhooks: false } });
    expect(repeated.effects.campaign).toBeUndefined();
    expect(await row(c.campaignId)).toMatchObject({ status: "completed", sent: 2, failed: 0, unknownOutcome: 1, audience: 3 });
    const events = await s.db.select().from(webhookEvents).where(eq(webhookEvents.accountId, c.w.accountId));
    expect(events.map((e) => [e.type, e.subjectId])).toEqual([["campaign.completed", c.campaignId]]);
  });
});
