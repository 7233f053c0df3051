// The account's rules (core/rules.ts) as one SQL predicate over a job_emails row: its verdict
// column, and the flags and score of its `result` JSON. The one place the rules become SQL: the
// results' filter (edge/jobs/browse.ts, export.ts), the campaign audience
// (edge/campaigns/audience.ts) and its estimate (choices.ts) all use it, and sql.test.ts holds it to
// core's safeToSend on every combination. Only the clauses the rules need are written: with the
// default rules it is the verdict test alone, which the (job_id, verdict, row_index) index
// answers without reading a row's JSON.
import type { Rules } from "../../core/rules.ts";

/** A JSON boolean read by json_extract is 1 or 0; an absent field is NULL, which `IS NOT 1` counts as not set (as core does). */
const notFlagged = (row: string, flag: string) => `json_extract(${row}.result, '$.${flag}') IS NOT 1`;

/**
 * `safe_to_send` of the row named `row` (an alias, or the table's name) as a boolean SQL
 * expression, never NULL, so `NOT (…)` is its exact complement. The rules' values are inlined:
 * they are a closed set of words and a whole number, checked here again.
 */
export function safeToSendSql(rules: Rules, row = "e"): string {
  if (!/^\w+$/.test(row)) throw new Error(`not a row name: ${row}`);
  if (!Number.isInteger(rules.min_score) || rules.min_score < 0 || rules.min_score > 100) throw new Error(`min_score out of range: ${rules.min_score}`);
  const clauses = [rules.risky === "allow" ? `${row}.verdict IN ('deliverable', 'risky')` : `${row}.verdict = 'deliverable'`];
  if (rules.catch_all === "refuse") clauses.push(notFlagged(row, "catch_all"));
  if (rules.disposable === "refuse") clauses.push(notFlagged(row, "disposable"));
  if (rules.role === "refuse") clauses.push(notFlagged(row, "role"));
  if (rules.free === "refuse") clauses.push(notFlagged(row, "free"));
  if (rules.min_score > 0) clauses.push(`coalesce(json_extract(${row}.result, '$.score'), 0) >= ${rules.min_score}`);
  return `(${clauses.join(" AND ")})`;
}
