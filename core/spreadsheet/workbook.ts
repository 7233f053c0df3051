// An .xlsx workbook (ECMA-376 SpreadsheetML) read from its zip as the entries stream past: the
// workbook part names the sheets, its relationships say where each sheet and the shared strings
// and styles are, and each sheet's rows come out as rows of cells as a person sees them.
//
// A sheet can be read only once the workbook, its relationships, the styles and the shared
// strings are (cells refer to the last two). Excel writes styles and shared strings after the
// sheets, so a sheet that arrives first is held compressed (its deflated bytes, a tenth of its
// XML) and read as soon as they have been; one that arrives after them streams straight through.
import { MAX_ROW_CHARS, type SplitRow } from "../emailfile.ts";
import { MAX_SHEET_COLUMNS, SpreadsheetError } from "./limits.ts";
import { builtinFormat, compileFormat, type NumberFormatter } from "./numfmt.ts";
import { SharedStrings, unescapeOoxml } from "./sharedstrings.ts";
import { XmlPart, type XmlHandler, type XmlStreamHandler } from "./xml.ts";
import { EntryInflater, type EntrySink, type InflateBudget, type ZipEntry } from "./zipstream.ts";

export interface SheetInfo {
  name: string;
  /** Its place among the workbook's sheets, from 0. */
  index: number;
  /** The sheet's part, e.g. xl/worksheets/sheet1.xml. */
  path: string;
  /** hidden or veryHidden in Excel: not read unless asked for by name. */
  hidden: boolean;
  /** A chart sheet or dialog sheet: no cells. */
  worksheet: boolean;
}


/** Where a sheet's rows go; `done` says reading it further is useless (no email column). */
export interface SheetRows<T> {
  rows(records: SplitRow[]): Iterable<T>;
  end(): Iterable<T>;
  readonly done: boolean;
}

export interface WorkbookOptions<T> {
  /** Names the workbook in refusals. */
  what: string;
  budget: InflateBudget;
  /** Whether a sheet is read: the reason it is not, or null to read it. */
  choose(sheet: SheetInfo): string | null;
  /** Told of each sheet that is not read. */
  skip(sheet: SheetInfo, reason: string): void;
  /** A sheet about to be read. */
  begin(sheet: SheetInfo): SheetRows<T>;
  /** Told the workbook's sheets once its workbook part is read (a `sheet` asked for may be checked there). */
  listed?(sheets: SheetInfo[]): void;
}

const RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";
const isType = (type: string, name: string) => type.endsWith(`/${name}`) && (type.startsWith(RELS) || type.includes("/relationships/"));

/** A part's path from a relationship target, relative to the folder of the part that names it. */
function resolve(from: string, target: string): string {
  if (target.startsWith("/")) return target.slice(1);
  const parts = from.split("/").slice(0, -1);
  for (const seg of target.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== "." && seg !== "") parts.push(seg);
  }
  return parts.join("/");
}

const relsOf = (part: string) => {
  const slash = part.lastIndexOf("/");
  return `${part.slice(0, slash + 1)}_rels/${part.slice(slash + 1)}.rels`;
};

/** "AB12" → 27 (0-based); -1 when there are no letters. */
function columnOf(ref: string): number {
  let col = 0;
  let i = 0;
  for (; i < ref.length; i++) {
    const c = ref.charCodeAt(i) | 0x20; // lower case
    if (c < 97 || c > 122) break;
    col = col * 26 + (c - 96);
  }
  return i === 0 ? -1 : col - 1;
}

/** Reads a small part whole through a handler (workbook, relationships, styles, shared strings). */
class PartReader<T> implements EntrySink<T> {
  private readonly inflater: EntryInflater;
  private readonly xml: XmlPart;

  constructor(
    entry: ZipEntry,
    budget: InflateBudget,
    handler: XmlHandler | XmlStreamHandler,
    private readonly done: () => Iterable<T>,
  ) {
    this.inflater = new EntryInflater(entry, budget);
    this.xml = new XmlPart(entry.name, handler);
  }

  *data(piece: Uint8Array): Generator<T> {
    for (const out of this.inflater.push(piece)) this.xml.write(out);
  }

  *end(): Generator<T> {
    for (const out of this.inflater.end()) this.xml.write(out);
    this.xml.end();
    yield* this.done();
  }
}

interface Styles {
  /** numFmtId of each cellXfs entry, by the cell's `s`. */
  xfs: number[];
  custom: Map<number, string>;
}

