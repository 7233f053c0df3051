// Streaming export of a job's results in the user's row order: JSON Lines, a JSON array, CSV that
// keeps the uploaded columns and adds ours (safe against formula injection), or an XLSX workbook
// with the CSV's columns. A job of kind `find` exports each person's answer: the address found,
// its verdict, confidence and pattern. A verification's JSON rows say whether a bounce
// contradicted it (`contradicted`, issue 24); the CSV keeps its columns. A verification's row says
// whether it is `safe_to_send` under the account's rules as they are when the export starts
// (issue 25, core/rules.ts), and may be filtered by it.
// Every format is written from one model: a page of rows read once, each row's record (the JSON
// formats' object) and its cells under one header (the table formats'), so a column added to
// RESULT_COLUMNS or FIND_COLUMNS, read from the record, reaches CSV and XLSX alike.
//
// The full export (no verdict or safe_to_send filter, issue 26) gives one line per data row of the
// upload, in its order, with its cells: a repeated address carries its first row's result, a
// rejected row an empty verdict and its reject reason. Each page is one statement that merges the
// job's answered rows (job_emails) with the rows that have none of their own (job_rows) by
// row_index, a repeat joined to its first row's answer by the primary key. A filtered export gives
// each address once, as answered. In JSON and JSON Lines every record also carries `row` (the
// data row's number, from 1; an address's first row in a filtered export) and `columns` (its
// cells by header name).
// Takes `(services, input)`: the job was read for its owner (getJob), so no who is needed again.
import { and, asc, eq, gt, inArray, not, sql } from "drizzle-orm";
import type { FindAnswer, RejectReason, Result } from "../../core/contracts.ts";
import { csvRow } from "../../core/csvexport.ts";
import { safeToSend, type Rules } from "../../core/rules.ts";
import type { Verdict } from "../../core/verdict.ts";
import { XLSX_CONTENT_TYPE, XLSX_MAX_COLUMNS, XlsxWriter, type XlsxCell } from "../../core/xlsxexport.ts";
import { bounces, jobEmails } from "../../db/schema.ts";
import { contradictionOf } from "../bounces/views.ts";
import type { Services } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { rulesOf } from "../rules/rules.ts";
import { safeToSendSql } from "../rules/sql.ts";
import type { JobRow } from "./view.ts";

export const EXPORT_FORMATS = ["csv", "json", "jsonl", "xlsx"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
  jsonl: "application/x-ndjson; charset=utf-8",
  xlsx: XLSX_CONTENT_TYPE,
};

const PAGE = 1_000;

type Cell = string | number | boolean | null;
/** One of our columns: its name, and its cell read from the row's record. A number stays a number in XLSX. */
interface Column<R> { name: string; cell: (record: R) => Cell }

/** A verification's record: the result without the probe's trace, the bounce that contradicted it, and whether the rules let it be sent to. */
type ResultRecord = Omit<Result, "trace"> & { contradicted: ReturnType<typeof contradictionOf>; safe_to_send: boolean };
/** A find job's record: its person (as the job lists them) and the answer, without the trace. */
type FindRecord = Omit<FindAnswer, "trace"> & { person: string };

const RESULT_COLUMNS: Column<ResultRecord>[] = [
  { name: "verdict", cell: (r) => r.verdict },
  { name: "reason", cell: (r) => r.reason },
  { name: "score", cell: (r) => r.score },
  { name: "catch_all", cell: (r) => r.catch_all },
  { name: "disposable", cell: (r) => r.disposable },
  { name: "role", cell: (r) => r.role },
  { name: "free", cell: (r) => r.free },
  { name: "suggestion", cell: (r) => r.suggestion },
  { name: "mx", cell: (r) => r.mx },
  { name: "smtp_code", cell: (r) => r.smtp?.code ?? null },
  { name: "smtp_message", cell: (r) => r.smtp?.message ?? null },
  { name: "safe_to_send", cell: (r) => r.safe_to_send },
];
const FIND_COLUMNS: Column<FindRecord>[] = [
  { name: "email", cell: (r) => r.email },
  { name: "verdict", cell: (r) => r.verdict },
  { name: "reason", cell: (r) => r.reason },
  { name: "confidence", cell: (r) => r.confidence },
  { name: "pattern", cell: (r) => r.pattern },
  { name: "catch_all", cell: (r) => r.catch_all },
];

