// The new-campaign flow's choices inside workerd, against the real sqld: only the account's
// completed verification lists are offered, and a list's audience is estimated as its audience
// will be counted (the same numbers audience.test.ts finds once the campaign sends).
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { jobs } from "../../db/schema.ts";
import { serviceCode, testServices } from "../testing.ts";
import { audienceEstimate, sendableJobs } from "./choices.ts";
import { JOB_ROWS, seedWorld } from "./testing.ts";

const s = testServices();

/** The seeded job's counters, as its results left them (JOB_ROWS). */
async function counted(jobId: string) {
  const n = (v: string) => JOB_ROWS.filter(([, , verdict]) => verdict === v).length;
  await s.db.update(jobs).set({ deliverable: n("deliverable"), undeliverable: n("undeliverable"), risky: n("risky"), unknown: n("unknown") }).where(eq(jobs.id, jobId));
}

describe("the new-campaign flow's choices", () => {
  it("offers only the account's completed verification lists, newest first", async () => {
    const w = await seedWorld(s);
    const who = { accountId: w.accountId, actor: "usr_test" };
    const job = (name: string, extra: Partial<typeof jobs.$inferInsert> = {}) => {
      const id = newId("job");
      return s.db.insert(jobs).values({ id, accountId: w.accountId, name, kind: "verify", status: "completed", ...extra }).then(() => id);
    };
    const later = await job("later.csv", { createdAt: Date.now() + 1_000 });
    await job("running.csv", { status: "running" });
    await job("deleted.csv", { deletedAt: Date.now() });
    await job("people.csv", { kind: "find" });
    await seedWorld(s); // another account's
    expect((await sendableJobs(s, who)).map((j) => j.id)).toEqual([later, w.jobId]);
  });

  it("estimates the audience as sending will count it: sendable, less the suppressed; the rest skipped by verdict", async () => {
    const w = await seedWorld(s);
    await counted(w.jobId);
    const who = { accountId: w.accountId, actor: "usr_test" };
    // deliverable: ada, bob, sue (suppressed), fay; risky: cay, rex (suppressed); undeliverable: dan and the bad syntax; unknown: eve.
    expect(await audienceEstimate(s, who, { jobId: w.jobId, includeRisky: false })).toEqual({ audience: 3, suppressed: 1, skipped: { undeliverable: 2, unknown: 1, risky: 2, rules: 0 } });
    expect(await audienceEstimate(s, who, { jobId: w.jobId, includeRisky: true })).toEqual({ audience: 4, suppressed: 2, skipped: { undeliverable: 2, unknown: 1, risky: 0, rules: 0 } });
    const stranger = { accountId: (await seedWorld(s)).accountId, actor: "usr_other" };
    expect(await serviceCode(audienceEstimate(s, stranger, { jobId: w.jobId, includeRisky: false }))).toBe("not_found");
  });
});
