// The Worker's side of spreadsheet and archive uploads (issue 25): the upload's first bytes say
// what it is (core/spreadsheet/sniff.ts), core reads it, and its refusals become service errors
// with their own codes. An OLE compound file is refused: an .xls (no maintained reader we would
// ship, docs/decisions/013-spreadsheets.md) or a password-protected .xlsx.
import type { JobKind } from "../../core/enums.ts";
import { MultipartError } from "../../core/multipart.ts";
import type { ArchiveIngest } from "../../core/spreadsheet/archive.ts";
import { SpreadsheetError } from "../../core/spreadsheet/limits.ts";
import { CfbSniffer, SNIFF_BYTES, sniff, type UploadKind } from "../../core/spreadsheet/sniff.ts";
import { ServiceError } from "../errors.ts";

export interface UploadBytes {
  kind: UploadKind;
  /** Every chunk of the upload, the first ones included; leaving the loop early stops reading it. */
  chunks(): AsyncGenerator<Uint8Array>;
  cancel(): Promise<void>;
}

/** Reads enough of the upload to tell what it is; nothing is lost. */
export async function openBytes(stream: ReadableStream<Uint8Array>): Promise<UploadBytes> {
  const reader = stream.getReader();
  const read = () =>
    reader.read().catch((e: unknown) => {
      // A multipart body cut short, or a field that should have come before the file. (A body
      // over the size limit errors with its ServiceError: readUpload caps the stream.)
      throw e instanceof MultipartError ? new ServiceError("bad_request", `The multipart body could not be read: ${e.message}`) : e;
    });
  const head: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < SNIFF_BYTES) {
    const { done, value } = await read();
    if (done) {
      ended = true;
      break;
    }
    head.push(value);
    have += value.length;
  }
  const first = new Uint8Array(Math.min(have, SNIFF_BYTES));
  let at = 0;
  for (const c of head) {
    if (at >= first.length) break;
    first.set(c.subarray(0, first.length - at), at);
    at += Math.min(c.length, first.length - at);
  }
  return {
    kind: sniff(first),
    async *chunks() {
      try {
        while (head.length > 0) yield head.shift()!;
        while (!ended) {
          const { done, value } = await read();
          if (done) ended = true;
          else yield value;
        }
      } finally {
        if (!ended) await reader.cancel().catch(() => {});
      }
    },
    cancel: () => reader.cancel(),
  };
}

/** The refusal of an OLE compound file: what it is is read from its directory, as it streams past. */
export async function refuseCfb(bytes: UploadBytes, filename: string): Promise<ServiceError> {
  const sniffer = new CfbSniffer();
  let kind = null;
  for await (const chunk of bytes.chunks()) if ((kind = sniffer.push(chunk))) break;
  kind ??= sniffer.end();
  if (kind === "encrypted") {
    return new ServiceError("spreadsheet_encrypted", "The workbook is password-protected: open it in Excel, remove the password (File › Info › Protect Workbook), or save it as CSV (UTF-8), and upload again");
  }
  if (kind === "xls" || /\.xls$/i.test(filename)) {
    return new ServiceError("spreadsheet_format_unsupported", "This is an Excel 97–2003 workbook (.xls), which is not read here: save it as .xlsx or CSV (UTF-8) and upload again");
  }
  return new ServiceError("spreadsheet_format_unsupported", "This is an Office 97–2003 document, not a list: save it as .xlsx or CSV (UTF-8) and upload again");
}

/** Core's refusals as the service's. */
export async function spreadsheetRefusals(read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch (e) {
    if (e instanceof SpreadsheetError) throw new ServiceError(e.code, e.message);
    throw e;
  }
}

/** An archive or workbook none of whose files or sheets could be read: why, file by file. */
export function refuseUnread(archive: ArchiveIngest, kind: JobKind): void {
  if (archive.files.read > 0) return;
  const files = archive.files.files;
  const unit = archive.isWorkbook ? "sheet" : "file";
  const label = (f: (typeof files)[number]) => (f.sheet === undefined ? f.name : archive.isWorkbook ? `"${f.sheet}"` : `${f.name} (sheet "${f.sheet}")`);
  const listed = (some: typeof files) => some.slice(0, 10).map((f) => `${label(f)}: ${f.skipped!.replace(/_/g, " ")}`).join("; ") + (some.length > 10 ? `; and ${some.length - 10} more` : "");
  const lacking = files.filter((f) => f.skipped === "no_email_column" || f.skipped === "no_people_columns");
  if (lacking.length > 0) {
    if (kind === "find") throw new ServiceError("validation_failed", `No ${unit} has a name column (first_name and last_name, or full_name) and a domain column: ${listed(lacking)}`);
    throw new ServiceError("no_email_column", `No ${unit} has a column of email addresses; name its header "email" (${listed(lacking)})`);
  }
  if (archive.isWorkbook) throw new ServiceError("empty_upload", `The workbook's sheets hold no rows${files.length ? ` (${listed(files)})` : ""}`);
  throw new ServiceError("empty_upload", files.length === 0 ? "The archive is empty" : `The archive holds no CSV, TSV, TXT or XLSX file with rows (${listed(files)})`);
}
