// What a bounce does, inside workerd against the real sqld: suppression, the recipient and its
// campaign's counter, soft scores over days (the clock injected), the refund of a contradicted
// `deliverable` verdict exactly once, and events only for a subscribed account. Every bounce's
// effects are written in one write, and a bounce applied twice does nothing the second time.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { BounceKind } from "../../core/enums.ts";
import type { RecipientBounced } from "../../core/samples.ts";
import { accounts, auditLog, bounces, campaignRecipients, campaigns, creditLedger, jobs, softBounceScores, suppressions, webhookEvents } from "../../db/schema.ts";
import { testDb, testServices } from "../testing.ts";
import { applyBounces, type BounceInput, type BounceOutcome } from "./apply.ts";
import { DAY_MS, seedBounceWorld, setSoftSettings, subscribeAccount, VERIFIED_MX, VERIFIER_PROBE, type BounceWorld } from "./testing.ts";

const s = testServices();
const db = testDb();

function input(w: BounceWorld, email: string, kind: BounceKind, over: Partial<BounceInput> = {}): BounceInput {
  const recipient = w.recipients.get(email);
  return {
    email, kind, category: kind === "complaint" ? null : "mailbox", action: kind === "hard" ? "failed" : null, status: kind === "hard" ? "5.1.1" : kind === "soft" ? "4.2.0" : null,
    diagnostic: "smtp; 550 5.1.1 user unknown", remote_mta: "mx.x.test", source: "imap", campaign_id: w.campaignId, recipient_id: recipient?.id ?? null, mailbox_id: w.mailboxId,
    dedupe_key: `imap:${w.mailboxId}:7:${Math.random()}:${email}`, raw: "Status: 5.1.1", raw_truncated: false, occurred_at: Date.now(), ...over,
  };
}

async function apply(w: BounceWorld, inputs: BounceInput[], now = Date.now()): Promise<BounceOutcome> {
  const write = await applyBounces(s, w.accountId, inputs, now);
  return write.read(await db.$client.batch(write.statements, "write"));
}

async function state(w: BounceWorld, email: string) {
  const [campaign] = await db.select({ bounced: campaigns.bounced }).from(campaigns).where(eq(campaigns.id, w.campaignId));
  const recipient = w.recipients.get(email);
  const [r] = recipient ? await db.select({ at: campaignRecipients.bouncedAt, kind: campaignRecipients.bounceKind }).from(campaignRecipients).where(eq(campaignRecipients.id, recipient.id)) : [];
  const listed = await db.select().from(suppressions).where(and(eq(suppressions.accountId, w.accountId), eq(suppressions.email, email)));
  const rows = await db.select().from(bounces).where(and(eq(bounces.accountId, w.accountId), eq(bounces.email, email)));
  const refunds = await db.select().from(creditLedger).where(and(eq(creditLedger.accountId, w.accountId), eq(creditLedger.reason, "bounce_refund")));
  const [account] = await db.select({ balance: accounts.creditBalance }).from(accounts).where(eq(accounts.id, w.accountId));
  const [score] = await db.select().from(softBounceScores).where(and(eq(softBounceScores.accountId, w.accountId), eq(softBounceScores.email, email)));
  const events = await db.select().from(webhookEvents).where(eq(webhookEvents.accountId, w.accountId));
  return { bounced: campaign!.bounced, recipient: r, listed, rows, refunds, balance: account!.balance, score, events };
}

