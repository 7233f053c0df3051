// The rules page's preview inside workerd, against the real sqld: on the account's latest list, the
// counts it shows are the ones rating each row by core's rules gives, and so are the rows each
// one-rule change would flip; another account's lists are never read.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { seedAccount, testServices } from "../testing.ts";
import { newId } from "../../core/ids.ts";
import { DEFAULT_RULES, refusalOf, safeToSend, type Rules } from "../../core/rules.ts";
import { jobs } from "../../db/schema.ts";
import { previewRules } from "./preview.ts";
import { seedVariedJob, variedRows } from "./testing.ts";

const s = testServices();
const ROWS = variedRows(150, 7);

describe("previewRules", () => {
  it("rates the latest completed list's rows as core does, and counts what each one-rule change flips", async () => {
    const { accountId } = await seedAccount(0);
    const who = { accountId, actor: "usr_test" };
    await seedVariedJob(s.db, accountId, variedRows(20, 99)); // older
    const jobId = await seedVariedJob(s.db, accountId, ROWS);
    await s.db.update(jobs).set({ createdAt: Date.now() + 1_000 }).where(eq(jobs.id, jobId));
    await s.db.insert(jobs).values({ id: newId("job"), accountId, name: "running.csv", status: "running", createdAt: Date.now() + 2_000 });
    const rules: Rules = { ...DEFAULT_RULES, risky: "allow", free: "refuse", min_score: 50 };
    const preview = await previewRules(s, who, { rules });
    expect(preview.job).toEqual({ id: jobId, name: "varied.csv" });
    expect([preview.rows, preview.truncated]).toEqual([ROWS.length, false]);
    expect(preview.safe).toBe(ROWS.filter((r) => safeToSend(r.record, rules)).length);
    const refused: Record<string, number> = {};
    for (const r of ROWS) {
      const why = refusalOf(r.record, rules);
      if (why) refused[why] = (refused[why] ?? 0) + 1;
    }
    expect(preview.refused).toEqual(refused);
    expect(Object.keys(refused).sort()).toEqual(["free", "min_score", "verdict"]);
    for (const c of preview.changes) {
      const changed = { ...rules, [c.rule]: c.to } as Rules;
      const gained = ROWS.filter((r) => !safeToSend(r.record, rules) && safeToSend(r.record, changed)).length;
      const lost = ROWS.filter((r) => safeToSend(r.record, rules) && !safeToSend(r.record, changed)).length;
      expect([c.gained, c.lost], `${c.rule} → ${c.to}`).toEqual([gained, lost]);
    }
    expect(preview.changes.map((c) => `${c.rule}:${c.to}`)).toEqual(["risky:refuse", "catch_all:refuse", "disposable:refuse", "role:refuse", "free:allow", "min_score:0", "min_score:70", "min_score:90"]);
    expect(preview.changes.find((c) => c.rule === "free")!.gained).toBeGreaterThan(0);
    // A list longer than what is read says so.
    expect(await previewRules(s, who, { rules, rows: 40 })).toMatchObject({ rows: 40, truncated: true, safe: ROWS.slice(0, 40).filter((r) => safeToSend(r.record, rules)).length });
  });

  it("shows nothing for an account without a completed list, whatever other accounts hold", async () => {
    const { accountId } = await seedAccount(0);
    await seedVariedJob(s.db, (await seedAccount(0)).accountId, ROWS);
    expect(await previewRules(s, { accountId, actor: "usr_test" }, { rules: DEFAULT_RULES })).toEqual({ job: null, rows: 0, truncated: false, safe: 0, refused: {}, changes: [] });
  });
});
