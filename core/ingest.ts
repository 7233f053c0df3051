// Upload ingest, pure: rows from the streaming list reader → syntax check, normalisation,
// case-insensitive dedupe and list flags → batches grouped by domain, so a probe can carry many
// recipients of one domain on one SMTP connection.
import { parseAddress } from "./address.ts";
import { MAX_EMAIL_LENGTH, type RejectCounts, type RejectReason } from "./contracts.ts";
import { AddressListReader, type ListRow, type ReaderOptions, type SplitRow } from "./emailfile.ts";
import { parsePerson, spellable, type FindInput } from "./finder/patterns.ts";
import { isDisposable, isFree, isRole } from "./lists.ts";

/** A person to find (a job of kind `find`), as parsed by core/finder: the name's parts and the mail domain. */
export type PersonItem = { first: string; middle: string; last: string; domain: string };

export interface IngestedAddress {
  /** Dedupe key: the normalised address, or the lower-cased input when it is not an address. */
  key: string;
  email: string;
  rowIndex: number;
  fields: string[];
  /** A-label domain; null when the syntax is invalid (such addresses need no probe). */
  domain: string | null;
  disposable: boolean;
  role: boolean;
  free: boolean;
  /** Set in a job of kind `find`: the person whose address is to be found (`email` is a label). */
  person?: PersonItem;
}

/**
 * A data row that gets no result of its own (issue 26): a repeat, which shares the result of the
 * first row with its key, or a reject. The full export puts it back in its place.
 */
export interface OtherRow {
  rowIndex: number;
  /** Its cells as read (none for a line too long to be split). */
  fields: string[];
  /** A repeat's dedupe key (its first row's); null for a reject. */
  key: string | null;
  /** A reject's reason; null for a repeat. */
  reason: RejectReason | null;
}

/** What an ingest is told beyond the reader's options: each row without a result of its own (a reject as it is read, a repeat as it is deduped). */
export interface IngestOptions extends ReaderOptions {
  onOther?: ((row: OtherRow) => void) | undefined;
}

/** The reader's options, with the rejects also told to `onOther`. */
function readerOptions(options: IngestOptions): ReaderOptions {
  const { onOther, ...rest } = options;
  if (!onOther) return rest;
  return {
    ...rest,
    onReject: (r) => {
      rest.onReject?.(r);
      onOther({ rowIndex: r.index, fields: r.fields, key: null, reason: r.reason });
    },
  };
}

/**
 * A set of keys held as two 32-bit hashes each in flat typed arrays: a million addresses take
 * about 16 MB instead of the ~80 MB of a Set of strings, which matters inside a Worker's 128 MB.
 * Two distinct keys collide on all 64 bits with odds of about 1 in 10^7 per million-row list.
 */
export class KeySet {
  private a = new Uint32Array(1 << 12);
  private b = new Uint32Array(1 << 12);
  size = 0;

  /** Adds the key; false when it was already there. */
  add(key: string): boolean {
    let h1 = 0x811c9dc5; // FNV-1a
    let h2 = 0x9747b28c; // a multiplicative mix seeded differently
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    h1 = (h1 | 1) >>> 0; // 0 marks an empty slot
    h2 >>>= 0;
    if ((this.size + 1) * 2 > this.a.length) this.grow();
    return this.insert(h1, h2);
  }

  private insert(h1: number, h2: number): boolean {
    const mask = this.a.length - 1;
    for (let i = (h1 ^ h2) & mask; ; i = (i + 1) & mask) {
      if (this.a[i] === 0) {
        this.a[i] = h1;
        this.b[i] = h2;
        this.size++;
        return true;
      }
      if (this.a[i] === h1 && this.b[i] === h2) return false;
    }
  }

  private grow(): void {
    const [a, b] = [this.a, this.b];
    this.a = new Uint32Array(a.length * 2);
    this.b = new Uint32Array(b.length * 2);
    this.size = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== 0) this.insert(a[i]!, b[i]!);
  }
}

export class Ingest {
  readonly reader: AddressListReader;
  /**
   * `seen` is shared by the files of one upload (an archive's, a workbook's sheets): an address
   * met in an earlier file is a duplicate here, and this file's counts are its own.
   */
  private readonly onOther: IngestOptions["onOther"];
  constructor(
    options: IngestOptions = {},
    private readonly seen = new KeySet(),
  ) {
    this.reader = new AddressListReader(readerOptions(options));
    this.onOther = options.onOther;
  }
  /** Rows with an address cell; each gets a result (its own, or its duplicate's). */
  total = 0;
  unique = 0;
  invalid = 0;
  /** Rows of the input without a result, by reason: rows in = total + their sum. */
  get rejects(): RejectCounts {
    return this.reader.rejects;
  }
  /** Rows whose address repeats an earlier row's (they share its result). */
  get duplicates(): number {
    return this.total - this.unique;
  }
  /** Domain-level flags, looked up once per domain. */
  private domains = new Map<string, { disposable: boolean; free: boolean }>();

