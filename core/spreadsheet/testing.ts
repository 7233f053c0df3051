// Builds real .xlsx workbooks and zips for tests and bench:ingest, the way Excel writes them:
// parts in Excel's order (the sheets before xl/styles.xml and xl/sharedStrings.xml), text in
// shared strings, number formats in styles, formulas with their cached value. Entries may also
// be written with data descriptors (as Java's ZipOutputStream and macOS's Finder do).
import { Deflate, deflateSync } from "fflate";

const enc = new TextEncoder();

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipEntrySpec {
  name: string;
  data: Uint8Array | string;
  /** 8 (deflate, the default) or 0 (stored). */
  method?: 0 | 8;
  /** Deflate level (6, as Excel, by default). */
  level?: 1 | 6 | 9;
  /** Sizes after the data, with the descriptor's signature or without (both are valid, APPNOTE 4.3.9.3). */
  descriptor?: "signed" | "unsigned";
  /** Flag bit 0 (the data is not really encrypted here: the reader must refuse before looking). */
  encrypted?: boolean;
  /** Flag bit 11: the name is UTF-8 (set by default when it is not ASCII). */
  utf8?: boolean;
}

const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** A zip of the entries, in order, with its central directory. */
export function zipOf(entries: ZipEntrySpec[]): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data;
    const method = e.method ?? 8;
    const body = method === 8 ? deflateSync(data, { level: e.level ?? 6 }) : data;
    const name = enc.encode(e.name);
    const utf8 = e.utf8 ?? /[^\x00-\x7f]/.test(e.name);
    const flags = (e.descriptor ? 8 : 0) | (e.encrypted ? 1 : 0) | (utf8 ? 0x800 : 0);
    const crc = crc32(data);
    const sizesInHeader = e.descriptor ? [0, 0, 0] : [crc, body.length, data.length];
    const local = new Uint8Array([...u32(0x04034b50), ...u16(20), ...u16(flags), ...u16(method), ...u16(0), ...u16(0x21), ...sizesInHeader.flatMap(u32), ...u16(name.length), ...u16(0), ...name]);
    chunks.push(local, body);
    const header = offset;
    offset += local.length + body.length;
    if (e.descriptor) {
      const d = new Uint8Array([...(e.descriptor === "signed" ? u32(0x08074b50) : []), ...u32(crc), ...u32(body.length), ...u32(data.length)]);
      chunks.push(d);
      offset += d.length;
    }
    central.push(new Uint8Array([...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(flags), ...u16(method), ...u16(0), ...u16(0x21), ...u32(crc), ...u32(body.length), ...u32(data.length), ...u16(name.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(header), ...name]));
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(cdSize), ...u32(offset), ...u16(0)]);
  return concatAll([...chunks, ...central, end]);
}

