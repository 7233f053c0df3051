// The files of one upload (an archive's lists, a workbook's sheets) read into one job: each file
// has its own reader (its own header row and email column) and its own counts, while the dedupe
// is shared, so an address in two files is verified once. Nothing of a file that turns out to
// have no email column is counted.
//
// The job keeps one header for the export: the union of the files' header names in the order
// first seen (names compared without case; a name a file repeats gets a column per repeat). It
// only grows, so each row is stored aligned to the union as it stood, and no position moves; the
// export pads shorter rows. Every file's email column goes to the job's email column, named as in
// the first file (or "email" when that had no header); a file without a header names its other
// columns column_2, column_3… by position. Rows are numbered across the job: a file's rows follow
// the data rows (results and rejects) of the files before it; a file's repeats and rejects (told
// to `onOther`, issue 26) are placed and numbered as its other rows.
import { noRejects, type FileAccount, type FileSkipReason, type RejectCounts } from "../contracts.ts";
import type { JobKind } from "../enums.ts";
import type { SplitRow } from "../emailfile.ts";
import { Ingest, KeySet, PeopleIngest, type IngestedAddress, type OtherRow } from "../ingest.ts";

interface Open {
  order: number;
  name: string;
  sheet: string | undefined;
  ingest: Ingest | PeopleIngest;
  firstRow: number;
  /** Union position of each of the file's columns (-1: dropped); filled once its header is known. */
  map: number[] | null;
  /** Union positions this file's columns already took (a repeated name takes the next one). */
  taken: Set<number>;
  /** Its columns are the union's first ones, in order (a single sheet or list): rows are kept as they are. */
  identity: boolean;
}

const keyOf = (name: string) => name.trim().toLowerCase();

export class FileSet {
  /** Each file's line, with where it goes in the list (a workbook's sheets in the workbook's order). */
  private readonly lines: { order: number; account: FileAccount }[] = [];
  total = 0;
  unique = 0;
  invalid = 0;
  readonly rejects: RejectCounts = noRejects();
  private readonly seen = new KeySet();
  private open: Open | null = null;
  private readonly names: string[] = [];
  private readonly byKey = new Map<string, number[]>();
  /** The union position of the job's email column (-1 until a file with one is read). */
  private emailAt = -1;
  private nextRow = 0;

  constructor(private readonly opts: { kind: JobKind; column?: string | undefined; onOther?: ((row: OtherRow) => void) | undefined }) {}

  /** The job's header: every file's columns, in the order first seen. */
  get header(): string[] | null {
    return this.names.length > 0 ? [...this.names] : null;
  }

  /** The job's email column (its header name), or null (a people list, or no file read). */
  get column(): string | null {
    return this.emailAt < 0 ? null : this.names[this.emailAt]!;
  }

  /** Every file and sheet, read or not, in the upload's order. */
  get files(): FileAccount[] {
    return [...this.lines].sort((a, b) => a.order - b.order).map((l) => l.account);
  }

  /** Files (or sheets) that were read. */
  get read(): number {
    return this.lines.filter((l) => !l.account.skipped).length;
  }

  /** Starts reading a file; `order` places it in the list (by default, after those before it). */
  begin(name: string, sheet?: string, order = this.lines.length): void {
    const told = this.opts.onOther;
    // The file's last rows are read by end(), after it is no longer the open one.
    let open: Open | null = null;
    const onOther = told && ((row: OtherRow) => this.other(open!, row, told));
    const ingest = this.opts.kind === "find" ? new PeopleIngest({ onOther }, this.seen) : new Ingest({ column: this.opts.column, onOther }, this.seen);
    this.open = open = { order, name, sheet, ingest, firstRow: this.nextRow, map: null, taken: new Set(), identity: false };
  }

  /** A file that is not read, and why. */
  skip(name: string, reason: FileSkipReason, sheet?: string, order = this.lines.length): void {
    this.lines.push({ order, account: { name, ...(sheet !== undefined ? { sheet } : {}), total: 0, unique: 0, rejects: noRejects(), skipped: reason } });
  }

  pushText(text: string): IngestedAddress[] {
    const open = this.open!;
    return this.align(open, open.ingest.push(text));
  }

  pushCells(rows: SplitRow[]): IngestedAddress[] {
    const open = this.open!;
    return this.align(open, open.ingest.pushCells(rows));
  }

  /** The open file has shown it has no email column (find: no name or domain column): the rest of it need not be read. */
  get hopeless(): boolean {
    return this.open !== null && this.lacksColumns(this.open.ingest);
  }

