// The rules' SQL predicate against core's safeToSend, inside workerd on the real sqld: on a job
// holding every combination of verdict, flags (set, unset, null, absent) and score (absent too),
// each of every set of rules picks exactly the rows safeToSend picks, and its negation the rest.
import { describe, expect, it } from "vitest";
// First: the Worker's modules extend zod for the OpenAPI document before core's schemas are made.
import { seedAccount, testServices } from "../testing.ts";
import { newId } from "../../core/ids.ts";
import { RulesSchema, safeToSend, type Ruled, type Rules } from "../../core/rules.ts";
import { VERDICTS } from "../../core/verdict.ts";
import { jobEmails, jobs } from "../../db/schema.ts";
import { safeToSendSql } from "./sql.ts";

const s = testServices();

/** A flag's four states in a stored record: true, false, null, or not there at all. */
const FLAG_STATES = [true, false, null, undefined] as const;

function everyRow(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const verdict of VERDICTS)
    for (const catch_all of FLAG_STATES)
      for (const disposable of FLAG_STATES)
        for (const role of FLAG_STATES)
          for (const free of FLAG_STATES)
            for (const score of [0, 49, 50, 100, undefined]) {
              // JSON.stringify leaves out undefined fields: a record older than the flag.
              rows.push({ verdict, catch_all, disposable, role, free, score });
            }
  return rows;
}

function everyRuleSet(): Rules[] {
  const sets: Rules[] = [];
  for (const risky of ["refuse", "allow"] as const)
    for (const catch_all of ["risky", "refuse"] as const)
      for (const disposable of ["risky", "refuse"] as const)
        for (const role of ["allow", "refuse"] as const)
          for (const free of ["allow", "refuse"] as const)
            for (const min_score of [0, 1, 50, 100]) sets.push(RulesSchema.parse({ risky, catch_all, disposable, role, free, min_score }));
  return sets;
}

describe("safeToSendSql", () => {
  it("agrees with safeToSend on every combination of verdict, flags and score, under every set of rules", async () => {
    const { accountId } = await seedAccount(0);
    const jobId = newId("job");
    await s.db.insert(jobs).values({ id: jobId, accountId, name: "every.csv", status: "completed" });
    const records = everyRow();
    const keyOf = (i: number) => `r${i}@x.test`;
    for (let i = 0; i < records.length; i += 500) {
      await s.db.insert(jobEmails).values(
        records.slice(i, i + 500).map((r, j) => ({
          jobId, normalized: keyOf(i + j), email: keyOf(i + j), rowIndex: i + j, verdict: r.verdict as Ruled["verdict"], reason: "accepted", result: JSON.stringify(r),
        })),
      );
    }
    const all = records.map((_, i) => keyOf(i)).sort();
    const sets = everyRuleSet();
    expect(sets).toHaveLength(128);
    for (const rules of sets) {
      const predicate = safeToSendSql(rules, "e");
      const [safe, unsafe] = await s.db.$client.batch(
        [
          { sql: `SELECT e.normalized FROM job_emails e WHERE e.job_id = ? AND ${predicate} ORDER BY e.normalized`, args: [jobId] },
          { sql: `SELECT e.normalized FROM job_emails e WHERE e.job_id = ? AND NOT ${predicate} ORDER BY e.normalized`, args: [jobId] },
        ],
        "read",
      );
      const want = records.flatMap((r, i) => (safeToSend(r as Ruled, rules) ? [keyOf(i)] : [])).sort();
      const got = safe!.rows.map((r) => String(r.normalized));
      expect(got, JSON.stringify(rules)).toEqual(want);
      expect([...got, ...unsafe!.rows.map((r) => String(r.normalized))].sort()).toEqual(all);
    }
  });

  it("with the default rules reads the verdict alone, and never takes a row name it cannot write safely", () => {
    expect(safeToSendSql(RulesSchema.parse({}), "e")).toBe("(e.verdict = 'deliverable')");
    expect(safeToSendSql(RulesSchema.parse({ risky: "allow" }), "job_emails")).toBe("(job_emails.verdict IN ('deliverable', 'risky'))");
    expect(() => safeToSendSql(RulesSchema.parse({}), "e; DROP TABLE jobs")).toThrow(/not a row name/);
    expect(() => safeToSendSql({ ...RulesSchema.parse({}), min_score: "1; --" as unknown as number }, "e")).toThrow(/min_score/);
  });
});
