// The files of an archive upload, or the sheets of a workbook, each with its own counts (issue 25):
// on the upload page before sending, and on the job page after. And the rows a list's reader
// rejected, which the upload page lists by line before sending (issue 26).
import type { FileAccount, FileSkipReason, RejectReason } from "../../core/contracts.ts";
import type { RejectedSample } from "../../core/listpreview.ts";
import { fmt, TableScroll } from "./ui.tsx";

/** Why a file was not read, in words (the code is in the row's title for developers). */
const SKIPPED: Record<FileSkipReason, string> = {
  directory: "Folder",
  system_file: "System file, not a list",
  unsupported_type: "Not a list (CSV, TSV, TXT or XLSX)",
  format_unsupported: "Format not read here: save it as .xlsx or CSV",
  nested_archive: "An archive inside the archive: not opened",
  no_email_column: "No column of email addresses",
  no_people_columns: "No name and domain columns",
  empty: "Empty",
  hidden_sheet: "Hidden sheet (name it to read it)",
  not_selected: "Not the sheet asked for",
  not_a_worksheet: "Chart sheet",
};

/** Why a row gets no result, in words (the export and the API keep the code). */
export const REJECT_WORDS: Record<RejectReason, string> = {
  no_address: "no address",
  too_long: "too long",
  invalid_person: "no usable name and domain",
};

/** The first rejected rows (line, the row's text cut short, why), and how many more. */
export function RejectedRows({ rejected }: { rejected: RejectedSample }) {
  if (rejected.rows.length === 0) return rejected.more > 0 ? <p className="muted">{fmt(rejected.more)} rejected {rejected.more === 1 ? "row" : "rows"} get no result.</p> : null;
  return (
    <div className="upload-rejected">
      <TableScroll label="Rejected rows">
      <table aria-label="Rejected rows">
        <thead><tr><th scope="col" className="num">Line</th><th scope="col">Row</th><th scope="col">Why</th></tr></thead>
        <tbody>
          {rejected.rows.map((r) => (
            <tr key={r.line} data-reason={r.reason}>
              <td className="num">{fmt(r.line)}</td>
              <td className="raw mono" title={r.raw}>{r.raw.replace(/\n/g, " ⏎ ") || "(empty)"}</td>
              <td title={r.reason}>{REJECT_WORDS[r.reason]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </TableScroll>
      {rejected.more > 0 && <p className="muted">and {fmt(rejected.more)} more {rejected.more === 1 ? "row" : "rows"} rejected.</p>}
    </div>
  );
}

export function FilesTable({ files }: { files: FileAccount[] }) {
  // One workbook's sheets need no file column.
  const oneFile = new Set(files.map((f) => f.name)).size === 1;
  const sheets = files.some((f) => f.sheet !== undefined);
  return (
    <TableScroll label={oneFile && sheets ? "Sheets" : "Files"} style={{ marginBottom: "1rem" }}>
      <table aria-label={oneFile && sheets ? "Sheets" : "Files"} data-testid="files">
        <thead>
          <tr>
            {!oneFile && <th scope="col">File</th>}
            {sheets && <th scope="col">Sheet</th>}
            <th scope="col" className="num">Rows</th>
            <th scope="col" className="num">Unique</th>
            <th scope="col" className="num">Rejected</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f, i) => {
            const rejects = Object.entries(f.rejects).filter(([, n]) => n > 0);
            const rejected = rejects.reduce((sum, [, n]) => sum + n, 0);
            return (
              <tr key={i} className={f.skipped ? "muted" : undefined}>
                {!oneFile && <td className="mono">{f.name}</td>}
                {sheets && <td>{f.sheet ?? "—"}</td>}
                <td className="num">{f.skipped ? "—" : fmt(f.total)}</td>
                <td className="num">{f.skipped ? "—" : fmt(f.unique)}</td>
                <td className="num" title={rejects.map(([reason, n]) => `${fmt(n)} ${REJECT_WORDS[reason as RejectReason] ?? reason}`).join(", ")}>{f.skipped ? "—" : fmt(rejected)}</td>
                <td title={f.skipped}>{f.skipped ? `Skipped: ${SKIPPED[f.skipped]}` : "Read"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableScroll>
  );
}
