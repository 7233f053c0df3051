// Bounds on what a spreadsheet or archive upload may cost, and the stable codes of the refusals.
// A zip or an XML part is read as a stream, so each bound is checked as bytes arrive: a bomb is
// refused after at most one small piece past its bound, never after it has been inflated whole.
// docs/decisions/013-spreadsheets.md says where each number comes from.

/** Why an archive or workbook upload is refused; the edge maps each to an HTTP status (edge/api/errors.ts). */
export const SPREADSHEET_ERROR_CODES = [
  /** More entries than MAX_ARCHIVE_ENTRIES (in an archive, or in a workbook). */
  "archive_too_many_entries",
  /** More bytes inflated, all entries together, than MXRAY_MAX_UNZIPPED_BYTES; or more held than the upload limit. */
  "archive_too_large",
  /** An entry that inflates past RATIO_FLOOR_BYTES at more than MAX_RATIO times its compressed size: a zip bomb. */
  "archive_ratio_exceeded",
  /** A password-protected entry that would have been read. */
  "archive_encrypted",
  /** Not a readable zip: cut short, an unknown record, or an entry compressed with a method other than stored or deflate. */
  "archive_invalid",
  /** A part of a workbook declares a DOCTYPE or an entity (SpreadsheetML never does; an XML bomb would). */
  "xml_doctype_refused",
  /** A part nests deeper than MAX_XML_DEPTH, holds a tag, attribute or comment longer than MAX_XML_PENDING_CHARS, or a cell past column XFD. */
  "xml_too_complex",
  /** A password-protected workbook (an encrypted OOXML package is a CFB file, not a zip). */
  "spreadsheet_encrypted",
  /** A spreadsheet format that is not read here: .xls (BIFF), .xlsb, OpenDocument. */
  "spreadsheet_format_unsupported",
  /** A zip that claims to be a workbook and is not a readable one (no xl/workbook.xml, a missing part, not UTF-8). */
  "spreadsheet_invalid",
  /** The `sheet` asked for is not in the workbook (or the upload has no workbook). */
  "sheet_not_found",
] as const;
export type SpreadsheetErrorCode = (typeof SPREADSHEET_ERROR_CODES)[number];

/** Refusals of an archive's text file use the code a CSV upload's would. */
export type UploadErrorCode = SpreadsheetErrorCode | "not_utf8";

export class SpreadsheetError extends Error {
  constructor(
    readonly code: UploadErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Entries of one zip (an archive, or the parts of a workbook), directories and skipped files included. */
export const MAX_ARCHIVE_ENTRIES = 1_000;
/**
 * A zip bomb's signature: an entry past RATIO_FLOOR_BYTES inflated at more than MAX_RATIO times
 * its compressed bytes. Real sheet XML inflates 9–13× (bench:ingest's sheet, Excel's own), CSV 3–6×;
 * 200× leaves room for odd but honest parts while a deflate bomb runs at ~1,000×. Small entries
 * are exempt: a tiny part (an empty styles.xml) may compress far better and costs nothing.
 */
export const MAX_RATIO = 200;
export const RATIO_FLOOR_BYTES = 1024 * 1024;
/** Compressed bytes handed to the inflater at once: one piece inflates to at most ~1,032× its size before the bounds are checked again. */
export const INFLATE_PIECE_BYTES = 16 * 1024;
/** Element nesting of a SpreadsheetML part: a sheet is ~6 deep (worksheet/sheetData/row/c/is/r/t). */
export const MAX_XML_DEPTH = 64;
/** Characters the XML reader may hold with no event: a tag, an attribute value, a comment. */
export const MAX_XML_PENDING_CHARS = 1024 * 1024;
/** Excel's own last column (XFD): a cell further right is not Excel's, and is refused. */
export const MAX_SHEET_COLUMNS = 16_384;
/**
 * The shared strings a workbook may keep in memory (their UTF-8 bytes plus 4 bytes of index
 * each): all of them must be held while the sheets are read, inside the Worker's 128 MB.
 */
export const MAX_SHARED_STRING_BYTES = 64 * 1024 * 1024;
