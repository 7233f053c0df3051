// What rules would do to the account's latest list, for the rules page: how many of its results
// they make safe to send, what refuses the rest, and how many each one-rule change would flip.
// One read: the list's rows grouped by what the rules read (verdict, flags, score), a few hundred
// groups at most; core's refusalOf then rates each group, so the preview and every other use of
// the rules cannot disagree. Read only. `(services, who, input)`.
import { and, desc, eq, isNull } from "drizzle-orm";
import { refusalOf, RULE_CHOICES, type Refusal, type Ruled, type Rules } from "../../core/rules.ts";
import type { Verdict } from "../../core/verdict.ts";
import { jobs } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import type { Who } from "../who.ts";

/**
 * Rows of the list read at most: a bigger list is judged by its first rows, so the page loads in
 * well under a second (bench/rules/audience.ts: about 0.5–1.5 s per 100,000 rows on a loaded machine).
 */
export const PREVIEW_ROWS = 50_000;

/** The scores offered as other minimums. */
const SCORE_STEPS = [0, 50, 70, 90] as const;

export interface RuleChange {
  rule: keyof Rules;
  to: string | number;
  /** Rows this change alone would make safe to send, and rows it would stop sending to. */
  gained: number;
  lost: number;
}

export interface RulesPreview {
  /** The newest completed verification list; null when the account has none. */
  job: { id: string; name: string } | null;
  /** Rows read, and whether the list has more. */
  rows: number;
  truncated: boolean;
  safe: number;
  /** What refused the rows not safe to send (the verdict, or the first rule that refused). */
  refused: Partial<Record<Refusal, number>>;
  changes: RuleChange[];
}

/** A flag as json_extract reads it: 1, 0, or NULL (null or absent), which the rules count as not set. */
const flag = (v: unknown): boolean | undefined => (v === null ? undefined : Number(v) === 1);

export async function previewRules(s: { db: EdgeDb }, who: Who, input: { rules: Rules; /** Rows read at most. */ rows?: number }): Promise<RulesPreview> {
  const { rules, rows: limit = PREVIEW_ROWS } = input;
  const [job] = await s.db
    .select({ id: jobs.id, name: jobs.name, unique: jobs.unique })
    .from(jobs)
    .where(and(eq(jobs.accountId, who.accountId), eq(jobs.kind, "verify"), eq(jobs.status, "completed"), isNull(jobs.deletedAt)))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(1);
  if (!job) return { job: null, rows: 0, truncated: false, safe: 0, refused: {}, changes: [] };
  const { rows } = await s.db.$client.execute({
    sql: `SELECT verdict, json_extract(result, '$.catch_all') AS catch_all, json_extract(result, '$.disposable') AS disposable,
            json_extract(result, '$.role') AS role, json_extract(result, '$.free') AS free, json_extract(result, '$.score') AS score, count(*) AS n
          FROM (SELECT verdict, result FROM job_emails WHERE job_id = ?1 ORDER BY row_index LIMIT ?2)
          GROUP BY 1, 2, 3, 4, 5, 6`,
    args: [job.id, limit],
  });
  const groups = rows.map((r) => ({
    n: Number(r.n),
    ruled: { verdict: String(r.verdict) as Verdict, catch_all: flag(r.catch_all), disposable: flag(r.disposable), role: flag(r.role), free: flag(r.free), score: r.score === null ? undefined : Number(r.score) } satisfies Ruled,
  }));
  const read = groups.reduce((sum, g) => sum + g.n, 0);
  const refused: Partial<Record<Refusal, number>> = {};
  let safe = 0;
  for (const g of groups) {
    const why = refusalOf(g.ruled, rules);
    if (why === null) safe += g.n;
    else refused[why] = (refused[why] ?? 0) + g.n;
  }
  const changes: RuleChange[] = [];
  const choices = { ...RULE_CHOICES, min_score: SCORE_STEPS };
  for (const rule of Object.keys(choices) as (keyof Rules)[]) {
    for (const to of choices[rule]) {
      if (to === rules[rule]) continue;
      const changed = { ...rules, [rule]: to } as Rules;
      let gained = 0;
      let lost = 0;
      for (const g of groups) {
        const before = refusalOf(g.ruled, rules) === null;
        const after = refusalOf(g.ruled, changed) === null;
        if (after && !before) gained += g.n;
        if (before && !after) lost += g.n;
      }
      changes.push({ rule, to, gained, lost });
    }
  }
  // A completed list holds one row per unique address.
  return { job: { id: job.id, name: job.name }, rows: read, truncated: job.unique > read, safe, refused, changes };
}
