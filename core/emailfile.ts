// Reads a list of addresses from a file's text, streaming: one address per line, or CSV/TSV with
// or without a header, the email column found by its name or else by its content. The same
// reader serves the CLI's --file and the edge's upload ingest (chunks of any size).
//
// Every non-blank input row ends as a ListRow (which then gets a result) or as a counted reject
// with its reason (issue 9). Lines end at LF, CRLF or a lone CR.
import { cleanAddress, parseAddress } from "./address.ts";
import { MAX_EMAIL_LENGTH, noRejects, type RejectCounts, type RejectReason } from "./contracts.ts";

const EMAIL_HEADERS = new Set([
  "email", "e-mail", "e_mail", "email address", "email_address", "emailaddress", "e-mail address",
  "mail", "email id", "correo", "correo electronico", "courriel", "adresse email", "emails",
]);
const DELIMITERS = [",", "\t", ";", "|"];
/** Rows looked at before the email column is chosen. */
export const SAMPLE_ROWS = 50;
/** Non-blank lines looked at before deciding between a plain list and a table. */
export const SAMPLE_LINES = 50;
/** Lines, blank ones included, held at most before deciding: a file of blank lines is not held whole. */
export const SAMPLE_MAX_LINES = 10_000;
/**
 * How far a CSV quoted field may run on before its opening quote is taken for a stray one: a
 * real multi-line note is rarely this long, and a typo must not swallow the rest of the file.
 * The line that opened it, and the lines held after it, are then read literally (quotes as
 * characters, split at the delimiter) and reading goes on after them, so no row is lost and no
 * line is read more than twice.
 */
export const MAX_QUOTED_LINES = 100;
/**
 * The longest row (one line, or the lines of one quoted record) in UTF-16 code units: a row
 * longer than this is a counted `row_too_long` reject, read no further than this bound, so one
 * runaway row costs neither time nor memory (issue 10).
 */
export const MAX_ROW_CHARS = 64 * 1024;

const looksLikeEmail = (v: string) => /^[^@\s]+@[^@\s]+$/.test(v.trim());

export interface ListRow {
  /** Position among data rows (header excluded, rejected rows included), from 0. */
  index: number;
  email: string;
  /** The row as it was, for exports that keep the user's columns. */
  fields: string[];
  /** The 1-based input line where the row starts (absent for rows that did not come from text). */
  line?: number;
}

/** A row that arrives already split into cells (a spreadsheet's), with its 1-based row number. */
export interface SplitRow {
  line: number;
  fields: string[];
  /** Longer than MAX_ROW_CHARS (cells and a separator each): a `too_long` reject. */
  overlong?: boolean;
}

/** A non-blank input row that gets no result, and why. */
export interface RejectedRow {
  line: number;
  /** Its position among data rows, as ListRow.index: the full export keeps it in place (issue 26). */
  index: number;
  /** The row's text (its lines joined by "\n"). */
  raw: string;
  /** Its cells; none for a line past MAX_ROW_CHARS, which is never split (only its start was read). */
  fields: string[];
  reason: RejectReason;
}

type Layout = { kind: "plain"; header: string | null } | { kind: "table"; column: number; header: string[] | null };
/** One input line; `overlong` when it ran past MAX_ROW_CHARS (`text` is then its start). */
type Line = { no: number; text: string; overlong?: boolean };

/** One record; `overlong` ones (past MAX_ROW_CHARS) are rejects, kept in line so they keep their place. */
type Rec = { line: number; raw: string; fields: string[]; overlong?: boolean };

export interface ReaderOptions {
  /** The email column, chosen by the user: a header name (any case), else a 0-based index. */
  column?: string | undefined;
  /** Told of each rejected row, in input order (the CLI prints a line for each). */
  onReject?: (row: RejectedRow) => void;
  /**
   * A list of people (a job of kind `find`): the first row is the header, and every non-blank
   * data row is a ListRow with `email` "" (its cells are read by header, core/ingest.ts).
   */
  people?: boolean;
}

/**
 * Splits text into lines as it streams; a CRLF split across chunks is one line break. A line is
 * kept up to MAX_ROW_CHARS: past that only its end is looked for, so each character is scanned once.
 */