/** The index of a part held before the workbook said which sheet it is. */
const UNKNOWN = -1;

/** A sheet waiting for the parts its cells need: its compressed bytes. */
interface Held {
  sheet: SheetInfo;
  entry: ZipEntry;
  pieces: Uint8Array[];
  ended: boolean;
}

export class WorkbookReader<T> {
  /** The workbook part: xl/workbook.xml, unless the package's relationships, read first, say otherwise. */
  private workbookPath = "xl/workbook.xml";
  /** The workbook's sheets: null until its part is read, [] until its relationships are too. */
  private sheets: SheetInfo[] | null = null;
  private sheetRefs: { name: string; rid: string; hidden: boolean }[] = [];
  private date1904 = false;
  /** The workbook's relationships: id → resolved target and type; null until read. */
  private rels: Map<string, { type: string; path: string }> | null = null;
  private styles: Styles | null = null;
  private strings: SharedStrings | null = null;
  /** Parts the relationships name; until they are read, a sheet waits. */
  private stylesPath: string | null = null;
  private stringsPath: string | null = null;
  private held: Held[] = [];
  private readonly formatters: NumberFormatter[] = [];
  /** Whether a part that makes this a workbook (xl/workbook.xml) was seen. */
  sawWorkbook = false;

  constructor(private readonly opts: WorkbookOptions<T>) {}

  /** The ZipReader's `open`: what to do with each entry of the workbook's zip. */
  open = (entry: ZipEntry): EntrySink<T> | null => {
    const name = entry.name;
    const lower = name.toLowerCase();
    if (lower === "_rels/.rels") return this.part(entry, this.packageRels());
    if (lower === this.workbookPath.toLowerCase()) return this.part(entry, this.workbookPart(), () => this.afterPart());
    if (lower === relsOf(this.workbookPath).toLowerCase()) return this.part(entry, this.workbookRels(), () => this.afterPart());
    if (lower.endsWith("/workbook.bin") || lower === "xl/workbook.bin") {
      throw new SpreadsheetError("spreadsheet_format_unsupported", `${this.opts.what} is a binary workbook (.xlsb); save it as .xlsx or CSV (UTF-8) and upload again`);
    }
    if (this.isPart(lower, this.stylesPath, "xl/styles.xml")) return this.part(entry, this.stylesPart(), () => this.afterPart());
    if (this.isPart(lower, this.stringsPath, "xl/sharedstrings.xml")) return this.part(entry, this.stringsPart(), () => this.afterPart());
    return this.sheetEntry(entry);
  };

  /** After the zip has ended: sheets still waiting are read (or the part they wait for is missing). */
  *finish(): Generator<T> {
    if (!this.sheets) {
      throw new SpreadsheetError("spreadsheet_invalid", `${this.opts.what} has no ${this.workbookPath}: it is not an .xlsx workbook`);
    }
    if (!this.rels) throw new SpreadsheetError("spreadsheet_invalid", `${this.opts.what} has no ${relsOf(this.workbookPath)}`);
    for (const [what, path, got] of [["shared strings", this.stringsPath, this.strings], ["styles", this.stylesPath, this.styles]] as const) {
      if (path && !got) throw new SpreadsheetError("spreadsheet_invalid", `${this.opts.what} names its ${what} (${path}) but does not hold them`);
    }
    yield* this.readHeld();
    // Sheets the workbook lists that never came: nothing to read.
    for (const sheet of this.sheets) if (!this.seenSheets.has(sheet.path) && sheet.worksheet) this.opts.skip(sheet, "empty");
  }

  private readonly seenSheets = new Set<string>();

  private isPart(lower: string, named: string | null, fallback: string): boolean {
    // Before the relationships are read, the usual path is taken for the part.
    return named !== null ? lower === named.toLowerCase() : this.rels === null && lower === fallback;
  }

  private part(entry: ZipEntry, handler: XmlHandler | XmlStreamHandler, done: () => Iterable<T> = () => []): EntrySink<T> {
    return new PartReader<T>(entry, this.opts.budget, handler, done);
  }

  private get ready(): boolean {
    return this.sheets !== null && this.rels !== null && (this.stylesPath === null || this.styles !== null) && (this.stringsPath === null || this.strings !== null);
  }

  /** A part was read: sheets that waited for it may be read now. */
  private *afterPart(): Generator<T> {
    if (this.ready) yield* this.readHeld();
  }

