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
// Takes `(services, input)`: the job was read for its owner (getJob), so no who is needed again.
import { and, asc, eq, gt, inArray, not, sql } from "drizzle-orm";
import type { FindAnswer, Result } from "../../core/contracts.ts";
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

/** One exported row: the user's cells as uploaded and our record. */
interface ExportRow { theirs: string[]; record: ResultRecord | FindRecord }

/** The table formats' shape of a job's export: the header, and a row's cells under it. */
interface ExportTable { header: string[]; cells: (row: ExportRow) => Cell[] }

function exportTable(job: JobRow): ExportTable {
  const uploaded: string[] | null = job.columns ? (JSON.parse(job.columns) as string[]) : null;
  const theirs = uploaded ?? ["email"];
  const ours = (job.kind === "find" ? FIND_COLUMNS : RESULT_COLUMNS) as Column<ExportRow["record"]>[];
  // Ours get a prefix only where the upload already has a column of that name.
  const taken = new Set(theirs.map((h) => h.toLowerCase()));
  return {
    header: [...theirs, ...ours.map((c) => (taken.has(c.name) ? `mxray_${c.name}` : c.name))],
    cells: (row) => {
      const padded = uploaded ? Array.from({ length: uploaded.length }, (_, i) => row.theirs[i] ?? "") : row.theirs;
      return [...padded, ...ours.map((c) => c.cell(row.record))];
    },
  };
}

function recordOf(job: JobRow, rules: Rules, row: { email: string; result: string; bounceId: string | null; bounceStatus: string | null; bouncedAt: number | null }): ExportRow["record"] {
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
  const text = (s: string) => { if (s) out(encoder.encode(s)); };
  switch (format) {
    case "jsonl":
      return { page: (rows) => text(rows.map((r) => `${JSON.stringify(r.record)}\n`).join("")), end: () => {} };
    case "json": {
      let first = true;
      text("[");
      return {
        page: (rows) => text(rows.map((r) => { const s = `${first ? "" : ","}\n${JSON.stringify(r.record)}`; first = false; return s; }).join("")),
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
  let lastRow = -1;
  let encoder: Encoder;
  let rulesRead: Promise<Rules> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      encoder = encoderFor(format, table, (chunk) => controller.enqueue(chunk));
    },
    async pull(controller) {
      const rules = await (rulesRead ??= rulesOf(s.db, job.accountId));
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
      encoder.page(rows.map((row) => ({ theirs: row.row ? (JSON.parse(row.row) as string[]) : [row.email], record: recordOf(job, rules, row) })));
      if (rows.length > 0) lastRow = rows.at(-1)!.rowIndex;
      if (rows.length < PAGE) {
        encoder.end();
        controller.close();
      }
    },
  });
}
