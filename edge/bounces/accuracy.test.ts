// Accuracy as operators see it: contradictions across accounts per verifying probe and per
// receiving provider (the MX's registrable domain); and the months a view covers.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { batches, jobEmails } from "../../db/schema.ts";
import { result, testDb, testServices } from "../testing.ts";
import { lastMonths, operatorAccuracy } from "./accuracy.ts";
import { reportBounce } from "./bounces.ts";
import { seedBounceWorld } from "./testing.ts";

describe("lastMonths", () => {
  it("names the last 12 UTC months, oldest first, across a new year", () => {
    const { months, from } = lastMonths(Date.UTC(2025, 1, 3, 12));
    expect(months).toEqual(["2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01", "2025-02"]);
    expect(from).toBe(Date.UTC(2024, 2, 1));
  });
});

describe("operatorAccuracy", () => {
  it("counts each contradiction once, under the probe that verified the address and the provider of the MX it was verified at", async () => {
    const s = testServices();
    const probe = newId("prb");
    const provider = `${newId("req").slice(4)}.example`;
    for (const [i, email] of ["ada@x.test", "bob@x.test"].entries()) {
      const w = await seedBounceWorld();
      const [row] = await testDb().select({ batchId: jobEmails.batchId }).from(jobEmails).where(eq(jobEmails.jobId, w.jobId)).limit(1);
      await testDb().update(batches).set({ probeId: probe }).where(eq(batches.id, row!.batchId!));
      await testDb().update(jobEmails).set({ result: JSON.stringify(result(email, "deliverable", { mx: `mx${i}.mail.${provider}` })) }).where(eq(jobEmails.jobId, w.jobId));
      const who = { accountId: w.accountId, actor: w.keyId };
      const hard = { email, kind: "hard" as const, status: "5.1.1", campaign_id: w.campaignId, occurred_at: new Date().toISOString() };
      expect((await reportBounce(s, who, hard)).bounce.refunded_job_id).toBe(w.jobId);
      // Reported again under another key: stored, not refunded, not counted again.
      expect((await reportBounce(s, who, hard, { idempotencyKey: "again" })).bounce.refunded_job_id).toBeNull();
    }
    const seen = await operatorAccuracy(s);
    expect(seen.probes.filter((p) => p.probe_id === probe)).toEqual([{ probe_id: probe, contradicted: 2 }]);
    expect(seen.providers.filter((p) => p.provider === provider)).toEqual([{ provider, contradicted: 2 }]);
    expect(seen.months).toHaveLength(12);
  });
});