class LineSplitter {
  private partial = "";
  private overlong = false;
  private pendingCR = false;

  push(text: string): { text: string; overlong: boolean }[] {
    if (text === "") return [];
    if (this.pendingCR && text.charCodeAt(0) === 10) text = text.slice(1);
    this.pendingCR = false;
    const lines: { text: string; overlong: boolean }[] = [];
    // The next LF and the next CR, each looked up again only once passed.
    let lf = text.indexOf("\n");
    let cr = text.indexOf("\r");
    let start = 0;
    while (lf !== -1 || cr !== -1) {
      const at = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      this.append(text, start, at);
      lines.push(this.take());
      start = at === cr && lf === cr + 1 ? lf + 1 : at + 1;
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
    }
    // A CR that ends the chunk may be the first half of a CRLF.
    if (start === text.length && text.endsWith("\r")) this.pendingCR = true;
    this.append(text, start, text.length);
    return lines;
  }

  end(): { text: string; overlong: boolean }[] {
    return this.partial || this.overlong ? [this.take()] : [];
  }

  private append(text: string, from: number, to: number): void {
    if (this.overlong) return;
    const room = MAX_ROW_CHARS - this.partial.length;
    if (to - from > room) {
      this.partial += text.slice(from, from + room);
      this.overlong = true;
    } else {
      this.partial += text.slice(from, to);
    }
  }

  private take(): { text: string; overlong: boolean } {
    const line = { text: this.partial, overlong: this.overlong };
    this.partial = "";
    this.overlong = false;
    return line;
  }
}

/** One CSV record, fed a line at a time (RFC 4180: a quote opens a field only at its start). */
class RecordParser {
  private fields: string[] = [];
  private field = "";
  private quoted = false;

  /** True when the record is complete at the end of this line. */
  line(text: string, d: string): boolean {
    let atStart = this.field === "" && !this.quoted;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.quoted) {
        if (c !== '"') this.field += c;
        else if (text[i + 1] === '"') (this.field += '"'), i++;
        else this.quoted = false;
        atStart = false;
      } else if (c === d) {
        this.fields.push(this.field);
        this.field = "";
        atStart = true;
      } else if (c === '"' && atStart) {
        this.quoted = true;
        atStart = false;
      } else {
        this.field += c;
        atStart = false;
      }
    }
    if (this.quoted) {
      this.field += "\n";
      return false;
    }
    this.fields.push(this.field);
    return true;
  }

  /** The record's fields; the parser starts afresh. */
  take(): string[] {
    const out = this.fields;
    this.reset();
    return out;
  }

  reset(): void {
    this.fields = [];
    this.field = "";
    this.quoted = false;
  }
}

/** How many fields one line has, read on its own (an unterminated quote runs to the line's end). */
function fieldCount(text: string, d: string): number {
  const p = new RecordParser();
  p.line(text, d);
  return p.take().length;
}

/**
 * Whether a line has delimiter `d` outside what an address can hold: a line that is one address
 * as a whole (an RFC 5321 quoted local part may hold "," ";" or "|") has none.
 */
function splitsOn(text: string, d: string): boolean {
  if (!text.includes(d) || fieldCount(text, d) === 1) return false;
  return !parseAddress(text.trim()).ok;
}

/** One address-like token: an "@" and no white space outside quoted strings. */
const addressLike = (text: string) => text.includes("@") && !/\s/.test(text.trim().replace(/"[^"]*"/g, ""));

/**
 * Plain list or table, from the sample: a table when some delimiter splits at least as many lines
 * as there are lines that are one address-like token (continuation lines of a multi-line quoted
 * note are neither). Otherwise each line is one address and its quotes are literal, so a stray
 * quote can never join lines; a plain list stays plain whatever its later lines hold.
 */
function chooseDelimiter(lines: string[]): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const count = lines.filter((l) => splitsOn(l, d)).length;
    if (count > bestCount) [best, bestCount] = [d, count];
  }
  if (best === null) return null;
  const single = lines.filter((l) => !splitsOn(l, best) && addressLike(l)).length;
  return bestCount >= single ? best : null;
}

