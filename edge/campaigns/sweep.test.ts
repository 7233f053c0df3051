// Send dispatch and the campaigns' sweeper inside workerd, on a database of their own (they act on
// every send batch and probe), with a recording dispatcher standing in for QStash: what a probe is
// handed (tokens, variables, relay passwords sealed for it), leases that run out, and campaigns
// that wait for their job or their time.
import { env } from "cloudflare:test";
import { asc, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { testServices } from "../testing.ts";
import { SendBatchSchema } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { openString, probeTransportKey } from "../../core/secrets.ts";
import { checkRecipientToken } from "../../core/unsubscribe.ts";
import { accounts, campaignRecipients, campaigns, jobs, probes, relays, senders, sendBatches, templates } from "../../db/schema.ts";
import { buildServices, type Services } from "../context.ts";
import { deduplicationId, type Dispatcher, type SendDispatchRequest } from "../adapters/dispatch.ts";
import { sealSecret, vaultOf } from "../secrets/secrets.ts";
import { claimSends } from "./claims.ts";
import { dispatchSends } from "./dispatch.ts";
import { sweepCampaigns } from "./sweep.ts";
import { RELAY_PASSWORDS, seedCampaign, seedSendingCampaign, seedWorld } from "./testing.ts";

let sent: SendDispatchRequest[];
let s: Services;

beforeEach(async () => {
  sent = [];
  const recording: Dispatcher = { kind: "direct", dispatch: async (req) => ("send" in req && sent.push(req), { ok: true, messageId: deduplicationId(req) }) };
  const base = buildServices({ ...env, TURSO_DATABASE_URL: env.CAMPAIGNS_TEST_DATABASE_URL! }, { waitUntil: () => {} }, "http://edge.test");
  s = { ...base, config: { ...base.config, MXRAY_SEND_BATCH_SIZE: 2 }, dispatcher: recording };
  await s.db.delete(accounts);
  await s.db.delete(probes);
});

const probe = (id: string, capacity: number, status: "active" | "dead" = "active") => s.db.insert(probes).values({ id, url: `http://${id}.test`, capacity, status, lastHeartbeatAt: Date.now() });
const batchesOf = (id: string) => s.db.select().from(sendBatches).where(eq(sendBatches.campaignId, id)).orderBy(asc(sendBatches.notBefore), asc(sendBatches.createdAt));
const row = async (id: string) => (await s.db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!;

describe("dispatchSends", () => {
  it("hands each due batch to a probe once, with tokens, the list's variables, the frozen template and fresh relays sealed for the probe", async () => {
    const w = await seedWorld(s);
    const id = await seedSendingCampaign(s, w);
    // Edits after sending began: the template is frozen, the relay's new password applies.
    await s.db.update(templates).set({ subject: "changed" }).where(eq(templates.id, w.templateId));
    await s.db.update(relays).set({ password: await sealSecret(await vaultOf(s), w.accountId, { purpose: "relay.password", recordId: w.relayIds[1]! }, "rotated") }).where(eq(relays.id, w.relayIds[1]!));
    await probe("prb_a", 4);
    const now = Date.now();
    expect(await dispatchSends(s, now)).toBe(2);
    expect(await dispatchSends(s, now)).toBe(0); // nothing is sent twice

    const [first, second] = sent.map((r) => ({ ...r, send: SendBatchSchema.parse(r.send) }));
    const made = await batchesOf(id);
    expect(sent.map((r) => [r.probeId, r.probeUrl, deduplicationId(r)])).toEqual(made.map((b) => ["prb_a", "http://prb_a.test", `${b.id}:1`]));
    expect(made.every((b) => b.status === "dispatched" && b.attempts === 1 && b.leaseExpiresAt === now + s.config.MXRAY_SEND_LEASE_MS)).toBe(true);
    const batch = first!.send;
    expect(batch).toMatchObject({
      campaign_id: id,
      attempt: 1,
      sender: { from_email: "news@sender.test", from_name: "News", reply_to: null },
      bounce_domain: "sender.test",
      template: { subject: "Hi {{ first_name }}", html: "<p>Hello {{ first_name | default: 'there' }}</p>{{ unsubscribe_url }}", text: null },
      unsubscribe_base: "http://edge.test/u/",
      budget_ms: s.config.MXRAY_SEND_BUDGET_MS,
    });
    expect(batch.recipients.map((r) => [r.email, r.vars])).toEqual([
      ["Ada@X.test", { email: "Ada@X.test", first_name: "Ada", company: "Ada & Co" }],
      ["bob@x.test", { email: "bob@x.test", first_name: "Bob", company: "Bob & Co" }],
    ]);
    expect(second!.send.recipients.map((r) => r.email)).toEqual(["fay@x.test"]);
    for (const r of [...batch.recipients, ...second!.send.recipients]) {
      expect(await checkRecipientToken([env.SESSION_SECRET], r.token, { accountId: w.accountId, campaignId: id, recipientId: r.id })).toBe(true);
      expect(await checkRecipientToken([env.SESSION_SECRET], r.token, { accountId: w.accountId, campaignId: "cmp_other", recipientId: r.id })).toBe(false);
    }
    // The sender's pool in its order; each password opens only with the probe transport key.
    expect(batch.relays.map((r) => [r.id, r.host, r.port, r.username])).toEqual(w.relayIds.map((rid, i) => [rid, "127.0.0.1", 2525 + i, `user${i}`]));
    const key = await probeTransportKey(env.PROBE_SECRET);
    const opened = await Promise.all(batch.relays.map((r) => openString(key, { purpose: "relay.password", recordId: r.id }, r.password!)));
    expect(opened).toEqual([RELAY_PASSWORDS[0], "rotated"]);
    expect(batch.relays.every((r) => !r.password!.includes(RELAY_PASSWORDS[0]!))).toBe(true);
  });

  it("waits for not_before and a sending campaign, and fills only the room live probes have, an account at a time", async () => {
    const [a, b, c] = [await seedWorld(s), await seedWorld(s), await seedWorld(s)];
    const t0 = Date.now() - 1_000;
    const now = Date.now();
    // 60 an hour: a batch of 2 waits 2 minutes after the one before it.
    const late = await seedSendingCampaign(s, a, { ratePerHour: 60, startedAt: t0 });
    const paused = await seedSendingCampaign(s, b, { startedAt: t0 });
    await s.db.update(campaigns).set({ status: "paused" }).where(eq(campaigns.id, paused));
    await probe("prb_a", 4);
    await probe("prb_dead", 4, "dead");
    expect(await dispatchSends(s, now)).toBe(1); // late's first batch only
    expect(sent.map((r) => [r.send.campaign_id, r.probeId])).toEqual([[late, "prb_a"]]);

    // Two accounts with two due batches each, and two slots: one batch of each account.
    sent = [];
    await s.db.update(campaigns).set({ status: "sending" }).where(eq(campaigns.id, paused));
    const third = await seedSendingCampaign(s, c, { startedAt: t0 });
    await s.db.update(probes).set({ capacity: 2 }).where(eq(probes.id, "prb_a")); // one in flight already: one slot
    await probe("prb_b", 1);
    expect(await dispatchSends(s, now)).toBe(2);
    expect(sent.map((r) => r.send.campaign_id).sort()).toEqual([paused, third].sort());
    expect(sent.map((r) => r.probeId).sort()).toEqual(["prb_a", "prb_b"]);
  });
});

describe("sweepCampaigns", () => {
  it("takes back a lapsed batch: claimed recipients become unknown_outcome and are never handed out again", async () => {
    const w = await seedWorld(s);
    const id = await seedSendingCampaign(s, w);
    await probe("prb_a", 4);
    const now = Date.now();
    await dispatchSends(s, now);
    const batch = SendBatchSchema.parse(sent[0]!.send);
    const [ada] = batch.recipients.map((r) => r.id);
    expect((await claimSends(s.db, { probe_id: "prb_a", batch_id: batch.batch_id, campaign_id: id, attempt: 1, ids: [ada!] })).answer).toEqual({ claimed: [ada], stop: null });
    // The probe dies; its lease runs out.
    const later = now + s.config.MXRAY_SEND_LEASE_MS + 1;
    sent = [];
    expect(await sweepCampaigns(s, later)).toMatchObject({ reclaimed: 2, dispatched: 0 });
    expect((await row(id)).unknownOutcome).toBe(1);
    // Due at once (the lease was the wait) once a probe is alive, and to another probe than the
    // one that dropped it, while that one's heartbeat still looks fresh.
    await probe("prb_b", 4);
    await s.db.update(probes).set({ lastHeartbeatAt: later });
    expect(await dispatchSends(s, later)).toBe(2);
    expect(sent.map((r) => r.probeId)).toEqual(["prb_b", "prb_b"]);
    const retried = sent.map((r) => SendBatchSchema.parse(r.send));
    // ada was claimed before the probe died: only bob of her batch goes out again, under a new message id.
    expect(retried.map((b) => [b.attempt, b.recipients.map((r) => r.email)])).toEqual([[2, ["bob@x.test"]], [2, ["fay@x.test"]]]);
    expect(retried.some((b) => b.recipients.some((r) => r.id === ada))).toBe(false);
    expect(sent.map((r) => deduplicationId(r))).toEqual(retried.map((b) => `${b.batch_id}:2`));
    const [adaRow] = await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.id, ada!));
    expect(adaRow!.status).toBe("unknown_outcome");
  });

  it("takes back the batches of a probe marked dead before their lease runs out", async () => {
    const w = await seedWorld(s);
    const id = await seedSendingCampaign(s, w);
    await probe("prb_a", 4);
    await dispatchSends(s, Date.now());
    await s.db.update(probes).set({ status: "dead" }).where(eq(probes.id, "prb_a"));
    expect(await sweepCampaigns(s, Date.now())).toMatchObject({ reclaimed: 2 });
    expect((await batchesOf(id)).map((b) => b.status)).toEqual(["pending", "pending"]);
  });

  it("begins campaigns whose job completed or whose time came, fails those whose job failed, and pauses one whose sender is no longer confirmed", async () => {
    const now = Date.now();
    const w = await seedWorld(s, { jobStatus: "running" });
    const verifying = await seedCampaign(s, w);
    const failing = await seedCampaign(s, w);
    const scheduled = await seedCampaign(s, w);
    await s.db.update(campaigns).set({ status: "verifying" }).where(eq(campaigns.id, verifying));
    await s.db.update(campaigns).set({ status: "verifying" }).where(eq(campaigns.id, failing));
    await s.db.update(campaigns).set({ status: "scheduled", sendAt: now + 60_000 }).where(eq(campaigns.id, scheduled));
    expect(await sweepCampaigns(s, now)).toMatchObject({ begun: 0, failed: 0 });

    await s.db.update(jobs).set({ status: "completed" }).where(eq(jobs.id, w.jobId));
    // Another job, failed, under the second campaign.
    const failedJob = newId("job");
    await s.db.insert(jobs).values({ id: failedJob, accountId: w.accountId, name: "f", status: "failed" });
    await s.db.update(campaigns).set({ jobId: failedJob }).where(eq(campaigns.id, failing));
    await probe("prb_a", 8);
    expect(await sweepCampaigns(s, now)).toMatchObject({ begun: 1, failed: 1, dispatched: 2 });
    expect(await row(verifying)).toMatchObject({ status: "sending", materialized: true, audience: 3 });
    expect(await row(failing)).toMatchObject({ status: "failed", statusReason: `job ${failedJob} failed` });
    expect((await row(scheduled)).status).toBe("scheduled");

    await s.db.update(senders).set({ confirmedAt: null }).where(eq(senders.id, w.senderId));
    expect(await sweepCampaigns(s, now + 60_000)).toMatchObject({ begun: 0, paused: 1 });
    expect(await row(scheduled)).toMatchObject({ status: "paused", statusReason: expect.stringMatching(/^sender_not_confirmed: Sender snd_/) });
  });

  it("completes a campaign whose last batch was taken back with nothing left to send", async () => {
    const w = await seedWorld(s);
    const id = await seedSendingCampaign(s, w);
    await probe("prb_a", 4);
    await dispatchSends(s, Date.now());
    // Every recipient answered, but the probe died before its final chunks.
    await s.db.update(campaignRecipients).set({ status: "sent" }).where(eq(campaignRecipients.campaignId, id));
    await s.db.update(probes).set({ status: "dead" }).where(eq(probes.id, "prb_a"));
    expect(await sweepCampaigns(s, Date.now())).toMatchObject({ reclaimed: 2 });
    expect((await row(id)).status).toBe("completed");
  });
});
