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
// rejected row an empty verdict and its reject reason. It merges the job's answered rows
// (job_emails) with the rows that have none of their own (job_rows), both read by row_index a
// page at a time, and reads a page's repeats' results in one keyed read. A filtered export gives
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
import { bounces, jobEmails, jobRows } from "../../db/schema.ts";
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
interface Answered { normalized: string; rowIndex: number; email: string; row: string | null; result: string; bounceId: string | null; bounceStatus: string | null; bouncedAt: number | null }

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
      const [answered, others] = await Promise.all([
        s.db.select(ANSWERED).from(jobEmails)
          // At most one: bounces_refund is unique on the verification it contradicted.
          .leftJoin(bounces, and(eq(bounces.refundJobId, jobEmails.jobId), eq(bounces.refundNormalized, jobEmails.normalized)))
          .where(and(eq(jobEmails.jobId, job.id), gt(jobEmails.rowIndex, lastRow), verdicts ? inArray(jobEmails.verdict, verdicts) : undefined, safeFilter(rules, input.safeToSend)))
          .orderBy(asc(jobEmails.rowIndex))
          .limit(PAGE),
        full
          ? s.db.select().from(jobRows).where(and(eq(jobRows.jobId, job.id), gt(jobRows.rowIndex, lastRow))).orderBy(asc(jobRows.rowIndex)).limit(PAGE)
          : Promise.resolve([]),
      ]);
      // Rows up to the first full page's last row are all read; the rest come with the next page.
      const through = Math.min(answered.length === PAGE ? answered.at(-1)!.rowIndex : Infinity, others.length === PAGE ? others.at(-1)!.rowIndex : Infinity);
      const repeated = await firstRows(s, job.id, [...new Set(others.flatMap((o) => (o.rowIndex <= through && o.normalized !== null ? [o.normalized] : [])))]);
      const page: ExportRow[] = [];
      const answer = (a: Answered, rowIndex: number, theirs: string[]) => page.push({ row: rowIndex + 1, theirs, record: recordOf(job, rules, a) });
      let i = 0;
      let j = 0;
      for (;;) {
        const a = answered[i];
        const o = others[j];
        if (a && a.rowIndex <= through && (!o || a.rowIndex < o.rowIndex)) {
          answer(a, a.rowIndex, a.row ? (JSON.parse(a.row) as string[]) : [a.email]);
          i++;
        } else if (o && o.rowIndex <= through) {
          const theirs = JSON.parse(o.row) as string[];
          if (o.reason !== null) page.push({ row: o.rowIndex + 1, theirs, record: { email: "", verdict: null, reason: o.reason as RejectReason } });
          else {
            // A repeat whose first row is not answered yet waits for it, as that row does.
            const first = repeated.get(o.normalized!);
            if (first) answer(first, o.rowIndex, theirs);
          }
          j++;
        } else break;
      }
      encoder.page(page);
      if (through !== Infinity) lastRow = through;
      else {
        encoder.end();
        controller.close();
      }
    },
  });
}

const ANSWERED = {
  normalized: jobEmails.normalized, rowIndex: jobEmails.rowIndex, email: jobEmails.email, row: jobEmails.row, result: jobEmails.result,
  bounceId: bounces.id, bounceStatus: bounces.status, bouncedAt: bounces.occurredAt,
};

/** The answered first rows of a page's repeats, by key: one read by the primary key (job_id, normalized). */
async function firstRows(s: Services, jobId: string, keys: string[]): Promise<Map<string, Answered>> {
  if (keys.length === 0) return new Map();
  const rows = await s.db.select(ANSWERED).from(jobEmails)
    .leftJoin(bounces, and(eq(bounces.refundJobId, jobEmails.jobId), eq(bounces.refundNormalized, jobEmails.normalized)))
    .where(and(eq(jobEmails.jobId, jobId), sql`${jobEmails.normalized} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`));
  return new Map(rows.map((r) => [r.normalized, r]));
}
