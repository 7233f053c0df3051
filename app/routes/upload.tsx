// Upload: pick or drop a CSV/TSV/TXT file, an .xlsx workbook or a .zip of lists, see its first
// rows, choose the email column (and a workbook's sheet), and see rows, duplicates, bad syntax and
// the credit cost before confirming. Counted in the browser with the edge's own reader
// (core/listpreview.ts, core/spreadsheet/preview.ts; a workbook or archive past
// FULL_PREVIEW_BYTES is only outlined: its sheets or files, counted on upload), then the raw file
// is streamed to /upload/file. "Find addresses" takes a list of people instead (a job of kind find, issue 14).
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useLoaderData, useNavigate, useSearchParams, type MetaFunction } from "@remix-run/react";
import { useCallback, useRef, useState } from "react";
import type { FileAccount } from "../../core/contracts.ts";
import { previewList, previewPeople, type ListPreview } from "../../core/listpreview.ts";
import { SpreadsheetError } from "../../core/spreadsheet/limits.ts";
import { FULL_PREVIEW_BYTES, outlineArchive, previewArchive, type ArchiveOutline } from "../../core/spreadsheet/preview.ts";
import { namedWorkbook, sniff, XLSX_TYPE } from "../../core/spreadsheet/sniff.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { RefusedAlert } from "../components/billing.tsx";
import { FilesTable, RejectedRows } from "../components/files.tsx";
import { fmt, TableScroll } from "../components/ui.tsx";