/** A plain-list line that is one CSV-quoted field (single-column exports quote every cell) is unquoted; other quotes are literal. */
function plainCell(text: string): string {
  const t = text.trim();
  const m = /^"((?:[^"]|"")*)"$/.exec(t);
  return m ? m[1]!.replace(/""/g, '"') : t;
}

/**
 * The address of a cell written as a mailbox with a display name, `"Bob" <bob@ok.test>` (RFC 5322
 * §3.4 name-addr, as mail clients and CRMs export contacts): the angle-addr's address, so it
 * dedupes with a bare `bob@ok.test` (issue 26). Any other cell is taken as it is.
 */
function addrSpec(cell: string): string {
  const m = /^[^<>@]*<([^<>\s]+@[^<>\s]+)>$/.exec(cell);
  return m ? m[1]! : cell;
}

export class AddressListReader {
  private readonly options: ReaderOptions;
  private readonly lines = new LineSplitter();
  private started = false;
  private lineNo = 0;
  /** Lines held until plain vs table is decided; null once it is. */
  private lineSample: Line[] | null = [];
  /** Non-blank lines among them. */
  private sampled = 0;
  /** null: a plain list; else the table's delimiter. */
  private delimiter: string | null = null;
  private readonly parser = new RecordParser();
  /** Lines of a table record whose quoted field is still open. */
  private held: Line[] = [];
  private heldChars = 0;
  /** Records held until the email column is chosen; null once it is. */
  private recordSample: Rec[] | null = [];
  private layout: Layout | null = null;
  private headerRecord: Rec | null = null;
  private nextIndex = 0;
  /** Non-blank records read (the header row included). */
  private records = 0;
  /** Rows come split already (pushCells): no lines, no delimiter, always a table. */
  private split = false;
  /** Non-blank rows that got no address, by reason. */
  readonly rejects: RejectCounts = noRejects();

  constructor(options: ReaderOptions = {}) {
    this.options = options;
  }

  /** The header name of the email column, or null for plain lists and headerless files. */
  get column(): string | null {
    if (!this.layout || !this.layout.header) return null;
    return this.layout.kind === "plain" ? this.layout.header : (this.layout.header[this.layout.column] ?? null);
  }

  /** The file's header row, when it has one. */
  get header(): string[] | null {
    return this.layout?.kind === "table" ? this.layout.header : null;
  }

  /** Whether the email column has been looked for (found or not); until then rows are held. */
  get decided(): boolean {
    return this.recordSample === null;
  }

  /** Whether the input had any non-blank row (a file of blank lines has none). */
  get blank(): boolean {
    return this.records === 0 && Object.values(this.rejects).every((n) => n === 0);
  }

  /** Where the email column is among a row's fields (0 for a plain list), or null when none was found. */
  get columnIndex(): number | null {
    return !this.layout ? null : this.layout.kind === "plain" ? 0 : this.layout.column;
  }

  /**
   * Feeds rows already split into cells (a sheet's), instead of text: the header row and the
   * email column are found exactly as for a CSV's records. A row with no non-blank cell is a
   * blank line. Not to be mixed with push() on one reader.
   */
  pushCells(rows: SplitRow[]): ListRow[] {
    this.split = true;
    this.lineSample = null;
    const out: ListRow[] = [];
    for (const r of rows) {
      const raw = this.options.onReject ? r.fields.join(",") : "";
      if (r.overlong) this.record({ line: r.line, raw, fields: [], overlong: true }, out);
      else if (r.fields.some((c) => c.trim() !== "")) this.record({ line: r.line, raw, fields: r.fields }, out);
    }
    return out;
  }

  /** Feeds text; returns the rows completed by it (none until the email column is known). */
  push(text: string): ListRow[] {
    if (!this.started && text !== "") {
      text = text.replace(/^\uFEFF/, "");
      this.started = true;
    }
    return this.feed(this.lines.push(text), false);
  }

  /** Ends the input; returns the remaining rows. */
  end(): ListRow[] {
    return this.feed(this.lines.end(), true);
  }