  private listSheets(): void {
    const rels = this.rels!;
    this.sheets = this.sheetRefs.map((s, index) => {
      const rel = rels.get(s.rid);
      return { name: s.name, index, path: rel?.path ?? "", hidden: s.hidden, worksheet: !!rel && isType(rel.type, "worksheet") };
    });
    this.opts.listed?.(this.sheets);
  }

  private sheetEntry(entry: ZipEntry): EntrySink<T> | null {
    const lower = entry.name.toLowerCase();
    if (this.rels && this.sheets) {
      const sheet = this.sheets.find((s) => s.path.toLowerCase() === lower);
      if (!sheet) return null; // another part: drawings, themes, properties
      return this.sheetSink(sheet, entry);
    }
    // Before the workbook and its relationships are known, anything under xl/ that may be a sheet is held.
    if (!/^xl\/[^/]*sheets\/[^/]+\.xml$/.test(lower)) return null;
    return this.holdSink({ name: "", index: UNKNOWN, path: entry.name, hidden: false, worksheet: true }, entry);
  }

  private sheetSink(sheet: SheetInfo, entry: ZipEntry): EntrySink<T> | null {
    this.seenSheets.add(sheet.path);
    const reason = sheet.worksheet ? this.opts.choose(sheet) : "not_a_worksheet";
    if (reason !== null) {
      this.opts.skip(sheet, reason);
      return null;
    }
    if (this.ready) return this.streamSheet(sheet, entry);
    return this.holdSink(sheet, entry);
  }

  private holdSink(sheet: SheetInfo, entry: ZipEntry): EntrySink<T> {
    const held: Held = { sheet, entry, pieces: [], ended: false };
    this.held.push(held);
    const budget = this.opts.budget;
    return {
      data(piece) {
        budget.hold(piece.length);
        held.pieces.push(piece.slice());
        return [];
      },
      end: () => {
        held.ended = true;
        return [];
      },
    };
  }

  /** Reads held sheets, in the workbook's order, releasing their bytes as they go. */
  private *readHeld(): Generator<T> {
    if (!this.sheets) return;
    // Those held before the relationships were known are matched to their sheets now.
    const waiting = this.held.filter((h) => h.ended);
    this.held = this.held.filter((h) => !h.ended);
    const order = (h: Held) => this.sheets!.findIndex((s) => s.path.toLowerCase() === h.entry.name.toLowerCase());
    waiting.sort((a, b) => order(a) - order(b));
    for (const h of waiting) {
      const known = h.sheet.index !== UNKNOWN;
      const sheet = known ? h.sheet : this.sheets.find((s) => s.path.toLowerCase() === h.entry.name.toLowerCase());
      if (!sheet) {
        this.release(h);
        continue;
      }
      if (!known) {
        this.seenSheets.add(sheet.path);
        const reason = sheet.worksheet ? this.opts.choose(sheet) : "not_a_worksheet";
        if (reason !== null) {
          this.opts.skip(sheet, reason);
          this.release(h);
          continue;
        }
      }
      const sink = this.streamSheet(sheet, h.entry);
      while (h.pieces.length > 0) {
        const piece = h.pieces.shift()!;
        this.opts.budget.release(piece.length);
        yield* sink.data(piece);
      }
      yield* sink.end();
    }
  }

  private release(h: Held): void {
    for (const p of h.pieces) this.opts.budget.release(p.length);
    h.pieces = [];
  }

  private streamSheet(sheet: SheetInfo, entry: ZipEntry): EntrySink<T> {
    const inflater = new EntryInflater(entry, this.opts.budget);
    const rows = this.opts.begin(sheet);
    const parser = new SheetParser(sheet.name, (s) => this.strings?.get(s) ?? "", (style) => this.formatter(style));
    const xml = new XmlPart(entry.name, parser);
    let stopped = false;
    function* feed(outs: Uint8Array[]): Generator<T> {
      for (const out of outs) {
        if (stopped) return;
        xml.write(out);
        if (parser.records.length > 0) yield* rows.rows(parser.take());
        if (rows.done) stopped = true; // no email column: the rest is not read
      }
    }
    return {
      *data(piece) {
        if (!stopped) yield* feed(inflater.push(piece));
      },
      *end() {
        if (!stopped) {
          yield* feed(inflater.end());
          if (!stopped) {
            xml.end();
            if (parser.records.length > 0) yield* rows.rows(parser.take());
          }
        }
        yield* rows.end();
      },
    };
  }

