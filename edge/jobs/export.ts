// Streaming export of a job's results in the user's row order: JSON Lines, a JSON array, or CSV
// that keeps the uploaded columns and adds ours, safe against formula injection. A job of kind
// `find` exports each person's answer: the address found, its verdict, confidence and pattern.
// A verification's JSON rows say whether a bounce contradicted it (`contradicted`, issue 24); the
// CSV keeps its columns. A verification's row says whether it is `safe_to_send` under the
// account's rules as they are when the export starts (issue 25, core/rules.ts), and may be
// filtered by it. Takes `(services, input)`: the job was read for its owner (getJob), so no who is
// needed again.
import { and, asc, eq, gt, inArray, not, sql } from "drizzle-orm";
import type { FindAnswer, Result } from "../../core/contracts.ts";
import { csvRow } from "../../core/csvexport.ts";
import { safeToSend, type Rules } from "../../core/rules.ts";
import type { Verdict } from "../../core/verdict.ts";
import { bounces, jobEmails } from "../../db/schema.ts";
import { contradictionOf } from "../bounces/views.ts";
import type { Services } from "../context.ts";
import { rulesOf } from "../rules/rules.ts";
import { safeToSendSql } from "../rules/sql.ts";
import type { JobRow } from "./view.ts";

export const EXPORT_FORMATS = ["csv", "json", "jsonl"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const PAGE = 1_000;
const OUR_COLUMNS = ["verdict", "reason", "score", "catch_all", "disposable", "role", "free", "suggestion", "mx", "smtp_code", "smtp_message", "safe_to_send"] as const;
const FIND_COLUMNS = ["email", "verdict", "reason", "confidence", "pattern", "catch_all"] as const;

/** Results without the probe's debugging trace. */
function publicResult(json: string): Result {
  const { trace: _trace, ...r } = JSON.parse(json) as Result;
  return r;
}

/** A find job's row: its person (as the job lists them) and the answer, without the trace. */
function publicFind(person: string, json: string): FindAnswer & { person: string } {
  const { trace: _trace, ...answer } = JSON.parse(json) as FindAnswer;
  return { person, ...answer };
}

/** Our columns after the user's, in CSV: an answer's for a find job, a verification's otherwise. */
function ourCells(job: JobRow, json: string, rules: Rules): (string | number | boolean | null)[] {
  if (job.kind === "find") {
    const a = JSON.parse(json) as FindAnswer;
    return [a.email, a.verdict, a.reason, a.confidence, a.pattern, a.catch_all];
  }
  const r = publicResult(json);
  return [r.verdict, r.reason, r.score, r.catch_all, r.disposable, r.role, r.free, r.suggestion, r.mx, r.smtp?.code ?? null, r.smtp?.message ?? null, safeToSend(r, rules)];
}

/** A verification's JSON row: the result, whether a bounce contradicted it, and whether the rules let it be sent to. */
const verificationRow = (r: Result, rules: Rules, contradicted: ReturnType<typeof contradictionOf>) => ({ ...r, contradicted, safe_to_send: safeToSend(r, rules) });

/** The rows the safe_to_send filter keeps, as the rules' one SQL predicate (edge/rules/sql.ts). */
function safeFilter(rules: Rules, wanted: boolean | undefined) {
  if (wanted === undefined) return undefined;
  const safe = sql.raw(safeToSendSql(rules, "job_emails"));
  return wanted ? safe : not(safe);
}

export interface ExportInput {
  job: JobRow;
  format: ExportFormat;
  /** null: every verdict */
  verdicts: Verdict[] | null;
  /** Only rows safe (true) or not safe (false) to send; absent: both. A verification job's filter. */
  safeToSend?: boolean | undefined;
}

export function exportResults(s: Services, input: ExportInput): ReadableStream<Uint8Array> {
  const { job, format, verdicts } = input;
  let rulesRead: Promise<Rules> | undefined;
  const encoder = new TextEncoder();
  const header: string[] | null = job.columns ? (JSON.parse(job.columns) as string[]) : null;
  const width = header?.length ?? 1;
  let lastRow = -1;
  let started = false;
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const rules = await (rulesRead ??= rulesOf(s.db, job.accountId));
      let out = "";
      if (!started) {
        started = true;
        if (format === "json") out += "[";
        if (format === "csv") {
          const theirs = header ?? ["email"];
          // Ours get a prefix only where the upload already has a column of that name.
          const taken = new Set(theirs.map((h) => h.toLowerCase()));
          const ours = job.kind === "find" ? FIND_COLUMNS : OUR_COLUMNS;
          out += csvRow([...theirs, ...ours.map((c) => (taken.has(c) ? `mxray_${c}` : c))]);
        }
      }
      const rows = await s.db
        .select({
          rowIndex: jobEmails.rowIndex, email: jobEmails.email, row: jobEmails.row, result: jobEmails.result,
          bounceId: bounces.id, bounceStatus: bounces.status, bouncedAt: bounces.occurredAt,
        })
        .from(jobEmails)
        // At most one: bounces_refund is unique on the verification it contradicted.
        .leftJoin(bounces, and(eq(bounces.refundJobId, jobEmails.jobId), eq(bounces.refundNormalized, jobEmails.normalized)))
        .where(and(eq(jobEmails.jobId, job.id), gt(jobEmails.rowIndex, lastRow), verdicts ? inArray(jobEmails.verdict, verdicts) : undefined, safeFilter(rules, input.safeToSend)))
        .orderBy(asc(jobEmails.rowIndex))
        .limit(PAGE);
      for (const row of rows) {
        const r =
          format === "csv" ? null
          : job.kind === "find" ? publicFind(row.email, row.result)
          : verificationRow(publicResult(row.result), rules, contradictionOf(row.bounceId, row.bounceStatus, row.bouncedAt));
        if (format === "jsonl") out += `${JSON.stringify(r)}\n`;
        else if (format === "json") {
          out += `${first ? "" : ","}\n${JSON.stringify(r)}`;
          first = false;
        } else {
          const theirs = row.row ? (JSON.parse(row.row) as string[]) : [row.email];
          const padded = header ? Array.from({ length: width }, (_, i) => theirs[i] ?? "") : theirs;
          out += csvRow([...padded, ...ourCells(job, row.result, rules)]);
        }
      }
      if (rows.length > 0) lastRow = rows.at(-1)!.rowIndex;
      if (rows.length < PAGE) {
        if (format === "json") out += "\n]\n";
        if (out) controller.enqueue(encoder.encode(out));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(out));
    },
  });
}