  private feed(lines: { text: string; overlong: boolean }[], last: boolean): ListRow[] {
    const out: ListRow[] = [];
    for (const l of lines) this.line({ no: ++this.lineNo, text: l.text, overlong: l.overlong }, out);
    if (last) {
      this.decideKind(out);
      this.unterminated(out);
      this.chooseColumn(out);
    }
    return out;
  }

  private line(l: Line, out: ListRow[]): void {
    const blank = !l.overlong && l.text.trim() === "";
    if (this.lineSample) {
      this.lineSample.push(l);
      if (!blank) this.sampled++;
      if (this.sampled >= SAMPLE_LINES || this.lineSample.length >= SAMPLE_MAX_LINES) this.decideKind(out);
      return;
    }
    // A quoted record may not grow past the row bound: its quote was a stray one.
    if (this.held.length > 0 && (l.overlong || this.heldChars + l.text.length > MAX_ROW_CHARS)) this.unterminated(out);
    const d = this.delimiter;
    if (this.held.length === 0) {
      if (blank) return;
      if (l.overlong) return this.record({ line: l.no, raw: l.text, fields: [], overlong: true }, out);
      if (d === null) return this.record({ line: l.no, raw: l.text, fields: [plainCell(l.text)] }, out);
      if (!l.text.includes('"')) return this.record({ line: l.no, raw: l.text, fields: l.text.split(d) }, out);
    }
    this.held.push(l);
    this.heldChars += l.text.length + 1;
    // The parser keeps its quote state between lines: each line is scanned once.
    if (this.parser.line(l.text, d!)) {
      const raw = this.held.map((h) => h.text).join("\n");
      this.record({ line: this.held[0]!.no, raw, fields: this.parser.take() }, out);
      this.held = [];
      this.heldChars = 0;
    } else if (this.held.length > MAX_QUOTED_LINES) {
      this.unterminated(out);
    }
  }

  /**
   * The open quote was a stray one: the line that opened it and the lines held after it are read
   * literally, so none is scanned a third time however many stray quotes follow.
   */
  private unterminated(out: ListRow[]): void {
    const held = this.held;
    this.held = [];
    this.heldChars = 0;
    this.parser.reset();
    for (const l of held) if (l.text.trim() !== "") this.record({ line: l.no, raw: l.text, fields: l.text.split(this.delimiter!) }, out);
  }

  private decideKind(out: ListRow[]): void {
    const sample = this.lineSample;
    if (!sample) return;
    this.lineSample = null;
    this.delimiter = chooseDelimiter(sample.filter((s) => !s.overlong && s.text.trim() !== "").map((s) => s.text));
    for (const l of sample) this.line(l, out);
  }

  private record(rec: Rec, out: ListRow[]): void {
    this.records++;
    if (this.recordSample) {
      this.recordSample.push(rec);
      if (this.recordSample.length >= SAMPLE_ROWS) this.chooseColumn(out);
      return;
    }
    this.emit(rec, out);
  }

  private chooseColumn(out: ListRow[]): void {
    const sample = this.recordSample;
    if (!sample) return;
    this.recordSample = null;
    // Rows of empty cells (",,,") say nothing about the columns; they are still rejects below.
    const filled = sample.filter((r) => !r.overlong && r.fields.some((c) => c.trim() !== ""));
    const { layout, skip } = this.options.people
      ? { layout: filled.length > 0 ? ({ kind: "table", column: 0, header: filled[0]!.fields.map((h) => h.trim()) } as const) : null, skip: 1 }
      : chooseLayout(filled.map((r) => r.fields), this.delimiter === null && !this.split, this.options.column);
    this.layout = layout;
    this.headerRecord = skip ? filled[0]! : null;
    for (const rec of sample) this.emit(rec, out);
  }