  private formatter(style: number): NumberFormatter {
    let f = this.formatters[style];
    if (!f) {
      const id = this.styles?.xfs[style] ?? 0;
      f = compileFormat(this.styles?.custom.get(id) ?? builtinFormat(id), this.date1904);
      this.formatters[style] = f;
    }
    return f;
  }

  private packageRels(): XmlHandler {
    return {
      open: (name, attrs) => {
        if (name === "Relationship" && attrs.Type && isType(attrs.Type, "officeDocument") && attrs.Target && this.sheets === null && this.rels === null) {
          this.workbookPath = resolve("", attrs.Target);
        }
      },
      text: () => {},
      close: () => {},
    };
  }

  private workbookPart(): XmlHandler {
    this.sawWorkbook = true;
    const refs: { name: string; rid: string; hidden: boolean }[] = [];
    return {
      open: (name, attrs) => {
        if (name === "workbookPr") this.date1904 = attrs.date1904 === "1" || attrs.date1904 === "true";
        else if (name === "sheet") {
          const rid = Object.entries(attrs).find(([k]) => k.endsWith(":id"))?.[1] ?? "";
          refs.push({ name: attrs.name ?? "", rid, hidden: attrs.state === "hidden" || attrs.state === "veryHidden" });
        }
      },
      text: () => {},
      close: (name) => {
        if (name !== "workbook") return;
        this.sheetRefs = refs;
        this.sheets = [];
        if (this.rels) this.listSheets();
      },
    };
  }

  private workbookRels(): XmlHandler {
    const rels = new Map<string, { type: string; path: string }>();
    return {
      open: (name, attrs) => {
        if (name !== "Relationship" || !attrs.Id || !attrs.Target || attrs.TargetMode === "External") return;
        rels.set(attrs.Id, { type: attrs.Type ?? "", path: resolve(this.workbookPath, attrs.Target) });
      },
      text: () => {},
      close: (name) => {
        if (name !== "Relationships") return;
        for (const r of rels.values()) {
          if (isType(r.type, "styles")) this.stylesPath = r.path;
          if (isType(r.type, "sharedStrings")) this.stringsPath = r.path;
        }
        // Parts read before the relationships, under their usual names, count if that is where they are.
        if (this.styles && this.stylesPath?.toLowerCase() !== "xl/styles.xml") this.styles = null;
        if (this.strings && this.stringsPath?.toLowerCase() !== "xl/sharedstrings.xml") this.strings = null;
        this.rels = rels;
        if (this.sheets) this.listSheets();
      },
    };
  }

  private stylesPart(): XmlHandler {
    const styles: Styles = { xfs: [], custom: new Map() };
    let inXfs = false;
    return {
      open: (name, attrs) => {
        if (name === "numFmt" && attrs.numFmtId && attrs.formatCode !== undefined) styles.custom.set(Number(attrs.numFmtId), attrs.formatCode);
        else if (name === "cellXfs") inXfs = true;
        else if (name === "xf" && inXfs) styles.xfs.push(Number(attrs.numFmtId ?? 0));
      },
      text: () => {},
      close: (name) => {
        if (name === "cellXfs") inXfs = false;
        else if (name === "styleSheet") this.styles = styles;
      },
    };
  }

  /** Read attribute by attribute, as a sheet is: a million-row list has millions of strings. */
  private stringsPart(): XmlStreamHandler {
    const strings = new SharedStrings();
    let text = "";
    let inText = false;
    let phonetic = 0;
    return {
      start: (name) => {
        if (name === "si") text = "";
        else if (name === "rPh") phonetic++;
        else if (name === "t" && phonetic === 0) inText = true;
      },
      attribute: () => {},
      text: (t) => {
        // A string longer than a row may be is cut just past the bound: its rows are `too_long`.
        if (inText && text.length <= MAX_ROW_CHARS) text += t.length > MAX_ROW_CHARS ? t.slice(0, MAX_ROW_CHARS + 1) : t;
      },
      close: (name) => {
        if (name === "t") inText = false;
        else if (name === "rPh") phonetic--;
        else if (name === "si") strings.add(unescapeOoxml(text.length > MAX_ROW_CHARS + 1 ? text.slice(0, MAX_ROW_CHARS + 1) : text));
        else if (name === "sst") this.strings = strings;
      },
    };
  }
}

