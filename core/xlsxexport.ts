// An .xlsx workbook written as it streams (ECMA-376, SpreadsheetML): the rows go into one
// worksheet part, deflated as they come, so a million-row export never sits in memory. Cells are
// inline strings (`t="inlineStr"`), so no shared-strings table has to be held to the end; a number
// of ours (a score, an SMTP code) is a number cell. Inline strings are never evaluated as formulas
// (only an `<f>` element is one), so unlike core/csvexport.ts nothing gets an apostrophe.
// Excel's limits hold: past 1,048,576 rows the rows go on in another sheet (each with the header),
// a cell keeps at most 32,767 characters, and a row at most 16,384 cells (XLSX_MAX_COLUMNS; the
// caller refuses a wider table). The package is the minimum Excel, LibreOffice and Sheets open:
// [Content_Types].xml, the relationships, the workbook, its sheets and a style sheet for the bold
// header; the sheets come first and the parts naming them last, since only then is their count
// known (a zip is read from its central directory, so order does not matter to readers).
import { Zip, ZipDeflate } from "fflate";

export const XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/** Rows in a worksheet, the header included. */
export const XLSX_MAX_ROWS = 1_048_576;
export const XLSX_MAX_COLUMNS = 16_384;
export const XLSX_MAX_CELL_CHARS = 32_767;

export type XlsxCell = string | number | boolean | null | undefined;

const MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml";
/** Buffered sheet XML goes to the deflater past this many characters. */
const FLUSH_CHARS = 256 * 1024;
/** Speed over the last few percent of size: level 6 costs twice the CPU for ~10% smaller files. */
const DEFLATE_LEVEL = 1;

// Characters XML 1.0 forbids (§2.2: C0 controls but tab, LF and CR; U+FFFE, U+FFFF), and the
// `_xHHHH_` form that SpreadsheetML reads as an escaped character (ECMA-376 Part 1, §22.9.2.19
// ST_Xstring), which a cell that holds it literally must escape as `_x005F_xHHHH_`.
const NEEDS_WORK = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|_x[0-9A-Fa-f]{4}_/;
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const SPECIAL = /[&<>\r]|_(?=x[0-9A-Fa-f]{4}_)/g;
// A CR is written as a reference, or a reader's end-of-line handling (XML 1.0 §2.11) makes it LF.
const ENTITY: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;", _: "_x005F_" };

/** Cell text as XML character data: within Excel's length, without forbidden characters, escaped. */
export function xlsxText(value: string): string {
  let s = value;
  if (s.length > XLSX_MAX_CELL_CHARS) {
    s = s.slice(0, XLSX_MAX_CELL_CHARS);
    // Never keep half of a surrogate pair.
    if (/[\uD800-\uDBFF]$/.test(s)) s = s.slice(0, -1);
  }
  if (!NEEDS_WORK.test(s)) return s;
  return s.replace(FORBIDDEN, "").replace(SPECIAL, (c) => ENTITY[c]!);
}

