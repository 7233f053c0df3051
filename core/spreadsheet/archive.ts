// A zip upload read into one job as it streams: either an .xlsx workbook (every sheet with an
// email column, or the one named by `sheet`) or an archive of lists (each CSV, TSV or TXT file,
// and each .xlsx workbook's sheets, read on its own; folders, system files and other types are
// listed as skipped). Which of the two is told by the upload's name or content type, or else by
// its first entry: a workbook's is one of its package parts. Rows come out as they are read, in
// pieces the caller writes before more is read (docs/jobs.md, docs/decisions/013-spreadsheets.md).
import type { FileSkipReason } from "../contracts.ts";
import type { JobKind } from "../enums.ts";
import type { IngestedAddress, OtherRow } from "../ingest.ts";
import { FileSet } from "./fileset.ts";
import { MAX_ARCHIVE_ENTRIES, SpreadsheetError } from "./limits.ts";
import { sniff } from "./sniff.ts";
import { Utf8Chunks } from "./utf8.ts";
import { WorkbookReader, type SheetInfo, type SheetRows } from "./workbook.ts";
import { EntryInflater, InflateBudget, ZipReader, type EntrySink, type ZipEntry } from "./zipstream.ts";

export interface ArchiveOptions {
  kind: JobKind;
  /** The email column of every file: a header name or a 0-based index (found by itself when absent). */
  column?: string | undefined;
  /** Only this sheet of a workbook (of each workbook, in an archive). */
  sheet?: string | undefined;
  /** The upload's file name ("" for a raw body). */
  filename: string;
  /** The upload says it is a workbook (.xlsx name or content type). */
  workbook: boolean;
  /** All entries together may inflate to this many bytes (MXRAY_MAX_UNZIPPED_BYTES). */
  maxUnzippedBytes: number;
  /** Compressed sheets held while waiting for their shared strings, at most (the upload limit). */
  maxHeldBytes: number;
  /** Told of each repeat and reject, placed and numbered across the files (core/spreadsheet/fileset.ts). */
  onOther?: ((row: OtherRow) => void) | undefined;
}

type Rows = IngestedAddress[];

/** Room in the files list for each entry's sheets (a zip has at most MAX_ARCHIVE_ENTRIES entries, a workbook as many sheets). */
const SHEETS_PER_ENTRY = MAX_ARCHIVE_ENTRIES + 1;

/** The first entry of a workbook is one of its package parts (Excel writes [Content_Types].xml; others _rels/ or docProps/ first). */
export const WORKBOOK_PART = /^(\[content_types\]\.xml$|_rels\/|docprops\/|xl\/|customxml\/)/i;
const LIST = /\.(csv|tsv|txt)$/i;
const WORKBOOK = /\.(xlsx|xlsm|xltx|xltm)$/i;
const OTHER_SPREADSHEET = /\.(xls|xlsb|ods|numbers|fods)$/i;
const ARCHIVE = /\.(zip|7z|rar|gz|tgz|tar|bz2|xz)$/i;