/**
 * A worksheet's <sheetData>, cell by cell: shared strings looked up, inline strings and rich text
 * runs joined (phonetic runs left out), formulas shown by their cached <v>, booleans as
 * TRUE/FALSE, errors as written (#N/A), numbers through their style's number format. Rows with
 * no value are blank lines, as in a CSV.
 */
export class SheetParser implements XmlStreamHandler {
  records: SplitRow[] = [];
  private row = 0;
  /** The open row's `r` (0: none given). */
  private rowRef = 0;
  private cells: string[] = [];
  private chars = 0;
  private inRow = false;
  /** The element whose attributes come next. */
  private element = "";
  private col = -1;
  /** The open cell's column from its `r` (-1: none given: the one after the last). */
  private cellCol = -1;
  private type = "n";
  private style = 0;
  private value = "";
  /** Inside <v>, or inside <is>'s <t> (outside a phonetic run). */
  private collecting = false;
  private inInline = false;
  private phonetic = 0;

  constructor(
    private readonly sheet: string,
    private readonly sharedString: (index: number) => string,
    private readonly format: (style: number) => NumberFormatter,
  ) {}

  take(): SplitRow[] {
    const out = this.records;
    this.records = [];
    return out;
  }

  start(name: string): void {
    this.element = name;
    switch (name) {
      case "c":
        this.cellCol = -1;
        this.type = "n";
        this.style = 0;
        this.value = "";
        return;
      case "v":
        this.collecting = true;
        return;
      case "is":
        this.inInline = true;
        return;
      case "rPh":
        this.phonetic++;
        return;
      case "t":
        if (this.inInline && this.phonetic === 0) this.collecting = true;
        return;
      case "row":
        this.rowRef = 0;
        this.cells = [];
        this.chars = 0;
        this.col = -1;
        this.inRow = true;
        return;
      default:
    }
  }

  attribute(name: string, value: string): void {
    if (this.element === "c") {
      if (name === "r") {
        this.cellCol = columnOf(value);
        if (this.cellCol >= MAX_SHEET_COLUMNS) throw new SpreadsheetError("xml_too_complex", `Sheet ${this.sheet} has a cell past column XFD (${value})`);
      } else if (name === "t") this.type = value;
      else if (name === "s") this.style = Number(value);
    } else if (this.element === "row" && name === "r") {
      const r = Number(value);
      if (Number.isInteger(r) && r > 0) this.rowRef = r;
    }
  }

  text(text: string): void {
    // Bounded: a value past the row's bound makes the row too long, and is not read further.
    if (this.collecting && this.value.length <= MAX_ROW_CHARS) this.value += text.length > MAX_ROW_CHARS ? text.slice(0, MAX_ROW_CHARS + 1) : text;
  }

  close(name: string): void {
    switch (name) {
      case "v":
      case "t":
        this.collecting = false;
        return;
      case "rPh":
        this.phonetic--;
        return;
      case "is":
        this.inInline = false;
        return;
      case "c": {
        this.col = this.cellCol >= 0 ? this.cellCol : this.col + 1;
        if (this.col >= MAX_SHEET_COLUMNS) throw new SpreadsheetError("xml_too_complex", `Sheet ${this.sheet} has a cell past column XFD`);
        const shown = this.shown();
        if (shown !== "" && this.inRow) {
          this.cells[this.col] = shown;
          this.chars += shown.length + 1;
        }
        return;
      }
      case "row": {
        this.inRow = false;
        this.row = this.rowRef || this.row + 1;
        const cells = this.cells;
        if (cells.length === 0) return;
        for (let i = 0; i < cells.length; i++) if (cells[i] === undefined) cells[i] = "";
        const record: SplitRow = { line: this.row, fields: cells };
        if (this.chars - 1 > MAX_ROW_CHARS) record.overlong = true;
        this.records.push(record);
        return;
      }
      default:
    }
  }

  private shown(): string {
    const v = this.value;
    switch (this.type) {
      case "s":
        return this.sharedString(Number(v));
      case "inlineStr":
        return unescapeOoxml(v);
      case "str":
      case "e":
        return unescapeOoxml(v);
      case "b":
        return v === "1" ? "TRUE" : v === "0" ? "FALSE" : v;
      case "d":
        return v;
      default: {
        if (v === "") return "";
        const n = Number(v);
        return Number.isNaN(n) ? v : this.format(this.style)(n, v.trim());
      }
    }
  }
}