  private domainFlags(domain: string) {
    let flags = this.domains.get(domain);
    if (!flags) {
      flags = { disposable: isDisposable(domain), free: isFree(domain) };
      this.domains.set(domain, flags);
    }
    return flags;
  }

  push(text: string): IngestedAddress[] {
    return this.accept(this.reader.push(text));
  }

  end(): IngestedAddress[] {
    return this.accept(this.reader.end());
  }

  /** Rows that arrive already split (a JSON array of addresses): a blank one is a `no_address` reject, as a CSV row without an address is. */
  pushRows(rows: ListRow[]): IngestedAddress[] {
    const addressed: ListRow[] = [];
    for (const row of rows) {
      if (row.email !== "") addressed.push(row);
      else {
        this.reader.rejects.no_address++;
        this.onOther?.({ rowIndex: row.index, fields: row.fields, key: null, reason: "no_address" });
      }
    }
    return this.accept(addressed);
  }

  /** A sheet's rows, split into cells: the email column is found as in a CSV. */
  pushCells(rows: SplitRow[]): IngestedAddress[] {
    return this.accept(this.reader.pushCells(rows));
  }

  private accept(rows: ListRow[]): IngestedAddress[] {
    const out: IngestedAddress[] = [];
    for (const row of rows) {
      this.total++;
      const parsed = parseAddress(row.email);
      const key = parsed.ok ? parsed.normalized : row.email.toLowerCase();
      if (!this.seen.add(key)) {
        this.onOther?.({ rowIndex: row.index, fields: row.fields, key, reason: null });
        continue;
      }
      this.unique++;
      if (!parsed.ok) this.invalid++;
      const flags = parsed.ok ? this.domainFlags(parsed.domain) : { disposable: false, free: false };
      out.push({
        key,
        email: row.email,
        rowIndex: row.index,
        fields: row.fields,
        domain: parsed.ok ? parsed.domain : null,
        disposable: flags.disposable,
        role: parsed.ok && isRole(parsed.local),
        free: flags.free,
      });
    }
    return out;
  }
}

const headerKey = (h: string) => h.trim().toLowerCase().replace(/[\s_-]+/g, "");
/** Header names of a people list's columns (compared without case, spaces, "_" or "-"). */
const PEOPLE_HEADERS = {
  first: ["firstname", "first", "givenname", "forename", "fname", "contactfirstname"],
  last: ["lastname", "last", "surname", "familyname", "lname", "contactlastname"],
  full: ["fullname", "name", "contactname", "personname"],
  // As CRMs and prospecting tools export them (HubSpot's "Company Domain Name", "Website URL"…).
  domain: ["domain", "domainname", "companydomain", "companydomainname", "emaildomain", "website", "websiteurl", "companywebsite", "companyurl", "companysite", "organizationdomain", "organizationwebsite", "url"],
} as const;

/** Where a people list's columns are, or which one it lacks. */
export function peopleColumns(header: string[]): { first: number; last: number; full: number; domain: number } | { missing: "name" | "domain" } {
  const keys = header.map(headerKey);
  const find = (names: readonly string[]) => keys.findIndex((k) => names.includes(k));
  const at = { first: find(PEOPLE_HEADERS.first), last: find(PEOPLE_HEADERS.last), full: find(PEOPLE_HEADERS.full), domain: find(PEOPLE_HEADERS.domain) };
  if (at.full < 0 && (at.first < 0 || at.last < 0)) return { missing: "name" };
  if (at.domain < 0) return { missing: "domain" };
  return at;
}

/** The dedupe key of a person: same name and domain, same person. */
export const personKey = (p: PersonItem) => `${p.first}|${p.middle}|${p.last}|${p.domain}`.toLowerCase();
/** What a person's row shows where an address would be: "Ada Lovelace <example.com>". */
export const personLabel = (p: PersonItem) => `${[p.first, p.middle, p.last].filter((w) => w).join(" ")} <${p.domain}>`;

/**
 * A people list (bulk finding, issue 14) read like an address list: the same streaming reader
 * (header required), each row's name and domain parsed by core/finder, deduped by person. A row
 * that names no usable person is a counted `invalid_person` reject.
 */
export class PeopleIngest {
  readonly reader: AddressListReader;
  /** `seen` as for Ingest: shared by the files of one upload. */
  private readonly onOther: IngestOptions["onOther"];
  constructor(
    options: Omit<IngestOptions, "people" | "column"> = {},
    private readonly seen = new KeySet(),
  ) {
    const onOther = options.onOther;
    // A row of a list that lacks a name or domain column is not a reject: the list is refused whole.
    this.reader = new AddressListReader(readerOptions({ ...options, people: true, onOther: onOther && ((r) => (this.locate(), this.missing === null && onOther(r))) }));
    this.onOther = onOther;
  }
  /** Rows naming a person; each gets a result (its own, or its duplicate's). */
  total = 0;
  unique = 0;
  /** People answered at ingest: none (a row that cannot be searched is a reject). */
  readonly invalid = 0;
  /** Set once the header is read when it lacks a name or a domain column; no row is taken then. */
  missing: "name" | "domain" | null = null;
  private columns: { first: number; last: number; full: number; domain: number } | null = null;