/** Why an archive's entry will not be read, by its path; null: it is a list or a workbook. */
export function skipReason(path: string): FileSkipReason | null {
  if (path.endsWith("/")) return "directory";
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (/(^|\/)__MACOSX\//.test(path) || base.startsWith(".") || /^(thumbs\.db|desktop\.ini)$/i.test(base)) return "system_file";
  if (LIST.test(base) || WORKBOOK.test(base)) return null;
  if (OTHER_SPREADSHEET.test(base)) return "format_unsupported";
  if (ARCHIVE.test(base)) return "nested_archive";
  return "unsupported_type";
}

export class ArchiveIngest {
  readonly files: FileSet;
  private readonly budget: InflateBudget;
  private readonly zip: ZipReader<Rows>;
  private mode: "workbook" | "archive" | null = null;
  private workbook: WorkbookReader<Rows> | null = null;
  /** Workbooks read, and whether one had the sheet asked for. */
  private workbooks = 0;
  private sheetFound = false;
  private entriesSeen = 0;

  constructor(private readonly opts: ArchiveOptions) {
    this.files = new FileSet({ kind: opts.kind, column: opts.column, onOther: opts.onOther });
    this.budget = new InflateBudget(opts.maxUnzippedBytes, opts.maxHeldBytes);
    this.zip = new ZipReader<Rows>((entry) => this.open(entry), opts.workbook ? "the workbook" : "the archive");
  }

  /** Whether the upload turned out to be one workbook (its files are its sheets). */
  get isWorkbook(): boolean {
    return this.mode === "workbook";
  }

  *push(chunk: Uint8Array): Generator<Rows> {
    yield* this.zip.push(chunk);
  }

  *end(): Generator<Rows> {
    yield* this.zip.end();
    if (this.workbook) {
      if (!this.workbook.sawWorkbook) throw new SpreadsheetError("spreadsheet_invalid", `${this.name} has no xl/workbook.xml: it is not an .xlsx workbook`);
      yield* this.workbook.finish();
    }
    if (this.opts.sheet !== undefined && !this.sheetFound) {
      throw new SpreadsheetError("sheet_not_found", this.workbooks === 0 ? `\`sheet\` names a sheet of an .xlsx workbook, and the upload holds none` : `No workbook in the archive has a sheet named "${this.opts.sheet}"`);
    }
  }

  /** The workbook's file name as the job's files list shows it. */
  private get name(): string {
    return this.opts.filename || "upload.xlsx";
  }

  private open(entry: ZipEntry): EntrySink<Rows> | null {
    const first = this.entriesSeen++ === 0;
    if (this.mode === null) this.mode = this.opts.workbook || WORKBOOK_PART.test(entry.name) ? "workbook" : "archive";
    if (this.mode === "workbook") {
      this.workbook ??= this.readWorkbook(this.name, true, 0);
      return this.workbook.open(entry);
    }
    // An OpenDocument file is a zip whose first entry is "mimetype".
    if (first && entry.name === "mimetype") return this.mimetype(entry);
    const reason = skipReason(entry.name);
    const order = this.entriesSeen * SHEETS_PER_ENTRY;
    if (reason !== null) {
      this.files.skip(entry.name, reason, undefined, order);
      return null;
    }
    return WORKBOOK.test(entry.name) ? this.nestedWorkbook(entry, order) : this.textFile(entry, order);
  }

  /** A workbook's reader: its sheets are files of the job, named `name`, listed from `order` on in the workbook's order. */
  private readWorkbook(name: string, alone: boolean, order: number): WorkbookReader<Rows> {
    this.workbooks++;
    const files = this.files;
    const wanted = this.opts.sheet;
    let selected: SheetInfo | null = null;
    return new WorkbookReader<Rows>({
      what: name,
      budget: this.budget,
      listed: (sheets) => {
        if (wanted === undefined) return;
        selected = sheets.find((s) => s.name === wanted) ?? sheets.find((s) => s.name.trim().toLowerCase() === wanted.trim().toLowerCase()) ?? null;
        if (selected) this.sheetFound = true;
        else if (alone) {
          throw new SpreadsheetError("sheet_not_found", `The workbook has no sheet named "${wanted}"; its sheets are ${sheets.map((s) => `"${s.name}"`).join(", ")}`);
        }
      },
      choose: (sheet) => (wanted !== undefined ? (sheet === selected ? null : "not_selected") : sheet.hidden ? "hidden_sheet" : null),
      skip: (sheet, reason) => files.skip(name, reason as FileSkipReason, sheet.name, order + sheet.index),
      begin: (sheet): SheetRows<Rows> => {
        files.begin(name, sheet.name, order + sheet.index);
        return {
          rows: (records) => nonEmpty(files.pushCells(records)),
          end: () => nonEmpty(files.end()),
          get done() {
            return files.hopeless;
          },
        };
      },
    });
  }

  /** A CSV, TSV or TXT file: decoded as strict UTF-8 and read like an uploaded list. */
  private textFile(entry: ZipEntry, order: number): EntrySink<Rows> {
    const inflater = new EntryInflater(entry, this.budget);
    const decoder = new Utf8Chunks();
    const files = this.files;
    files.begin(entry.name, undefined, order);
    let stopped = false;
    const decode = (bytes: Uint8Array | undefined) => {
      try {
        return bytes ? decoder.decode(bytes) : decoder.end();
      } catch {
        throw new SpreadsheetError("not_utf8", `${entry.name} is not UTF-8 text; export it as CSV UTF-8 and upload again`);
      }
    };
    function* feed(outs: Uint8Array[]): Generator<Rows> {
      for (const out of outs) {
        yield* nonEmpty(files.pushText(decode(out)));
        // No email column: the rest of the file is not read.
        if (files.hopeless) return void (stopped = true);
      }
    }
    return {
      *data(piece) {
        if (!stopped) yield* feed(inflater.push(piece));
      },
      *end() {
        if (!stopped) {
          yield* feed(inflater.end());
          if (!stopped) yield* nonEmpty(files.pushText(decode(undefined)));
        }
        yield* nonEmpty(files.end());
      },
    };
  }

  /** An .xlsx inside the archive: its inflated bytes are a zip of their own, read the same way. */
  private nestedWorkbook(entry: ZipEntry, order: number): EntrySink<Rows> {
    const inflater = new EntryInflater(entry, this.budget);
    const book = this.readWorkbook(entry.name, false, order);
    const zip = new ZipReader<Rows>(book.open, entry.name);
    let checked = false;
    function* feed(outs: Uint8Array[]): Generator<Rows> {
      for (const out of outs) {
        if (!checked && out.length >= 8) {
          checked = true;
          if (sniff(out) === "cfb") throw new SpreadsheetError("spreadsheet_encrypted", `${entry.name} is password-protected; remove the password (or save it as CSV) and upload again`);
        }
        yield* zip.push(out);
      }
    }
    return {
      *data(piece) {
        yield* feed(inflater.push(piece));
      },
      *end() {
        yield* feed(inflater.end());
        yield* zip.end();
        if (!book.sawWorkbook) throw new SpreadsheetError("spreadsheet_invalid", `${entry.name} has no xl/workbook.xml: it is not an .xlsx workbook`);
        yield* book.finish();
      },
    };
  }

  /** The first entry "mimetype" of an OpenDocument package: refused when it says so, else skipped. */
  private mimetype(entry: ZipEntry): EntrySink<Rows> {
    const inflater = new EntryInflater(entry, this.budget);
    let text = "";
    const files = this.files;
    return {
      data(piece) {
        for (const out of inflater.push(piece)) if (text.length < 100) text += new TextDecoder().decode(out.subarray(0, 100));
        return [];
      },
      end() {
        if (text.startsWith("application/vnd.oasis.opendocument")) {
          throw new SpreadsheetError("spreadsheet_format_unsupported", "This is an OpenDocument file (.ods); save it as .xlsx or CSV (UTF-8) and upload again");
        }
        files.skip(entry.name, "unsupported_type", undefined, 0);
        return [];
      },
    };
  }
}

const nonEmpty = (rows: Rows): Rows[] => (rows.length > 0 ? [rows] : []);
