// Test helpers for the rules inside workerd: a completed verification job whose rows vary in
// every way the rules read (verdict, catch_all, disposable, role, free, score), made from a fixed
// seed so a failure repeats, with a few rows written as older records without some flags.
import type { Result } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { Ruled } from "../../core/rules.ts";
import { VERDICTS } from "../../core/verdict.ts";
import { jobEmails, jobs } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { result } from "../testing.ts";

export interface VariedRow {
  rowIndex: number;
  email: string;
  normalized: string;
  /** The record as stored in job_emails.result. */
  record: Ruled & Partial<Result>;
}

/** `n` rows of every kind; row indices have gaps, as after a dedupe. */
export function variedRows(n: number, seed = 25): VariedRow[] {
  let x = seed;
  const next = (m: number) => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x % m;
  };
  return Array.from({ length: n }, (_, i) => {
    const verdict = VERDICTS[next(4)]!;
    const free = next(3) === 0;
    const email = `p${i}@${free ? "gmail" : "corp"}${i % 7}.test`;
    const full = result(email, verdict, {
      catch_all: [true, false, null][next(3)]!,
      disposable: next(5) === 0,
      role: next(4) === 0,
      free,
      score: [0, 30, 55, 75, 85, 95][next(6)]!,
    });
    // Every ninth row is an older record: no role or free flag, no score.
    const { role: _role, free: _free, score: _score, ...older } = full;
    const record = i % 9 === 8 ? older : full;
    return { rowIndex: i * 2, email, normalized: email, record };
  });
}

/** A completed verification job of the account holding `rows`. */
export async function seedVariedJob(db: EdgeDb, accountId: string, rows: VariedRow[]): Promise<string> {
  const jobId = newId("job");
  const count = (v: string) => rows.filter((r) => r.record.verdict === v).length;
  await db.insert(jobs).values({
    id: jobId, accountId, name: "varied.csv", kind: "verify", status: "completed", total: rows.length, unique: rows.length, processed: rows.length,
    deliverable: count("deliverable"), undeliverable: count("undeliverable"), risky: count("risky"), unknown: count("unknown"),
    columns: JSON.stringify(["email", "first_name"]), emailColumn: "email",
  });
  for (let i = 0; i < rows.length; i += 200) {
    await db.insert(jobEmails).values(
      rows.slice(i, i + 200).map((r) => ({
        jobId, normalized: r.normalized, email: r.email, rowIndex: r.rowIndex, row: JSON.stringify([r.email, `P${r.rowIndex}`]), batchId: "bat_x",
        verdict: r.record.verdict, reason: r.record.reason ?? "accepted", result: JSON.stringify(r.record),
      })),
    );
  }
  return jobId;
}