  get rejects(): RejectCounts {
    return this.reader.rejects;
  }

  push(text: string): IngestedAddress[] {
    return this.accept(this.reader.push(text));
  }

  end(): IngestedAddress[] {
    const rows = this.reader.end();
    this.locate(); // a header with no rows after it is still checked
    return this.accept(rows);
  }

  /** Rows that arrive already split, in the order of `header` (a JSON list of people). */
  pushRows(rows: ListRow[]): IngestedAddress[] {
    return this.accept(rows);
  }

  /** A sheet's rows, split into cells; the first is the header. */
  pushCells(rows: SplitRow[]): IngestedAddress[] {
    return this.accept(this.reader.pushCells(rows));
  }

  /** The header of rows given by pushRows (a file's header is read from the file). */
  header: string[] | null = null;

  private locate(): void {
    if (this.columns || this.missing) return;
    const header = this.header ?? this.reader.header;
    if (!header) return;
    const at = peopleColumns(header);
    if ("missing" in at) this.missing = at.missing;
    else this.columns = at;
  }

  private accept(rows: ListRow[]): IngestedAddress[] {
    if (rows.length > 0) this.locate();
    const at = this.columns;
    if (!at) return [];
    const out: IngestedAddress[] = [];
    for (const row of rows) {
      const cell = (i: number) => (i >= 0 ? (row.fields[i] ?? "").trim() : "");
      const [first, last] = [cell(at.first), cell(at.last)];
      const input: FindInput = first || last || at.full < 0 ? { first_name: first, last_name: last } : { full_name: cell(at.full) };
      const parsed = parsePerson({ ...input, domain: cell(at.domain) });
      const person = parsed.ok ? { ...parsed.person, domain: parsed.domain } : null;
      const key = person ? personKey(person) : "";
      // A name no pattern can spell (all its letters fold away) has nothing to search for.
      if (!person || key.length > MAX_EMAIL_LENGTH || !spellable(person, person.domain)) {
        this.rejects.invalid_person++;
        this.onOther?.({ rowIndex: row.index, fields: row.fields, key: null, reason: "invalid_person" });
        continue;
      }
      this.total++;
      if (!this.seen.add(key)) {
        this.onOther?.({ rowIndex: row.index, fields: row.fields, key, reason: null });
        continue;
      }
      this.unique++;
      out.push({ key, email: personLabel(person), rowIndex: row.index, fields: row.fields, domain: person.domain, disposable: false, role: false, free: false, person });
    }
    return out;
  }
}

/**
 * Packs addresses into batches of at most `maxSize`, keeping each domain together where it fits
 * (largest domains first, first fit), and splitting a domain larger than a batch.
 */
export function planBatches<T extends { domain: string | null }>(items: T[], maxSize: number): T[][] {
  const byDomain = new Map<string, T[]>();
  for (const item of items) {
    if (item.domain === null) continue;
    const list = byDomain.get(item.domain);
    if (list) list.push(item);
    else byDomain.set(item.domain, [item]);
  }
  const groups = [...byDomain.values()].sort((a, b) => b.length - a.length);
  const batches: T[][] = [];
  for (const group of groups) {
    for (let i = 0; i < group.length; i += maxSize) {
      const piece = group.slice(i, i + maxSize);
      const home = piece.length < maxSize ? batches.find((b) => b.length + piece.length <= maxSize) : undefined;
      if (home) home.push(...piece);
      else batches.push(piece);
    }
  }
  return batches;
}

/**
 * An address as a batch carries it: [key, email as given, row index, original row JSON | null];
 * in a job of kind `find`, `email` is a label for the person and the person comes fifth.
 */
export type BatchItem = [key: string, email: string, rowIndex: number, row: string | null, person?: PersonItem];

/**
 * Cuts batches as addresses stream in: every `window` addresses, the buffered ones are packed by
 * domain (planBatches) and handed out, so memory stays bounded and each batch still carries a
 * domain's recipients together within the window.
 */
export class BatchCutter<T extends { domain: string | null }> {
  private buffer: T[] = [];

  constructor(
    private readonly maxSize: number,
    private readonly window = maxSize * 5,
  ) {}

  push(items: T[]): T[][] {
    for (const item of items) if (item.domain !== null) this.buffer.push(item);
    if (this.buffer.length < this.window) return [];
    return this.flush();
  }

  end(): T[][] {
    return this.flush();
  }

  private flush(): T[][] {
    const out = planBatches(this.buffer, this.maxSize);
    this.buffer = [];
    return out;
  }
}