/** A rejected row's record: no address was verified, and why. */
interface RejectRecord { email: string; verdict: null; reason: RejectReason }

/** One exported row: its data row number (from 1), the user's cells as uploaded, and our record. */
interface ExportRow { row: number; theirs: string[]; record: ResultRecord | FindRecord | RejectRecord }

const isReject = (r: ExportRow["record"]): r is RejectRecord => r.verdict === null;

/** The table formats' shape of a job's export: the header, a row's cells under it, and its cells by header name (the JSON formats' `columns`). */
interface ExportTable { header: string[]; cells: (row: ExportRow) => Cell[]; columns: (row: ExportRow) => Record<string, string> }

function exportTable(job: JobRow): ExportTable {
  const uploaded: string[] | null = job.columns ? (JSON.parse(job.columns) as string[]) : null;
  const theirs = uploaded ?? ["email"];
  const ours = (job.kind === "find" ? FIND_COLUMNS : RESULT_COLUMNS) as Column<ResultRecord | FindRecord>[];
  // Ours get a prefix only where the upload already has a column of that name.
  const taken = new Set(theirs.map((h) => h.toLowerCase()));
  // `columns` keys: the header names; a name the header repeats gets its position after it ("email_3").
  const keys: string[] = [];
  for (const [i, h] of theirs.entries()) keys.push(keys.includes(h) ? `${h}_${i + 1}` : h);
  const padded = (row: ExportRow) => (uploaded ? Array.from({ length: uploaded.length }, (_, i) => row.theirs[i] ?? "") : [row.theirs[0] ?? ""]);
  return {
    header: [...theirs, ...ours.map((c) => (taken.has(c.name) ? `mxray_${c.name}` : c.name))],
    // A rejected row has an empty verdict and its reason; none of our other columns.
    cells: (row) => [...padded(row), ...ours.map((c) => (isReject(row.record) ? (c.name === "reason" ? row.record.reason : null) : c.cell(row.record)))],
    columns: (row) => Object.fromEntries(padded(row).map((cell, i) => [keys[i]!, cell])),
  };
}

/** A job_emails row as the export reads it. */
interface Answered { rowIndex: number; email: string; row: string | null; result: string; bounceId: string | null; bounceStatus: string | null; bouncedAt: number | null }

function recordOf(job: JobRow, rules: Rules, row: Answered): ResultRecord | FindRecord {
  if (job.kind === "find") {
    const { trace: _trace, ...answer } = JSON.parse(row.result) as FindAnswer;
    return { person: row.email, ...answer };
  }
  const { trace: _trace, ...result } = JSON.parse(row.result) as Result;
  return { ...result, contradicted: contradictionOf(row.bounceId, row.bounceStatus, row.bouncedAt), safe_to_send: safeToSend(result, rules) };
}

/** A format's writer: `page` takes each page of rows as read, `end` closes the file. */
interface Encoder { page: (rows: ExportRow[]) => void; end: () => void }

function encoderFor(format: ExportFormat, table: ExportTable, out: (chunk: Uint8Array) => void): Encoder {
  const encoder = new TextEncoder();
  const json = (r: ExportRow) => ({ row: r.row, ...r.record, columns: table.columns(r) });
  const text = (s: string) => { if (s) out(encoder.encode(s)); };
  switch (format) {
    case "jsonl":
      return { page: (rows) => text(rows.map((r) => `${JSON.stringify(json(r))}\n`).join("")), end: () => {} };
    case "json": {
      let first = true;
      text("[");
      return {
        page: (rows) => text(rows.map((r) => { const s = `${first ? "" : ","}\n${JSON.stringify(json(r))}`; first = false; return s; }).join("")),
        end: () => text("\n]\n"),
      };
    }
    case "csv":
      text(csvRow(table.header));
      return { page: (rows) => text(rows.map((r) => csvRow(table.cells(r))).join("")), end: () => {} };
    case "xlsx": {
      // No apostrophes as in the CSV: inline strings are never evaluated as formulas (core/xlsxexport.ts).
      const sheet = new XlsxWriter(table.header, out);
      return {
        page: (rows) => {
          for (const r of rows) sheet.row(table.cells(r) as XlsxCell[]);
          sheet.flush();
        },
        end: () => sheet.end(),
      };
    }
  }
}

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
  const table = exportTable(job);
  if (format === "xlsx" && table.header.length > XLSX_MAX_COLUMNS) {
    throw new ServiceError("validation_failed", `This job has ${table.header.length} columns and a worksheet holds ${XLSX_MAX_COLUMNS}: export it as CSV`);
  }
  const full = verdicts === null && input.safeToSend === undefined;
  let lastRow = -1;
  let encoder: Encoder;
  let rulesRead: Promise<Rules> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      encoder = encoderFor(format, table, (chunk) => controller.enqueue(chunk));
    },
    async pull(controller) {
      const rules = await (rulesRead ??= rulesOf(s.db, job.accountId));
      const page = full ? await everyRow(s, job, lastRow) : await answeredRows(s, job, rules, lastRow, verdicts, input.safeToSend);
      encoder.page(page.map((r) => ({ row: r.rowIndex + 1, theirs: r.row ? (JSON.parse(r.row) as string[]) : [r.email], record: r.reason !== null ? { email: "", verdict: null, reason: r.reason } : recordOf(job, rules, r) })));
      if (page.length > 0) lastRow = page.at(-1)!.rowIndex;
      if (page.length < PAGE) {
        encoder.end();
        controller.close();
      }
    },
  });
}