  /** Ends the open file: its last rows, and its line in `files`. */
  end(): IngestedAddress[] {
    const open = this.open!;
    this.open = null;
    const { ingest, name, sheet, order } = open;
    const rows = ingest.end(); // a short file's columns are looked for only now
    if (ingest.reader.blank) {
      this.skip(name, "empty", sheet, order);
      return [];
    }
    if (this.lacksColumns(ingest)) {
      this.skip(name, this.opts.kind === "find" ? "no_people_columns" : "no_email_column", sheet, order);
      return [];
    }
    const last = this.align(open, rows);
    const named = sheet !== undefined ? { name, sheet } : { name };
    const rejected = Object.values(ingest.rejects).reduce((a, b) => a + b, 0);
    if (ingest.total + rejected === 0) {
      this.skip(name, "empty", sheet, order); // a header and nothing under it
      return last;
    }
    this.lines.push({ order, account: { ...named, total: ingest.total, unique: ingest.unique, rejects: { ...ingest.rejects } } });
    this.total += ingest.total;
    this.unique += ingest.unique;
    this.invalid += ingest.invalid;
    for (const [reason, n] of Object.entries(ingest.rejects)) this.rejects[reason as keyof RejectCounts] += n;
    this.nextRow += ingest.total + rejected;
    return last;
  }

  private lacksColumns(ingest: Ingest | PeopleIngest): boolean {
    if (ingest instanceof PeopleIngest) return ingest.missing !== null;
    return ingest.reader.decided && ingest.reader.columnIndex === null;
  }

  /** A repeat or reject of the open file, placed and numbered as its other rows; none of a file that is not read. */
  private other(open: Open, row: OtherRow, told: (row: OtherRow) => void): void {
    if (this.lacksColumns(open.ingest)) return;
    told(this.align(open, [row])[0]!);
  }

  /** Rows of the open file placed in the job's columns, and numbered across the job. */
  private align<R extends { rowIndex: number; fields: string[] }>(open: Open, rows: R[]): R[] {
    if (rows.length === 0) return rows;
    const header = open.ingest.reader.header;
    if (!open.map) {
      open.map = [];
      // The email column takes the job's; the others, in their order, take theirs by name.
      const email = this.emailOf(open);
      if (email !== null && this.emailAt >= 0) {
        open.map[email] = this.emailAt;
        open.taken.add(this.emailAt);
      }
      if (header) for (let i = 0; i < header.length; i++) this.place(open, i, header);
      open.identity = header !== null && open.map.every((at, i) => at === i);
    }
    if (open.identity) {
      const width = open.map.length;
      for (const a of rows) {
        const fields = a.fields;
        if (fields.length > width) fields.length = width;
        while (fields.length > 1 && fields.at(-1) === "") fields.pop();
        a.rowIndex += open.firstRow;
      }
      return rows;
    }
    for (const a of rows) {
      const fields = a.fields;
      const placed: string[] = [];
      for (let i = 0; i < fields.length; i++) {
        const at = open.map[i] ?? this.place(open, i, header);
        if (at >= 0) placed[at] = fields[i]!;
      }
      for (let i = 0; i < placed.length; i++) if (placed[i] === undefined) placed[i] = "";
      // Trailing empty cells are what the export pads with anyway.
      while (placed.length > 1 && placed.at(-1) === "") placed.pop();
      a.fields = placed;
      a.rowIndex += open.firstRow;
    }
    return rows;
  }

  private emailOf(open: Open): number | null {
    return open.ingest instanceof Ingest ? open.ingest.reader.columnIndex : null;
  }

  /** The union position of column `i` of the open file. */
  private place(open: Open, i: number, header: string[] | null): number {
    const map = open.map!;
    if (map[i] !== undefined) return map[i]!;
    if (header && i >= header.length) return (map[i] = -1); // past the header: not kept, as the export of one file keeps none
    const email = this.emailOf(open);
    const name = header?.[i]?.trim() || (i === email ? "email" : `column_${i + 1}`);
    const at = this.union(open, keyOf(name), name);
    if (i === email) this.emailAt = at; // the first file's email column is the job's
    return (map[i] = at);
  }

  /** The next position of `key` this file has not used yet, made when the union has none. */
  private union(open: Open, key: string, name: string): number {
    let positions = this.byKey.get(key);
    if (!positions) this.byKey.set(key, (positions = []));
    for (let nth = 0; ; nth++) {
      if (positions[nth] === undefined) {
        positions[nth] = this.names.length;
        this.names.push(name);
      }
      if (!open.taken.has(positions[nth]!)) {
        open.taken.add(positions[nth]!);
        return positions[nth]!;
      }
    }
  }
}