const attr = (s: string) => xlsxText(s).replace(/"/g, "&quot;");

export interface XlsxOptions {
  /** The first sheet's name; further ones add " (2)", " (3)", … */
  sheetName?: string;
  /** Data rows per sheet (the header comes on top of each); Excel's most unless a test sets fewer. */
  rowsPerSheet?: number;
}

/**
 * Writes a workbook to `out` as rows arrive. `row` buffers, `flush` hands what is buffered to the
 * deflater (call it at the end of each page read), `end` writes the closing parts.
 */
export class XlsxWriter {
  private readonly zip: Zip;
  private readonly width: number;
  private readonly headerXml: string;
  private readonly sheetName: string;
  private readonly rowsPerSheet: number;
  private sheet: ZipDeflate | null = null;
  private sheets = 0;
  private rowsInSheet = 0;
  private buffer: string[] = [];
  private buffered = 0;
  private readonly encoder = new TextEncoder();

  constructor(header: string[], out: (chunk: Uint8Array) => void, options: XlsxOptions = {}) {
    if (header.length > XLSX_MAX_COLUMNS) throw new RangeError(`${header.length} columns; a worksheet holds ${XLSX_MAX_COLUMNS}`);
    this.zip = new Zip((err, chunk) => {
      if (err) throw err;
      out(chunk);
    });
    this.width = header.length;
    this.headerXml = `<row r="1">${header.map((h) => `<c s="1" t="inlineStr"><is><t xml:space="preserve">${xlsxText(h)}</t></is></c>`).join("")}</row>`;
    // A sheet's name: at most 31 characters (room kept for " (NN)"), none of []:*?/\, no apostrophe at either end.
    this.sheetName = (options.sheetName ?? "").replace(/[[\]:*?/\\\s]+/g, " ").replace(/^[\s']+|[\s']+$/g, "").slice(0, 24).trim() || "Results";
    this.rowsPerSheet = Math.min(options.rowsPerSheet ?? XLSX_MAX_ROWS - 1, XLSX_MAX_ROWS - 1);
  }

  row(cells: XlsxCell[]): void {
    if (!this.sheet || this.rowsInSheet === this.rowsPerSheet) this.nextSheet();
    const r = ++this.rowsInSheet + 1;
    let xml = `<row r="${r}">`;
    const width = Math.min(cells.length, this.width);
    for (let i = 0; i < width; i++) {
      const v = cells[i];
      // No `r` on a cell (it is optional, §18.3.1.4): a cell's place is its order in the row, and
      // leaving the references out makes the export half the size and half again as fast.
      if (v === null || v === undefined || v === "") xml += "<c/>";
      else if (typeof v === "number" && Number.isFinite(v)) xml += `<c><v>${v}</v></c>`;
      else {
        const s = String(v);
        // Leading or trailing white space is data too (XML would let a reader drop it).
        const space = /^\s|\s$/.test(s) ? ' xml:space="preserve"' : "";
        xml += `<c t="inlineStr"><is><t${space}>${xlsxText(s)}</t></is></c>`;
      }
    }
    this.write(`${xml}</row>`);
  }

  flush(): void {
    if (this.buffered === 0 || !this.sheet) return;
    this.sheet.push(this.encoder.encode(this.buffer.join("")));
    this.buffer = [];
    this.buffered = 0;
  }

  end(): void {
    if (!this.sheet) this.nextSheet(); // no rows: a sheet with its header
    this.closeSheet();
    const names = Array.from({ length: this.sheets }, (_, i) => (i === 0 ? this.sheetName : `${this.sheetName} (${i + 1})`));
    const parts: [string, string][] = [
      [
        "[Content_Types].xml",
        `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
          `<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
          `<Default Extension="xml" ContentType="application/xml"/>` +
          `<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
          `<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
          names.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="${SHEET_TYPE}"/>`).join("") +
          `</Types>`,
      ],
      [
        "_rels/.rels",
        `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
          `<Relationship Id="rId1" Type="${REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
      ],
      [
        "xl/workbook.xml",
        `<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><bookViews><workbookView/></bookViews><sheets>` +
          names.map((n, i) => `<sheet name="${attr(n)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("") +
          `</sheets></workbook>`,
      ],
      [
        "xl/_rels/workbook.xml.rels",
        `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
          names.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${REL_NS}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join("") +
          `<Relationship Id="rId${names.length + 1}" Type="${REL_NS}/styles" Target="styles.xml"/></Relationships>`,
      ],
      [
        "xl/styles.xml",
        // Style 0 is the default, style 1 the bold header.
        `<styleSheet xmlns="${MAIN_NS}">` +
          `<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>` +
          `<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
          `<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
          `<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
          `<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>` +
          `<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`,
      ],
    ];
    for (const [name, xml] of parts) {
      const file = new ZipDeflate(name, { level: DEFLATE_LEVEL });
      this.zip.add(file);
      file.push(this.encoder.encode(XML_DECL + xml), true);
    }
    this.zip.end();
  }

  private write(xml: string): void {
    this.buffer.push(xml);
    this.buffered += xml.length;
    if (this.buffered >= FLUSH_CHARS) this.flush();
  }

  /** Closes the current sheet (if any) and opens the next with the frozen header row. */
  private nextSheet(): void {
    this.closeSheet();
    this.sheets += 1;
    this.rowsInSheet = 0;
    // One entry at a time: fflate holds a later entry's output until the earlier one ends.
    this.sheet = new ZipDeflate(`xl/worksheets/sheet${this.sheets}.xml`, { level: DEFLATE_LEVEL });
    this.zip.add(this.sheet);
    this.write(
      `${XML_DECL}<worksheet xmlns="${MAIN_NS}"><sheetViews><sheetView workbookViewId="0">` +
        `<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>` +
        `<sheetData>${this.headerXml}`,
    );
  }

  private closeSheet(): void {
    if (!this.sheet) return;
    this.write("</sheetData></worksheet>");
    const sheet = this.sheet;
    this.flush();
    sheet.push(new Uint8Array(0), true);
    this.sheet = null;
  }
}