  private emit(rec: Rec, out: ListRow[]): void {
    if (rec === this.headerRecord) return;
    if (rec.overlong) return this.reject(rec, "too_long");
    if (this.options.people) {
      if (rec.fields.every((c) => c.trim() === "")) return this.reject(rec, "invalid_person");
      out.push({ index: this.nextIndex++, email: "", fields: rec.fields, line: rec.line });
      return;
    }
    const layout = this.layout;
    const cell = ((!layout ? "" : layout.kind === "plain" ? rec.fields[0] : rec.fields[layout.column]) ?? "").trim();
    // The raw cell is bounded first; then the invisible characters go (issue 10).
    if (cell.length > MAX_EMAIL_LENGTH) return this.reject(rec, "too_long");
    const email = addrSpec(cleanAddress(cell));
    if (!email) return this.reject(rec, "no_address");
    out.push({ index: this.nextIndex++, email, fields: rec.fields, line: rec.line });
  }

  /** A data row without an address: it takes its place in the row order all the same. */
  private reject(rec: Rec, reason: RejectReason): void {
    this.rejects[reason]++;
    const index = this.nextIndex++;
    this.options.onReject?.({ line: rec.line, index, raw: rec.raw, fields: rec.fields, reason });
  }
}

function chooseLayout(rows: string[][], plain: boolean, chosen?: string): { layout: Layout | null; skip: number } {
  if (rows.length === 0) return { layout: null, skip: 0 };
  if (plain) {
    const first = rows[0]![0]!.trim();
    const header = EMAIL_HEADERS.has(first.toLowerCase()) ? first : null;
    return { layout: { kind: "plain", header }, skip: header ? 1 : 0 };
  }
  const width = Math.max(...rows.map((r) => r.length));
  if (chosen !== undefined) return chosenLayout(rows, chosen.trim(), width);
  const header = rows[0]!.map((h) => h.trim());
  const named = header.findIndex((h) => EMAIL_HEADERS.has(h.toLowerCase()));
  if (named >= 0) return { layout: { kind: "table", column: named, header }, skip: 1 };
  // No named column: the one whose cells most often look like addresses.
  const hasHeader = !header.some(looksLikeEmail);
  const data = hasHeader ? rows.slice(1) : rows;
  let best = -1;
  let bestCount = 0;
  for (let c = 0; c < width; c++) {
    const count = data.filter((r) => looksLikeEmail(r[c] ?? "")).length;
    if (count > bestCount) [best, bestCount] = [c, count];
  }
  if (best < 0) return { layout: null, skip: 0 };
  return { layout: { kind: "table", column: best, header: hasHeader ? header : null }, skip: hasHeader ? 1 : 0 };
}

/** The user's column: by header name, else by index; the first row is a header unless it holds an address there. */
function chosenLayout(rows: string[][], chosen: string, width: number): { layout: Layout | null; skip: number } {
  const first = rows[0]!.map((h) => h.trim());
  const named = first.findIndex((h) => h.toLowerCase() === chosen.toLowerCase());
  const column = named >= 0 ? named : /^\d+$/.test(chosen) ? Number(chosen) : -1;
  if (column < 0 || column >= width) return { layout: null, skip: 0 };
  const hasHeader = named >= 0 || !looksLikeEmail(first[column] ?? "");
  return { layout: { kind: "table", column, header: hasHeader ? first : null }, skip: hasHeader ? 1 : 0 };
}

/** One input row as the CLI reports it: an address to verify, or a reject. */
export type ListEntry = { line: number; raw: string; email: string } | { line: number; raw: string; reject: RejectReason };

/** The whole list at once (the CLI's --file): every non-blank row in input order. */
export function readAddressList(text: string): { emails: string[]; column: string | null; entries: ListEntry[]; rejects: RejectCounts } {
  const entries: ListEntry[] = [];
  const reader = new AddressListReader({ onReject: (r) => entries.push({ line: r.line, raw: r.raw, reject: r.reason }) });
  const take = (rows: ListRow[]) => {
    for (const r of rows) entries.push({ line: r.line!, raw: r.email, email: r.email });
  };
  take(reader.push(text));
  take(reader.end());
  // Rows and rejects are reported in separate streams; the line number restores input order.
  entries.sort((a, b) => a.line - b.line);
  return { emails: entries.flatMap((e) => ("email" in e ? [e.email] : [])), column: reader.column, entries, rejects: reader.rejects };
}