export const meta: MetaFunction = () => [{ title: "Upload a list · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  // The balance is billing: members see the cost, and the upload is refused if it is not covered.
  const canBuy = can(viewer.account.role, "billing:view");
  return { credits: canBuy ? viewer.account.creditBalance : null, canBuy, maxBytes: args.context.services.config.MXRAY_MAX_UPLOAD_BYTES };
}

const ACCEPT = `.csv,.tsv,.txt,.xlsx,.xlsm,.zip,text/csv,text/plain,text/tab-separated-values,${XLSX_TYPE},application/zip`;
/** Spreadsheet formats not read here (docs/decisions/013-spreadsheets.md). */
const OTHER_SPREADSHEET = /\.(xls|xlsb|ods|numbers)$/i;

type Kind = "verify" | "find";

/** An .xlsx or .zip: its outline, and the sheet asked for. */
interface Archive {
  workbook: boolean;
  outline: ArchiveOutline;
  sheet: string | undefined;
}

interface Picked {
  file: File;
  /** A text list's text, or an archive's bytes. */
  text: string;
  bytes: Uint8Array | null;
  archive: Archive | null;
  /** null: an archive too large to read here, counted on upload. */
  preview: (ListPreview & { files?: FileAccount[] }) | null;
  column: string | undefined;
}

function previewOf(kind: Kind, picked: Pick<Picked, "file" | "text" | "bytes" | "archive">, column?: string): Picked["preview"] {
  const { archive, bytes } = picked;
  if (archive && bytes) {
    if (bytes.length > FULL_PREVIEW_BYTES) return null;
    return previewArchive(bytes, { filename: picked.file.name, workbook: archive.workbook, kind, column, sheet: archive.sheet });
  }
  return kind === "find" ? previewPeople(picked.text) : previewList(picked.text, column);
}

/** Why a picked file cannot be sent as this kind of list, or null. */
function unusable(kind: Kind, preview: ListPreview, fileName: string): string | null {
  if (kind === "verify") return preview.rows === 0 ? `No column of email addresses was found in ${fileName}. Name its header “email”, or check the file.` : null;
  if (preview.missing === "domain") return `No domain column was found in ${fileName}. Name it “domain” or “website”.`;
  if (preview.missing === "name") return `No name columns were found in ${fileName}. Name them “first_name” and “last_name”, or “full_name”.`;
  return preview.rows === 0 ? `No row of ${fileName} names a person and a domain.` : null;
}

export default function Upload() {
  const { credits, canBuy, maxBytes } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const input = useRef<HTMLInputElement>(null);
  const [picked, setPicked] = useState<Picked | null>(null);
  const [name, setName] = useState("");
  const [error, setRefusal] = useState<{ code?: string | undefined; message: string } | null>(() => {
    const message = params.get("error");
    return message ? { code: params.get("code") ?? undefined, message } : null;
  });
  const setError = (message: string | null, code?: string) => setRefusal(message === null ? null : { code, message });
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [kind, setKind] = useState<Kind>(() => (params.get("kind") === "find" ? "find" : "verify"));

  const pick = useCallback(async (file: File | undefined, as: Kind, sheet?: string) => {
    setError(null);
    setPicked(null);
    if (!file) return;
    // A refused file leaves the input empty: its name beside the refusal read as if it were taken (issue 26).
    const refuse = (message: string, code?: string) => {
      if (input.current) input.current.value = "";
      setRefusal({ code, message });
    };
    if (OTHER_SPREADSHEET.test(file.name)) return refuse(`${file.name} is a spreadsheet format not read here. Save it as .xlsx or CSV (UTF-8) and upload that.`);
    if (file.size > maxBytes) return refuse(`${file.name} is ${fmt(Math.ceil(file.size / 1048576))} MB; the limit is ${fmt(maxBytes / 1048576)} MB. Split the list.`);
    if (file.size === 0) return refuse(`${file.name} is empty.`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const what = sniff(bytes.subarray(0, 8));
    if (what === "cfb") {
      return refuse(`${file.name} is a password-protected workbook or an Excel 97–2003 (.xls) file. Remove the password, or save it as .xlsx or CSV (UTF-8), and upload again.`);
    }
    let next: Omit<Picked, "preview" | "column">;
    if (what === "zip") {
      try {
        const outline = outlineArchive(bytes, { filename: file.name, workbook: namedWorkbook(file.name, file.type) });
        next = { file, text: "", bytes, archive: { workbook: outline.workbook, outline, sheet } };
      } catch (e) {
        if (e instanceof SpreadsheetError) return refuse(e.message, e.code);
        throw e;
      }
    } else {
      try {
        next = { file, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), bytes: null, archive: null };
      } catch {
        return refuse(`${file.name} is not UTF-8 text. Export it as “CSV UTF-8” and upload again.`);
      }
    }
    let preview: Picked["preview"];
    try {
      preview = previewOf(as, next);
    } catch (e) {
      if (e instanceof SpreadsheetError) return refuse(e.message, e.code);
      throw e;
    }
    const problem = preview && unusable(as, preview, file.name);
    if (problem) return refuse(problem);
    setPicked({ ...next, preview, column: undefined });
    setName(file.name.replace(/\.[^.]+$/, ""));
  }, [maxBytes]);

  const switchKind = (next: Kind) => {
    setKind(next);
    if (picked) void pick(picked.file, next, picked.archive?.sheet);
  };

  const choose = (column: string) => {
    if (!picked) return;
    const chosen = column === "" ? undefined : column;
    setPicked({ ...picked, column: chosen, preview: previewOf(kind, picked, chosen) });
  };

  const chooseSheet = (sheet: string) => void (picked && pick(picked.file, kind, sheet === "" ? undefined : sheet));

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!picked) return input.current?.focus();
    setBusy(true);
    setError(null);
    const query = new URLSearchParams({ name: name.trim() || picked.file.name });
    if (picked.column !== undefined && kind === "verify") query.set("email_column", picked.column);
    if (kind === "find") query.set("kind", "find");
    if (picked.archive?.sheet !== undefined) query.set("sheet", picked.archive.sheet);
    const type = picked.archive
      ? picked.archive.workbook ? XLSX_TYPE : "application/zip"
      : picked.file.name.toLowerCase().endsWith(".tsv") ? "text/tab-separated-values" : picked.preview!.width > 1 ? "text/csv" : "text/plain";
    try {
      const res = await fetch(`/upload/file?${query}`, { method: "POST", body: picked.file, headers: { "content-type": type, accept: "application/json" } });
      const body = (await res.json()) as { job?: { id: string }; error?: { code: string; message: string } };
      if (body.error) {
        setError(body.error.message, body.error.code);
        return setBusy(false);
      }
      if (!res.ok || !body.job) throw new Error(`The upload failed (${res.status})`);
      navigate(`/jobs/${body.job.id}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  const p = picked?.preview ?? null;
  const header = p?.header;
  const columnIndex = p && header && p.column !== null ? header.indexOf(p.column) : picked?.column !== undefined ? Number(picked.column) : -1;
  const short = p && credits !== null ? p.cost > credits : false;

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Upload a list</h1>
          <p>
            {kind === "find"
              ? "CSV, TSV or .xlsx of people: first and last name (or full name) and the company's domain or website. Other columns are kept for the export."
              : "CSV, TSV, a text file with one address per line, an Excel workbook (.xlsx), or a .zip of them. Other columns are kept for the export."}
          </p>
        </div>
      </div>
      {error && <RefusedAlert error={error} canBuy={canBuy} />}
      <Form method="post" action="/upload/file" encType="multipart/form-data" onSubmit={submit} className="card">
        {/* Before the file: a multipart upload's steering fields must come first. */}
        <fieldset className="row" style={{ border: 0, padding: 0, margin: "0 0 .75rem" }}>
          <legend className="muted">What to do with the list</legend>
          <label><input type="radio" name="kind" value="verify" checked={kind === "verify"} onChange={() => switchKind("verify")} /> Verify addresses</label>
          <label><input type="radio" name="kind" value="find" checked={kind === "find"} onChange={() => switchKind("find")} /> Find addresses</label>
        </fieldset>
        {/* The zone is the file input's label: a click anywhere in it opens the file chooser, and the input inside is the keyboard's way in. */}
        <label
          htmlFor="file"
          className={`dropzone${over ? " over" : ""}`}
          onDragOver={(e) => (e.preventDefault(), setOver(true))}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            void pick(e.dataTransfer.files[0], kind);
          }}
        >
          <span id="drop-title" className="dropzone-title"><span className="sr-only">File: </span>{picked ? picked.file.name : "Drop a file here, or choose one"}</span>
          <span id="drop-help" className="muted">Up to {fmt(maxBytes / 1048576)} MB · CSV, TSV or TXT (UTF-8), XLSX, or a ZIP of them</span>
          <input ref={input} id="file" name="file" type="file" accept={ACCEPT} aria-labelledby="drop-title" aria-describedby="drop-help" onChange={(e) => void pick(e.currentTarget.files?.[0], kind)} />
        </label>
        {picked && (
          <>
            <div className="row">
              <div className="field grow">
                <label htmlFor="name">List name</label>
                <input id="name" name="name" type="text" value={name} onChange={(e) => setName(e.currentTarget.value)} maxLength={200} />
              </div>
              {picked.archive?.workbook && picked.archive.outline.sheets.length > 1 && (
                <div className="field grow">
                  <label htmlFor="sheet">Sheet</label>
                  <select id="sheet" name="sheet" value={picked.archive.sheet ?? ""} onChange={(e) => chooseSheet(e.currentTarget.value)}>
                    <option value="">Every sheet with an email column</option>
                    {picked.archive.outline.sheets.map((sh) => <option key={sh.name} value={sh.name}>{sh.name}{sh.hidden ? " (hidden)" : ""}</option>)}
                  </select>
                </div>
              )}
              {p && p.width > 1 && kind === "verify" && (
                <div className="field grow">
                  <label htmlFor="email_column">Email column</label>
                  <select id="email_column" name="email_column" value={picked.column ?? ""} onChange={(e) => choose(e.currentTarget.value)}>
                    <option value="">Found by itself{p.column && picked.column === undefined ? ` (${p.column})` : ""}</option>
                    {Array.from({ length: p.width }, (_, i) => (
                      <option key={i} value={header?.[i] ?? String(i)}>{header?.[i] ? header[i] : `Column ${i + 1}`}</option>
                    ))}
                  </select>
                </div>
              )}
            </div>
            {!p && picked.archive && <Outline archive={picked.archive} />}
            {p && (
            <>
            <div className="stats" aria-label="What this list will cost" style={{ marginBottom: "1rem" }}>
              <div className="stat"><div className="label">Rows</div><div className="value" data-testid="rows">{fmt(p.rows)}</div></div>
              <div className="stat"><div className="label">Duplicates</div><div className="value" data-testid="duplicates">{fmt(p.duplicates)}</div></div>
              {kind === "verify" && <div className="stat"><div className="label">Bad syntax</div><div className="value" data-testid="invalid">{fmt(p.invalid)}</div></div>}
              <div className="stat">
                <div className="label">Rejected</div>
                <div className="value" data-testid="rejects" title={kind === "find" ? "Rows without a usable name and domain: they get no result" : "Rows without an address (empty or overlong email cell): they get no result"}>
                  {fmt(p.rejects.no_address + p.rejects.too_long + p.rejects.invalid_person)}
                </div>
              </div>
              <div className="stat"><div className="label">Credits needed</div><div className="value" data-testid="cost">{fmt(p.cost)}</div></div>
            </div>
            <p className="muted">
              {kind === "find"
                ? `${fmt(p.unique)} unique people, one credit each; refunded for people whose address is not found.`
                : `${fmt(p.unique)} unique addresses, one credit each; unknown answers are refunded.`}
              {credits !== null && ` You have ${fmt(credits)} credits.`}
            </p>
            {p.rejected && <RejectedRows rejected={p.rejected} />}
            {short && <RefusedAlert error={{ code: "insufficient_credits", message: `This list needs ${fmt(p.cost)} credits and the account has ${fmt(credits ?? 0)}. Split the list or add credits.` }} canBuy={canBuy} />}
            <h2>First rows</h2>
            <TableScroll label="First rows of the file" style={{ marginBottom: "1rem" }}>
              <table aria-label="First rows of the file">
                {header && (
                  <thead><tr>{header.map((h, i) => <th key={i} scope="col" style={i === columnIndex ? { color: "var(--accent)" } : undefined}>{h}</th>)}</tr></thead>
                )}
                <tbody>
                  {p.firstRows.map((r, i) => (
                    // A row shorter than the header (a sheet's trailing empty cells) gets empty cells.
                    <tr key={i}>{Array.from({ length: Math.max(r.length, p.width) }, (_, j) => <td key={j} style={j === columnIndex || p.width === 1 ? { fontWeight: 600 } : undefined}>{r[j] ?? ""}</td>)}</tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
            {p.files && p.files.length > 0 && (
              <>
                <h2>{picked.archive?.workbook ? "Sheets" : "Files"}</h2>
                <FilesTable files={p.files} />
              </>
            )}
            </>
            )}
          </>
        )}
        <div className="row">
          <button className="btn primary" type="submit" disabled={busy || short || (!!picked && p?.rows === 0)}>
            {busy ? "Uploading…" : kind === "find" ? (p ? `Find ${fmt(p.unique)} addresses` : "Upload and find") : p ? `Verify ${fmt(p.unique)} addresses` : "Upload and verify"}
          </button>
          <Link className="btn" to="/dashboard">Cancel</Link>
        </div>
      </Form>
    </>
  );
}

/** A workbook or archive too large to read in the browser: what it holds, and that it is counted on upload. */
function Outline({ archive }: { archive: Archive }) {
  const { outline, workbook } = archive;
  const read = outline.entries.filter((e) => e.skipped === null);
  const skipped = outline.entries.filter((e) => e.skipped !== null);
  return (
    <div className="card" data-testid="outline" style={{ marginBottom: "1rem" }}>
      <p style={{ marginTop: 0 }}>Too large to count here: rows, duplicates and the credit cost are counted when the file is uploaded, before anything is charged.</p>
      {workbook ? (
        <p>
          {archive.sheet !== undefined ? `Reads the sheet “${archive.sheet}”.` : "Reads every visible sheet with an email column: "}
          {archive.sheet === undefined && outline.sheets.map((sh) => `${sh.name}${sh.hidden ? " (hidden, skipped)" : ""}`).join(", ")}
        </p>
      ) : (
        <>
          <p>Reads {read.length === 1 ? "1 file" : `${fmt(read.length)} files`}: {read.slice(0, 20).map((e) => e.name).join(", ")}{read.length > 20 ? ", …" : ""}</p>
          {skipped.length > 0 && <p className="muted">Skips {skipped.slice(0, 20).map((e) => `${e.name} (${e.skipped!.replace(/_/g, " ")})`).join(", ")}{skipped.length > 20 ? ", …" : ""}</p>}
        </>
      )}
    </div>
  );
}