describe("applyBounces", () => {
  it("a hard 5.1.1 bounce suppresses, marks its recipient, counts it once, and refunds the deliverable verdict once, audited", async () => {
    const w = await seedBounceWorld({ credits: 100 });
    const first = input(w, "ada@x.test", "hard");
    const outcome = await apply(w, [first]);
    expect(outcome.applied).toEqual([{ dedupe_key: first.dedupe_key, id: expect.stringMatching(/^bnc_/), refunded_job_id: w.jobId, suppressed: true }]);
    expect(outcome.campaigns.map((c) => [c.id, c.counts.bounced])).toEqual([[w.campaignId, 1]]);
    expect(outcome.webhooks).toBe(false); // no endpoint: no event

    const after = await state(w, "ada@x.test");
    expect(after.bounced).toBe(1);
    expect(after.recipient).toEqual({ at: first.occurred_at, kind: "hard" });
    expect(after.listed.map((l) => [l.reason, l.campaignId, l.source])).toEqual([["bounced", w.campaignId, "bounce"]]);
    expect(after.rows).toHaveLength(1);
    expect(after.rows[0]).toMatchObject({ id: outcome.applied[0]!.id, kind: "hard", category: "mailbox", status: "5.1.1", refundJobId: w.jobId, refundNormalized: "ada@x.test", verifiedMx: VERIFIED_MX, verifiedProbeId: VERIFIER_PROBE });
    expect(after.refunds.map((e) => [e.delta, e.kind, e.actor, e.jobId, e.idempotencyKey])).toEqual([[1, "refund", "system", w.jobId, `bounce_refund:${w.jobId}:ada@x.test`]]);
    expect(after.balance).toBe(101); // the cached balance moved with its entry (the seed's 100 has none)
    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, w.accountId), eq(auditLog.action, "bounce.refunded")));
    expect(audit.map((a) => [a.actor, a.target, JSON.parse(a.detail!)])).toEqual([["system", w.jobId, { bounce_id: outcome.applied[0]!.id, email: "ada@x.test", status: "5.1.1", source: "imap" }]]);
    expect(after.events).toEqual([]);

    // The person takes the address off the list; the same bounce read again changes nothing at all.
    await db.delete(suppressions).where(and(eq(suppressions.accountId, w.accountId), eq(suppressions.email, "ada@x.test")));
    const again = await apply(w, [first]);
    expect(again).toEqual({ applied: [{ dedupe_key: first.dedupe_key, id: null, refunded_job_id: null, suppressed: false }], webhooks: false, campaigns: [] });
    const still = await state(w, "ada@x.test");
    expect([still.bounced, still.listed.length, still.rows.length, still.refunds.length, still.balance]).toEqual([1, 0, 1, 1, 101]);

    // Another report of it (another dedupe key: through the API, or another message) is stored and
    // suppresses again, but neither counts the recipient again nor refunds the verification again.
    const other = await apply(w, [input(w, "ada@x.test", "hard", { source: "api", dedupe_key: "api:other", mailbox_id: null })]);
    expect(other.applied[0]).toMatchObject({ id: expect.stringMatching(/^bnc_/), refunded_job_id: null, suppressed: true });
    expect(other.campaigns).toEqual([]);
    const last = await state(w, "ada@x.test");
    expect([last.bounced, last.listed.length, last.rows.length, last.refunds.length, last.balance]).toEqual([1, 1, 2, 1, 101]);
    expect(last.rows.filter((r) => r.refundJobId !== null)).toHaveLength(1);
  });

  it("refunds once when two bounces of one verification are in the same write", async () => {
    const w = await seedBounceWorld();
    const outcome = await apply(w, [input(w, "bob@x.test", "hard"), input(w, "bob@x.test", "hard", { source: "api", dedupe_key: "api:same-write" })]);
    expect(outcome.applied.map((a) => a.refunded_job_id)).toEqual([w.jobId, null]);
    const after = await state(w, "bob@x.test");
    expect([after.rows.length, after.refunds.length, after.balance, after.bounced]).toEqual([2, 1, 101, 1]);
  });

  it("refunds nothing for a risky verdict, a verification older than 30 days, a 5.7.1 refusal, a soft bounce, a deleted job, or a bounce before the verification", async () => {
    const now = Date.now();
    const w = await seedBounceWorld({ now, verifiedAt: now - 35 * DAY_MS });
    // 35 days old.
    expect((await apply(w, [input(w, "dan@x.test", "hard")], now)).applied[0]!.refunded_job_id).toBeNull();

    const fresh = await seedBounceWorld();
    const outcome = await apply(fresh, [
      input(fresh, "cay@x.test", "hard"), // risky
      input(fresh, "dan@x.test", "hard", { status: "5.7.1", category: "policy" }), // policy: suppressed, never "no such mailbox"
      input(fresh, "eve@x.test", "soft", { status: "5.1.1" }), // soft is never a contradiction
      input(fresh, "ada@x.test", "hard", { occurred_at: Date.now() - 2 * DAY_MS }), // bounced before it was verified
    ]);
    expect(outcome.applied.map((a) => [a.refunded_job_id, a.suppressed])).toEqual([[null, true], [null, true], [null, false], [null, true]]);
    expect((await state(fresh, "dan@x.test")).listed.map((l) => l.reason)).toEqual(["bounced"]);

    // The owner deleted the job: its results are given up, and so is their refund.
    await db.update(jobs).set({ deletedAt: Date.now() }).where(eq(jobs.id, fresh.jobId));
    expect((await apply(fresh, [input(fresh, "bob@x.test", "hard")])).applied[0]!.refunded_job_id).toBeNull();
    expect((await state(fresh, "bob@x.test")).refunds).toEqual([]);
  });

  it("without a campaign, refunds the account's newest verification of the address in 30 days, never another account's", async () => {
    const now = Date.now();
    const w = await seedBounceWorld({ now, verifiedAt: now - 10 * DAY_MS });
    const stranger = await seedBounceWorld({ now, verifiedAt: now - DAY_MS });
    const b = input(w, "ada@x.test", "hard", { source: "api", campaign_id: null, recipient_id: null, mailbox_id: null, dedupe_key: "api:no-campaign" });
    const outcome = await apply(w, [b], now);
    expect(outcome.applied[0]!.refunded_job_id).toBe(w.jobId);
    expect(outcome.campaigns).toEqual([]);
    const after = await state(w, "ada@x.test");
    expect([after.bounced, after.recipient?.at, after.balance]).toEqual([0, null, 101]);
    expect((await state(stranger, "ada@x.test")).refunds).toEqual([]);
  });

  it("scores soft bounces +0.5 at most once a UTC day, suppresses at the threshold, and starts again after the quiet days", async () => {
    const w = await seedBounceWorld();
    await setSoftSettings(w.accountId, 1.5, 30);
    const day0 = Math.floor(Date.now() / DAY_MS) * DAY_MS + 3_600_000;
    const soft = (at: number) => input(w, "bob@x.test", "soft", { occurred_at: at });
    const score = async () => (await state(w, "bob@x.test")).score?.score;

    expect((await apply(w, [soft(day0)], day0)).applied[0]!.suppressed).toBe(false);
    expect(await score()).toBe(0.5);
    await apply(w, [soft(day0 + 60_000), soft(day0 + 120_000)], day0 + 120_000); // the same day
    expect(await score()).toBe(0.5);
    await apply(w, [soft(day0 + DAY_MS)], day0 + DAY_MS);
    expect(await score()).toBe(1);
    await apply(w, [soft(day0 - 5 * DAY_MS)], day0 + DAY_MS); // an older bounce read late counts nothing
    expect(await score()).toBe(1);
    expect((await state(w, "bob@x.test")).listed).toEqual([]);
    const third = await apply(w, [soft(day0 + 2 * DAY_MS)], day0 + 2 * DAY_MS);
    expect(third.applied[0]!.suppressed).toBe(true);
    const at = await state(w, "bob@x.test");
    expect([at.score?.score, at.listed.map((l) => [l.reason, l.source]), at.bounced, at.recipient?.at]).toEqual([1.5, [["bounced", "bounce"]], 0, null]);

    // 29 quiet days keep the score; 30 (the account's soft_reset_days) start it again.
    const eve = (at: number) => input(w, "eve@x.test", "soft", { occurred_at: at });
    await apply(w, [eve(day0)], day0);
    await apply(w, [eve(day0 + 30 * DAY_MS)], day0 + 30 * DAY_MS);
    expect((await state(w, "eve@x.test")).score?.score).toBe(1);
    await apply(w, [eve(day0 + 61 * DAY_MS)], day0 + 61 * DAY_MS);
    expect((await state(w, "eve@x.test")).score).toMatchObject({ score: 0.5, lastDay: Math.floor(day0 / DAY_MS) + 61 });
  });

  it("a complaint suppresses as complained and counts its recipient; an unclassified bounce is stored and nothing else; events only with a subscriber", async () => {
    const w = await seedBounceWorld();
    await subscribeAccount(w.accountId, ["recipient.bounced", "recipient.complained"]);
    const complaint = input(w, "dan@x.test", "complaint", { status: null });
    const unclassified = input(w, "eve@x.test", "unclassified", { status: null, category: "other" });
    const hard = input(w, "ada@x.test", "hard");
    const outcome = await apply(w, [complaint, unclassified, hard]);
    expect(outcome.webhooks).toBe(true);
    expect(outcome.campaigns.map((c) => c.counts.bounced)).toEqual([2]); // the newest read of the write

    const dan = await state(w, "dan@x.test");
    expect([dan.listed.map((l) => l.reason), dan.recipient?.kind, dan.rows[0]?.category, dan.rows[0]?.refundJobId]).toEqual([["complained"], "complaint", null, null]);
    const eve = await state(w, "eve@x.test");
    expect([eve.listed, eve.recipient?.at, eve.score, eve.rows.map((r) => r.kind)]).toEqual([[], null, undefined, ["unclassified"]]);

    const data = (type: string, email: string) => eve.events.filter((e) => e.type === type && JSON.parse(e.data!).email === email).map((e) => JSON.parse(e.data!) as RecipientBounced);
    const [ids] = [outcome.applied.map((a) => a.id)];
    expect(data("recipient.complained", "dan@x.test")).toEqual([
      { bounce_id: ids[0], email: "dan@x.test", kind: "complaint", category: null, status: null, diagnostic: complaint.diagnostic, source: "imap", campaign_id: w.campaignId, recipient_id: w.recipients.get("dan@x.test")!.id, suppressed: true, refunded_job_id: null, occurred_at: new Date(complaint.occurred_at).toISOString() },
    ]);
    expect(data("recipient.bounced", "eve@x.test")).toEqual([expect.objectContaining({ bounce_id: ids[1], kind: "unclassified", category: "other", suppressed: false, refunded_job_id: null })]);
    expect(data("recipient.bounced", "ada@x.test")).toEqual([expect.objectContaining({ bounce_id: ids[2], kind: "hard", status: "5.1.1", suppressed: true, refunded_job_id: w.jobId })]);
    expect(eve.events.map((e) => e.subjectId).sort()).toEqual([...ids].sort());

    // Applied again: no event again.
    expect((await apply(w, [complaint, unclassified, hard])).webhooks).toBe(false);
    expect((await state(w, "ada@x.test")).events).toHaveLength(3);
  });
});
