// Reads a list of addresses from a file's text, streaming: one address per line, or CSV/TSV with
// or without a header, the email column found by its name or else by its content. The same
// reader serves the CLI's --file and the edge's upload ingest (chunks of any size).
import Papa from "papaparse";

const EMAIL_HEADERS = new Set([
  "email", "e-mail", "e_mail", "email address", "email_address", "emailaddress", "e-mail address",
  "mail", "email id", "correo", "correo electronico", "courriel", "adresse email", "emails",
]);
const DELIMITERS = [",", "\t", ";", "|"];
/** Rows looked at before the email column is chosen. */
export const SAMPLE_ROWS = 50;

const looksLikeEmail = (v: string) => /^[^@\s]+@[^@\s]+$/.test(v.trim());

export interface ListRow {
  /** Position among data rows (header excluded), from 0. */
  index: number;
  email: string;
  /** The row as it was, for exports that keep the user's columns. */
  fields: string[];
}

type Layout = { kind: "plain"; header: string | null } | { kind: "table"; column: number; header: string[] | null };

export interface ReaderOptions {
  /** The email column, chosen by the user: a header name (any case), else a 0-based index. */
  column?: string | undefined;
}

export class AddressListReader {
  private readonly options: ReaderOptions;
  private buffer = "";
  private started = false;
  private delimiter: string | undefined;
  private sample: string[][] | null = [];
  private layout: Layout | null = null;
  private nextIndex = 0;

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

  /** Feeds text; returns the rows completed by it (none until the email column is known). */
  push(text: string): ListRow[] {
    if (!this.started) {
      text = text.replace(/^\uFEFF/, "");
      this.started = true;
    }
    this.buffer += text;
    const cut = lastRowEnd(this.buffer);
    if (cut < 0) return [];
    const complete = this.buffer.slice(0, cut + 1);
    this.buffer = this.buffer.slice(cut + 1);
    return this.take(this.parse(complete), false);
  }

  /** Ends the input; returns the remaining rows. */
  end(): ListRow[] {
    const rest = this.buffer;
    this.buffer = "";
    return this.take(rest ? this.parse(rest) : [], true);
  }

  private parse(text: string): string[][] {
    // Rows are cut at "\n", so CRLF files are made LF first and Papa never has to guess the
    // line ending per chunk (a guess that differs between chunks garbles quoted last fields).
    const result = Papa.parse<string[]>(text.replace(/\r\n/g, "\n"), {
      skipEmptyLines: "greedy",
      newline: "\n",
      ...(this.delimiter ? { delimiter: this.delimiter } : { delimitersToGuess: DELIMITERS }),
    });
    this.delimiter ??= result.meta.delimiter;
    return result.data.filter((r) => r.some((c) => c.trim() !== ""));
  }

  private take(rows: string[][], last: boolean): ListRow[] {
    if (this.sample) {
      this.sample.push(...rows);
      if (this.sample.length < SAMPLE_ROWS && !last) return [];
      rows = this.sample;
      this.sample = null;
      const { layout, skip } = chooseLayout(rows, this.options.column);
      this.layout = layout;
      rows = rows.slice(skip);
    }
    const out: ListRow[] = [];
    const layout = this.layout;
    if (!layout) return out;
    for (const fields of rows) {
      const cell = layout.kind === "plain" ? fields.join(this.delimiter ?? ",") : fields[layout.column];
      const email = (cell ?? "").trim();
      if (email) out.push({ index: this.nextIndex++, email, fields });
    }
    return out;
  }
}

/** Where the last complete row ends: the last newline outside a quoted field (RFC 4180). */
function lastRowEnd(text: string): number {
  let inQuotes = false;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) inQuotes = !inQuotes; // an escaped "" flips twice
    else if (c === 10 && !inQuotes) last = i;
  }
  return last;
}

function chooseLayout(rows: string[][], chosen?: string): { layout: Layout | null; skip: number } {
  if (rows.length === 0) return { layout: null, skip: 0 };
  const width = Math.max(...rows.map((r) => r.length));
  if (chosen !== undefined && width > 1) return chosenLayout(rows, chosen.trim(), width);
  if (width === 1) {
    const first = rows[0]![0]!.trim();
    const header = EMAIL_HEADERS.has(first.toLowerCase()) ? first : null;
    return { layout: { kind: "plain", header }, skip: header ? 1 : 0 };
  }
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

/** The whole list at once (the CLI's --file). */
export function readAddressList(text: string): { emails: string[]; column: string | null } {
  const reader = new AddressListReader();
  const rows = [...reader.push(text), ...reader.end()];
  return { emails: rows.map((r) => r.email), column: reader.column };
}
