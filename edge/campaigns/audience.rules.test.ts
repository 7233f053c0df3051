// A campaign's audience under the account's rules, inside workerd against the real sqld, on a job
// whose rows vary in every way the rules read: the default rules choose exactly the audience the
// fixed verdict rule chose before them (deliverable, and risky with include_risky), a B2B account's
// rules leave out free addresses, the rules are the ones frozen when sending began, and every row
// is still counted once.
import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { testServices } from "../testing.ts";
import { DEFAULT_RULES, type Rules } from "../../core/rules.ts";
import { campaignRecipients, campaigns, suppressions } from "../../db/schema.ts";
import { putRules } from "../rules/rules.ts";
import { seedVariedJob, variedRows, type VariedRow } from "../rules/testing.ts";
import { materializeCampaign, materializeStep } from "./audience.ts";
import { startCampaign } from "./campaigns.ts";
import { audienceEstimate } from "./choices.ts";
import { seedCampaign, seedWorld, type World } from "./testing.ts";

const s = testServices();
const small = { ...s, config: { ...s.config, MXRAY_SEND_BATCH_SIZE: 7 } };
const ROWS = variedRows(240);
/** Every eleventh address is on the account's suppression list. */
const SUPPRESSED = new Set(ROWS.filter((_, i) => i % 11 === 3).map((r) => r.normalized));

/** The world of campaigns/testing.ts, with the varied job of its account as the campaign's list. */
async function variedWorld(): Promise<World> {
  const w = await seedWorld(s);
  const jobId = await seedVariedJob(s.db, w.accountId, ROWS);
  await s.db.insert(suppressions).values([...SUPPRESSED].map((email) => ({ accountId: w.accountId, email, reason: "manual" as const, source: "test" })));
  return { ...w, jobId };
}

const recipientsOf = async (id: string) =>
  (await s.db.select({ normalized: campaignRecipients.normalized }).from(campaignRecipients).where(eq(campaignRecipients.campaignId, id)).orderBy(asc(campaignRecipients.rowIndex))).map((r) => r.normalized);
const countsOf = async (id: string) => {
  const [c] = await s.db.select().from(campaigns).where(eq(campaigns.id, id));
  return { audience: c!.audience, suppressed: c!.suppressed, skipped: c!.skippedUnverified, materialized: c!.materialized };
};

/** What a campaign sends to by `sendable`: recipients in row order, and its counts. */
function expectedAudience(sendable: (r: VariedRow) => boolean) {
  const chosen = ROWS.filter(sendable);
  return {
    recipients: chosen.filter((r) => !SUPPRESSED.has(r.normalized)).map((r) => r.normalized),
    counts: { audience: chosen.filter((r) => !SUPPRESSED.has(r.normalized)).length, suppressed: chosen.filter((r) => SUPPRESSED.has(r.normalized)).length, skipped: ROWS.length - chosen.length, materialized: true },
  };
}

async function materialized(id: string) {
  await materializeCampaign(small, id);
  return { recipients: await recipientsOf(id), counts: await countsOf(id) };
}

describe("the audience under the account's rules", () => {
  it("with the default rules is exactly the audience of the fixed verdict rule: deliverable, and risky too with include_risky", async () => {
    const w = await variedWorld();
    // The verdict rule audience.ts used before the rules.
    const before = (includeRisky: boolean) => (r: VariedRow) => r.record.verdict === "deliverable" || (includeRisky && r.record.verdict === "risky");
    for (const includeRisky of [false, true]) {
      const want = expectedAudience(before(includeRisky));
      expect(want.counts.audience).toBeGreaterThan(30);
      expect(want.counts.suppressed).toBeGreaterThan(0);
      const id = await seedCampaign(s, w, { status: "sending", includeRisky });
      // In small steps too: each counts its rows once.
      if (includeRisky) while (!(await materializeStep(small, id, Date.now(), 37)).done);
      expect(await materialized(id)).toEqual(want);
      const c = await countsOf(id);
      expect(c.audience + c.suppressed + c.skipped).toBe(ROWS.length);
    }
  });

  it("with a B2B account's rules leaves out free addresses, include_risky or not, and the estimate said as much", async () => {
    const w = await variedWorld();
    const b2b: Rules = { ...DEFAULT_RULES, free: "refuse" };
    await putRules(s, { accountId: w.accountId, actor: "usr_test" }, b2b);
    for (const includeRisky of [false, true]) {
      const estimate = await audienceEstimate(s, { accountId: w.accountId, actor: "usr_test" }, { jobId: w.jobId, includeRisky });
      const id = await seedCampaign(s, w, { status: "sending", includeRisky });
      const want = expectedAudience((r) => (r.record.verdict === "deliverable" || (includeRisky && r.record.verdict === "risky")) && r.record.free !== true);
      const got = await materialized(id);
      expect(got).toEqual(want);
      const freeOf = (n: string) => ROWS.find((r) => r.normalized === n)!.record.free;
      expect(got.recipients.map(freeOf)).not.toContain(true);
      // Older records without the flag are not taken for free ones.
      expect(got.recipients.map(freeOf)).toContain(undefined);
      expect([estimate.audience, estimate.suppressed]).toEqual([want.counts.audience, want.counts.suppressed]);
      expect(estimate.skipped.rules).toBe(ROWS.filter((r) => (r.record.verdict === "deliverable" || (includeRisky && r.record.verdict === "risky")) && r.record.free === true).length);
    }
  });

  it("follows the rules frozen when sending began, not a change made since; a snapshot from before the rules follows the defaults", async () => {
    const w = await variedWorld();
    const who = { accountId: w.accountId, actor: "usr_test" };
    const strict: Rules = { ...DEFAULT_RULES, risky: "allow", role: "refuse", min_score: 80 };
    await putRules(s, who, strict);
    const begun = await seedCampaign(s, w, { status: "sending" });
    const draft = await seedCampaign(s, w);
    await putRules(s, who, DEFAULT_RULES);
    // Begun under the strict rules: they still choose, though the account's are the defaults now.
    const strictAudience = expectedAudience((r) => (r.record.verdict === "deliverable" || r.record.verdict === "risky") && r.record.role !== true && (r.record.score ?? 0) >= 80);
    expect(await materialized(begun)).toEqual(strictAudience);
    // Started after the change: the defaults.
    await startCampaign(s, who, draft);
    expect(await materialized(draft)).toEqual(expectedAudience((r) => r.record.verdict === "deliverable"));
    const old = await seedCampaign(s, w, { status: "sending", includeRisky: true });
    await s.db.update(campaigns).set({ snapshot: sql`json_remove(${campaigns.snapshot}, '$.rules')` }).where(eq(campaigns.id, old));
    await putRules(s, who, strict);
    expect(await materialized(old)).toEqual(expectedAudience((r) => r.record.verdict === "deliverable" || r.record.verdict === "risky"));
  });
});
