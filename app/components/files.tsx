// The files of an archive upload, or the sheets of a workbook, each with its own counts (issue 25):
// on the upload page before sending, and on the job page after.
import type { FileAccount, FileSkipReason } from "../../core/contracts.ts";
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
                <td className="num" title={rejects.map(([reason, n]) => `${fmt(n)} ${reason.replace(/_/g, " ")}`).join(", ")}>{f.skipped ? "—" : fmt(rejected)}</td>
                <td title={f.skipped}>{f.skipped ? `Skipped: ${SKIPPED[f.skipped]}` : "Read"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableScroll>
  );
}