/** A page's row as read: an answered row (its own, or a repeat's first row's answer), or a reject (`reason` set). */
interface PageRow extends Answered { reason: RejectReason | null }

/** A filtered export's next page: answered rows only, each address once. */
async function answeredRows(s: Services, job: JobRow, rules: Rules, after: number, verdicts: Verdict[] | null, safe: boolean | undefined): Promise<PageRow[]> {
  const rows = await s.db
    .select({ rowIndex: jobEmails.rowIndex, email: jobEmails.email, row: jobEmails.row, result: jobEmails.result, bounceId: bounces.id, bounceStatus: bounces.status, bouncedAt: bounces.occurredAt })
    .from(jobEmails)
    // At most one: bounces_refund is unique on the verification it contradicted.
    .leftJoin(bounces, and(eq(bounces.refundJobId, jobEmails.jobId), eq(bounces.refundNormalized, jobEmails.normalized)))
    .where(and(eq(jobEmails.jobId, job.id), gt(jobEmails.rowIndex, after), verdicts ? inArray(jobEmails.verdict, verdicts) : undefined, safeFilter(rules, safe)))
    .orderBy(asc(jobEmails.rowIndex))
    .limit(PAGE);
  return rows.map((r) => ({ ...r, reason: null }));
}

/**
 * The full export's next page, in one statement: the answered rows and job_rows merged by
 * row_index (SQLite merges the two index-ordered scans and stops at the LIMIT), each repeat with
 * its first row's answer by the primary key. A repeat whose first row is not answered yet waits
 * for it, as that row does.
 */
async function everyRow(s: Services, job: JobRow, after: number): Promise<PageRow[]> {
  const { rows } = await s.db.$client.execute({
    sql: `SELECT e.row_index, e.email, e.row, e.result, NULL AS reason, b.id AS bounce_id, b.status AS bounce_status, b.occurred_at AS bounced_at
            FROM job_emails e LEFT JOIN bounces b ON b.refund_job_id = e.job_id AND b.refund_normalized = e.normalized
            WHERE e.job_id = ?1 AND e.row_index > ?2
          UNION ALL
          SELECT r.row_index, e.email, r.row, e.result, r.reason, b.id, b.status, b.occurred_at
            FROM job_rows r LEFT JOIN job_emails e ON e.job_id = r.job_id AND e.normalized = r.normalized
              LEFT JOIN bounces b ON b.refund_job_id = e.job_id AND b.refund_normalized = e.normalized
            WHERE r.job_id = ?1 AND r.row_index > ?2 AND (r.reason IS NOT NULL OR e.job_id IS NOT NULL)
          ORDER BY 1 LIMIT ?3`,
    args: [job.id, after, PAGE],
  });
  return rows.map((r) => ({
    rowIndex: Number(r.row_index), email: r.email === null ? "" : String(r.email), row: r.row === null ? null : String(r.row), result: r.result === null ? "" : String(r.result),
    reason: r.reason === null ? null : (String(r.reason) as RejectReason),
    bounceId: r.bounce_id === null ? null : String(r.bounce_id), bounceStatus: r.bounce_status === null ? null : String(r.bounce_status), bouncedAt: r.bounced_at === null ? null : Number(r.bounced_at),
  }));
}