export function concatAll(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A cell: text (a shared string), a number (General), a boolean, empty, or one of the richer forms. */
export type Cell =
  | string
  | number
  | boolean
  | null
  /** A number shown through the style at index `s` of the workbook's cellXfs. */
  | { n: number | string; s: number }
  /** A formula and the value Excel cached for it. */
  | { f: string; v: string | number; t?: "str" | "b" | "e" }
  /** An inline string (t="inlineStr"), as some exporters write text. */
  | { inline: string }
  /** A shared string in rich-text runs, with a phonetic run that must not be read. */
  | { runs: string[] }
  | { error: string };

export interface SheetSpec {
  name: string;
  rows: Cell[][];
  /** "hidden" or "veryHidden". */
  state?: "hidden" | "veryHidden";
  /** Leave out the `r` attributes of rows and cells (some writers do). */
  noRefs?: boolean;
}

export interface WorkbookSpec {
  sheets: SheetSpec[];
  /** Custom formats (id ≥ 164) and the numFmtId of each cellXfs entry (entry 0 is General). */
  numFmts?: { id: number; code: string }[];
  xfs?: number[];
  date1904?: boolean;
  /** "excel": sheets before styles and shared strings (the default); "strings-first": the other way round. */
  order?: "excel" | "strings-first";
  descriptor?: "signed" | "unsigned";
  /** Extra text placed inside each sheet's XML before <sheetData> (to test the XML bounds). */
  sheetPrefix?: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function columnName(i: number): string {
  let s = "";
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
const DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n';

/** Shared strings collected while sheets are written (Excel's order of first use). */
export class StringTable {
  private readonly index = new Map<string, number>();
  readonly items: string[] = [];
  uses = 0;
  add(xml: string, key = xml): number {
    this.uses++;
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.items.length;
      this.index.set(key, i);
      this.items.push(xml);
    }
    return i;
  }
  xml(): string {
    return `${DECL}<sst ${NS} count="${this.uses}" uniqueCount="${this.items.length}">${this.items.map((x) => `<si>${x}</si>`).join("")}</sst>`;
  }
}

export function cellXml(cell: Cell, ref: string, strings: StringTable): string {
  const r = ref ? ` r="${ref}"` : "";
  if (cell === null || cell === "") return "";
  if (typeof cell === "string") return `<c${r} t="s"><v>${strings.add(`<t xml:space="preserve">${esc(cell)}</t>`)}</v></c>`;
  if (typeof cell === "number") return `<c${r}><v>${cell}</v></c>`;
  if (typeof cell === "boolean") return `<c${r} t="b"><v>${cell ? 1 : 0}</v></c>`;
  if ("n" in cell) return `<c${r} s="${cell.s}"><v>${cell.n}</v></c>`;
  if ("f" in cell) return `<c${r}${cell.t ? ` t="${cell.t}"` : ""}><f>${esc(cell.f)}</f><v>${esc(String(cell.v))}</v></c>`;
  if ("inline" in cell) return `<c${r} t="inlineStr"><is><t>${esc(cell.inline)}</t></is></c>`;
  if ("runs" in cell) {
    const runs = cell.runs.map((t, i) => `<r>${i % 2 ? '<rPr><b/><sz val="11"/></rPr>' : ""}<t xml:space="preserve">${esc(t)}</t></r>`).join("");
    return `<c${r} t="s"><v>${strings.add(`${runs}<rPh sb="0" eb="1"><t>ﾌﾘｶﾞﾅ</t></rPh>`, `runs:${cell.runs.join("|")}`)}</v></c>`;
  }
  return `<c${r} t="e"><v>${esc(cell.error)}</v></c>`;
}

export function rowXml(cells: Cell[], row: number, strings: StringTable, refs = true): string {
  const body = cells.map((c, i) => cellXml(c, refs ? `${columnName(i)}${row}` : "", strings)).join("");
  return `<row${refs ? ` r="${row}"` : ""} spans="1:${Math.max(1, cells.length)}" x14ac:dyDescent="0.25">${body}</row>`;
}

export const SHEET_HEAD = `${DECL}<worksheet ${NS} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/>`;
export const SHEET_TAIL = `<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`;

export function stylesXml(numFmts: { id: number; code: string }[], xfs: number[]): string {
  const fmts = numFmts.length ? `<numFmts count="${numFmts.length}">${numFmts.map((f) => `<numFmt numFmtId="${f.id}" formatCode="${esc(f.code)}"/>`).join("")}</numFmts>` : "";
  return (
    `${DECL}<styleSheet ${NS}>${fmts}<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>` +
    `<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
    `<cellXfs count="${xfs.length}">${xfs.map((id) => `<xf numFmtId="${id}" fontId="0" fillId="0" borderId="0" xfId="0"${id ? ' applyNumberFormat="1"' : ""}/>`).join("")}</cellXfs>` +
    `<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`
  );
}

export function workbookParts(sheets: { name: string; state?: string | undefined }[], date1904 = false) {
  const workbook =
    `${DECL}<workbook ${NS}><fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27328"/><workbookPr${date1904 ? ' date1904="1"' : ""} defaultThemeVersion="166925"/>` +
    `<bookViews><workbookView xWindow="-120" yWindow="-120" windowWidth="29040" windowHeight="15840"/></bookViews><sheets>` +
    sheets.map((s, i) => `<sheet name="${esc(s.name)}" sheetId="${i + 1}"${s.state ? ` state="${s.state}"` : ""} r:id="rId${i + 1}"/>`).join("") +
    `</sheets><calcPr calcId="191029"/></workbook>`;
  const n = sheets.length;
  const rels =
    `${DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
    sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join("") +
    `<Relationship Id="rId${n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/theme" Target="theme/theme1.xml"/>` +
    `<Relationship Id="rId${n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
    `<Relationship Id="rId${n + 3}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`;
  const contentTypes =
    `${DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
    `<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
    sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join("") +
    `<Override PartName="/xl/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
    `<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`;
  const packageRels = `${DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`;
  const theme = `${DECL}<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Office Theme"><a:themeElements/></a:theme>`;
  return { workbook, rels, contentTypes, packageRels, theme };
}

/** An .xlsx as Excel lays it out, from the sheets' cells. */
export function xlsx(spec: WorkbookSpec): Uint8Array<ArrayBuffer> {
  const strings = new StringTable();
  const sheets = spec.sheets.map((s) => {
    const rows = s.rows.map((cells, i) => rowXml(cells, i + 1, strings, !s.noRefs)).join("");
    const width = Math.max(1, ...s.rows.map((r) => r.length));
    const dimension = `<dimension ref="A1:${columnName(width - 1)}${Math.max(1, s.rows.length)}"/>`;
    return SHEET_HEAD.replace("<sheetViews>", `${dimension}<sheetViews>`) + (spec.sheetPrefix ?? "") + `<sheetData>${rows}</sheetData>` + SHEET_TAIL;
  });
  const parts = workbookParts(spec.sheets, spec.date1904);
  const styles = stylesXml(spec.numFmts ?? [], spec.xfs ?? [0]);
  const d = spec.descriptor;
  const head: ZipEntrySpec[] = [
    { name: "[Content_Types].xml", data: parts.contentTypes, descriptor: d },
    { name: "_rels/.rels", data: parts.packageRels, descriptor: d },
    { name: "xl/workbook.xml", data: parts.workbook, descriptor: d },
    { name: "xl/_rels/workbook.xml.rels", data: parts.rels, descriptor: d },
  ];
  const sheetEntries = sheets.map((xml, i): ZipEntrySpec => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data: xml, descriptor: d }));
  const tail: ZipEntrySpec[] = [
    { name: "xl/theme/theme1.xml", data: parts.theme, descriptor: d },
    { name: "xl/styles.xml", data: styles, descriptor: d },
    { name: "xl/sharedStrings.xml", data: strings.xml(), descriptor: d },
  ];
  const props: ZipEntrySpec[] = [
    { name: "docProps/core.xml", data: `${DECL}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>`, descriptor: d },
    { name: "docProps/app.xml", data: `${DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Microsoft Excel</Application></Properties>`, descriptor: d },
  ];
  const body = spec.order === "strings-first" ? [...tail, ...sheetEntries] : [...sheetEntries, ...tail];
  return zipOf([...head, ...body, ...props]);
}

/**
 * A zip built from entries given as pieces (any size: a million-row sheet never sits in memory as
 * one string), each deflated as it comes and written with its sizes in the local header, as
 * Excel does. Returns the zip's chunks.
 */
export function zipStreamed(entries: { name: string; pieces: Iterable<string | Uint8Array> }[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const body: Uint8Array[] = [];
    const deflate = new Deflate({ level: 6 }, (chunk) => void body.push(chunk));
    let crc = 0;
    let size = 0;
    for (const piece of e.pieces) {
      const data = typeof piece === "string" ? enc.encode(piece) : piece;
      crc = crc32(data, crc);
      size += data.length;
      deflate.push(data);
    }
    deflate.push(new Uint8Array(0), true);
    const compressed = body.reduce((n, c) => n + c.length, 0);
    const name = enc.encode(e.name);
    const fields = [...u16(20), ...u16(0), ...u16(8), ...u16(0), ...u16(0x21), ...u32(crc), ...u32(compressed), ...u32(size), ...u16(name.length), ...u16(0)];
    const local = new Uint8Array([...u32(0x04034b50), ...fields, ...name]);
    out.push(local, ...body);
    central.push(new Uint8Array([...u32(0x02014b50), ...u16(20), ...fields, ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(offset), ...name]));
    offset += local.length + compressed;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  out.push(...central, new Uint8Array([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(cdSize), ...u32(offset), ...u16(0)]));
  return out;
}

/**
 * A one-sheet workbook of `rows` (text cells, shared strings) as Excel writes it, the shared
 * strings after the sheet, built piece by piece (bench:ingest's million rows).
 */
export function xlsxStreamed(rows: Iterable<string[]>, sheetName = "Sheet1"): Uint8Array[] {
  const strings = new StringTable();
  const parts = workbookParts([{ name: sheetName }]);
  function* sheet(): Generator<string> {
    yield SHEET_HEAD + "<sheetData>";
    let piece = "";
    let r = 0;
    for (const cells of rows) {
      piece += rowXml(cells, ++r, strings);
      if (piece.length > 1 << 16) {
        yield piece;
        piece = "";
      }
    }
    yield piece + "</sheetData>" + SHEET_TAIL;
  }
  function* sharedStrings(): Generator<string> {
    yield `${DECL}<sst ${NS} count="${strings.uses}" uniqueCount="${strings.items.length}">`;
    for (let i = 0; i < strings.items.length; i += 4096) yield strings.items.slice(i, i + 4096).map((x) => `<si>${x}</si>`).join("");
    yield "</sst>";
  }
  return zipStreamed([
    { name: "[Content_Types].xml", pieces: [parts.contentTypes] },
    { name: "_rels/.rels", pieces: [parts.packageRels] },
    { name: "xl/workbook.xml", pieces: [parts.workbook] },
    { name: "xl/_rels/workbook.xml.rels", pieces: [parts.rels] },
    { name: "xl/worksheets/sheet1.xml", pieces: sheet() },
    { name: "xl/theme/theme1.xml", pieces: [parts.theme] },
    { name: "xl/styles.xml", pieces: [stylesXml([], [0])] },
    // Read lazily: the sheet above has been written (and its strings collected) by now.
    { name: "xl/sharedStrings.xml", pieces: { [Symbol.iterator]: sharedStrings } },
  ]);
}
