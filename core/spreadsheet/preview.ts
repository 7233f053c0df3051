// What an .xlsx or .zip upload will become, worked out in the browser before it is sent (as
// core/listpreview.ts does for a CSV): with the edge's own reader, so the counts, the columns and
// each file's line are the ones the job will have. Reading a large workbook takes seconds, so past
// FULL_PREVIEW_BYTES the page only outlines it (its sheets, or its files and which are skipped)
// and says the rest is counted on upload.
import type { FileAccount, FileSkipReason } from "../contracts.ts";
import type { JobKind } from "../enums.ts";
import type { ListPreview } from "../listpreview.ts";
import { PREVIEW_ROWS } from "../listpreview.ts";
import { ArchiveIngest, skipReason, WORKBOOK_PART } from "./archive.ts";
import { WorkbookReader, type SheetInfo } from "./workbook.ts";
import { InflateBudget, ZipReader } from "./zipstream.ts";

/** Uploads up to this size are read whole in the browser (~250,000 rows of a workbook, a second or two). */
export const FULL_PREVIEW_BYTES = 16 * 1024 * 1024;

export interface ArchivePreview extends ListPreview {
  workbook: boolean;
  files: FileAccount[];
}

export interface ArchiveOutline {
  workbook: boolean;
  /** A workbook's sheets. */
  sheets: { name: string; hidden: boolean }[];
  /** An archive's entries, each with why it will be skipped (null: read). */
  entries: { name: string; skipped: FileSkipReason | null }[];
}

const options = (filename: string, workbook: boolean) => ({ filename, workbook, maxUnzippedBytes: 1024 * 1024 * 1024, maxHeldBytes: 80 * 1024 * 1024 });

/** Reads the whole upload as the edge will; throws core's SpreadsheetError as the edge would refuse it. */
export function previewArchive(bytes: Uint8Array, opts: { filename: string; workbook: boolean; kind: JobKind; column?: string | undefined; sheet?: string | undefined }): ArchivePreview {
  const archive = new ArchiveIngest({ ...options(opts.filename, opts.workbook), kind: opts.kind, column: opts.column, sheet: opts.sheet });
  const firstRows: string[][] = [];
  const take = (rows: Iterable<{ fields: string[] }[]>) => {
    for (const got of rows) for (const r of got) if (firstRows.length < PREVIEW_ROWS) firstRows.push(r.fields);
  };
  take(archive.push(bytes));
  take(archive.end());
  const f = archive.files;
  const header = f.header;
  const width = Math.max(0, header?.length ?? 0, ...firstRows.map((r) => r.length));
  const missing = opts.kind === "find" && f.read === 0 && f.files.some((x) => x.skipped === "no_people_columns") ? "name" : null;
  return {
    workbook: archive.isWorkbook, files: f.files, header, width, column: f.column, firstRows,
    rows: f.total, unique: f.unique, duplicates: f.total - f.unique, invalid: f.invalid, rejects: f.rejects, cost: f.unique, missing,
  };
}

/** The upload's sheets or entries, without reading a cell (fast at any size). */
export function outlineArchive(bytes: Uint8Array, opts: { filename: string; workbook: boolean }): ArchiveOutline {
  const budget = new InflateBudget(options(opts.filename, opts.workbook).maxUnzippedBytes, Number.MAX_SAFE_INTEGER);
  let sheets: SheetInfo[] = [];
  const book = new WorkbookReader<never>({ what: opts.filename, budget, listed: (s) => void (sheets = s), choose: () => "not_selected", skip: () => {}, begin: () => { throw new Error("no sheet is read"); } });
  const entries: ArchiveOutline["entries"] = [];
  let workbook: boolean | null = opts.workbook ? true : null;
  const zip = new ZipReader<never>((entry) => {
    workbook ??= WORKBOOK_PART.test(entry.name);
    // Only the parts that name the sheets: the shared strings may be tens of megabytes.
    if (workbook) return /(^_rels\/\.rels|workbook\.xml(\.rels)?)$/i.test(entry.name) ? book.open(entry) : null;
    entries.push({ name: entry.name, skipped: skipReason(entry.name) });
    return null;
  }, "the upload");
  [...zip.push(bytes)];
  [...zip.end()];
  return { workbook: workbook === true, sheets: sheets.filter((s) => s.worksheet).map((s) => ({ name: s.name, hidden: s.hidden })), entries };
}
