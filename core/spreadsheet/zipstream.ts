// A zip read front to back as its bytes arrive (APPNOTE.TXT 6.3.10), for uploads that are never
// held whole: each entry's local header is read, its compressed bytes go to whoever asked for the
// entry (or are dropped), and the central directory at the end is not needed. An entry whose sizes
// follow its data (flag bit 3: Java's ZipOutputStream, Apache POI, macOS Finder write these) ends
// at the data descriptor whose compressed size equals the bytes seen so far: a signature alone
// could be a chance match inside deflated data (fflate's Unzip trusts the signature), the size as well
// cannot (64 bits must agree). Inflating is bounded here too: per entry by ratio, per upload by total.
import { Inflate } from "fflate";
import { concat } from "../bytes.ts";
import { INFLATE_PIECE_BYTES, MAX_ARCHIVE_ENTRIES, MAX_RATIO, RATIO_FLOOR_BYTES, SpreadsheetError } from "./limits.ts";

export interface ZipEntry {
  /** The path inside the zip, "/"-separated; a directory's ends with "/". */
  name: string;
  /** 0: stored, 8: deflate (the only two read). */
  method: number;
  /** Flag bit 0: the entry is password-protected. */
  encrypted: boolean;
}

/**
 * Takes one entry's compressed bytes as they arrive. Its generators yield what reading them
 * produced (rows), so the caller can write them before more is read.
 */
export interface EntrySink<T> {
  data(piece: Uint8Array): Iterable<T>;
  end(): Iterable<T>;
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const DESCRIPTOR = 0x08074b50;
/** Bytes held back while looking for a data descriptor: the longest one (zip64, signed) is 24. */
const DESCRIPTOR_LOOKAHEAD = 24;
const EMPTY = new Uint8Array(0);

const u16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u32 = (b: Uint8Array, i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, i: number) => u32(b, i) + u32(b, i + 4) * 2 ** 32;

type State =
  | { kind: "header" }
  | { kind: "data"; sink: EntrySink<unknown> | null; remaining: number }
  /** Sizes follow the data: look for the descriptor; `seen` bytes of data were handed on already. */
  | { kind: "scan"; sink: EntrySink<unknown> | null; seen: number; zip64: boolean }
  /** The central directory began: nothing after it is read. */
  | { kind: "done" };

export class ZipReader<T> {
  private buf: Uint8Array = EMPTY;
  private state: State = { kind: "header" };
  /** Entries seen, directories and skipped ones included. */
  entries = 0;

  /**
   * `open` is asked for each entry and gives a sink for it, or null to drop it unread.
   * `what` names the zip in refusals ("the archive", "contacts.xlsx").
   */
  constructor(
    private readonly open: (entry: ZipEntry) => EntrySink<T> | null,
    private readonly what: string,
  ) {}

  *push(chunk: Uint8Array): Generator<T> {
    let data = concat(this.buf, chunk);
    this.buf = EMPTY;
    let at = 0;
    while (at < data.length) {
      const state = this.state;
      if (state.kind === "done") return;
      if (state.kind === "data") {
        const n = Math.min(state.remaining, data.length - at);
        if (state.sink) yield* state.sink.data(data.subarray(at, at + n)) as Iterable<T>;
        at += n;
        state.remaining -= n;
        if (state.remaining === 0) yield* this.endEntry(state.sink);
        continue;
      }
      if (state.kind === "scan") {
        const work = data.subarray(at);
        const found = findDescriptor(work, state.seen, state.zip64);
        const upTo = found ? found.dataEnd : Math.max(0, work.length - DESCRIPTOR_LOOKAHEAD);
        if (upTo > 0 && state.sink) yield* state.sink.data(work.subarray(0, upTo)) as Iterable<T>;
        state.seen += upTo;
        if (!found) {
          at += upTo;
          break; // the rest waits for more bytes
        }
        at += found.next;
        yield* this.endEntry(state.sink);
        continue;
      }
      const next = this.header(data, at);
      if (next === null) break; // not all of it has arrived
      at = next;
      const entry = this.state;
      if (entry.kind === "data" && entry.remaining === 0) yield* this.endEntry(entry.sink); // empty: a directory
    }
    // What is left is a header's start or the descriptor look-ahead: small, so it is copied.
    if (at < data.length && this.state.kind !== "done") this.buf = data.slice(at);
    data = EMPTY;
  }

  /** The end of the upload: a zip cut short is refused. */
  *end(): Generator<T> {
    if (this.state.kind !== "done") {
      throw new SpreadsheetError("archive_invalid", `${cap(this.what)} ends before its central directory: the file was cut short or is not a zip`);
    }
  }

  private *endEntry(sink: EntrySink<unknown> | null): Generator<T> {
    this.state = { kind: "header" };
    if (sink) yield* sink.end() as Iterable<T>;
  }

  /** Reads the record at `at`: returns where the next one starts, or null when more bytes are needed. */
  private header(data: Uint8Array, at: number): number | null {
    if (data.length - at < 4) return null;
    const sig = u32(data, at);
    if (sig === CENTRAL || sig === END || sig === END64) {
      this.state = { kind: "done" };
      return data.length;
    }
    if (sig !== LOCAL) throw new SpreadsheetError("archive_invalid", `${cap(this.what)} is not a readable zip (an unknown record at byte ${at})`);
    if (data.length - at < 30) return null;
    const flags = u16(data, at + 6);
    const method = u16(data, at + 8);
    let compressed = u32(data, at + 18);
    const nameLength = u16(data, at + 26);
    const extraLength = u16(data, at + 28);
    const end = at + 30 + nameLength + extraLength;
    if (data.length < end) return null;
    const extra = data.subarray(at + 30 + nameLength, end);
    let zip64 = false;
    const z64 = extraField(extra, 0x0001);
    if (z64 && (compressed === 0xffffffff || u32(data, at + 22) === 0xffffffff)) {
      zip64 = true;
      // ZIP64 extended information: original size, then compressed size, each only if its 32-bit field is all ones.
      let i = 0;
      if (u32(data, at + 22) === 0xffffffff) i += 8;
      if (compressed === 0xffffffff && z64.length >= i + 8) compressed = u64(z64, i);
    }
    const name = entryName(data.subarray(at + 30, at + 30 + nameLength), flags, extra);
    if (++this.entries > MAX_ARCHIVE_ENTRIES) {
      throw new SpreadsheetError("archive_too_many_entries", `${cap(this.what)} holds more than ${MAX_ARCHIVE_ENTRIES} entries`);
    }
    const sink = this.open({ name, method, encrypted: (flags & 1) !== 0 }) as EntrySink<unknown> | null;
    this.state = flags & 8 ? { kind: "scan", sink, seen: 0, zip64 } : { kind: "data", sink, remaining: compressed };
    return end;
  }
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function extraField(extra: Uint8Array, id: number): Uint8Array | null {
  for (let i = 0; i + 4 <= extra.length; ) {
    const size = u16(extra, i + 2);
    if (u16(extra, i) === id) return extra.subarray(i + 4, Math.min(extra.length, i + 4 + size));
    i += 4 + size;
  }
  return null;
}

const utf8 = new TextDecoder("utf-8");

/** UTF-8 when flag bit 11 says so or the Info-ZIP Unicode Path field gives it; else (CP437) read as UTF-8 too, which is right for ASCII. */
function entryName(raw: Uint8Array, flags: number, extra: Uint8Array): string {
  const unicode = flags & 0x800 ? null : extraField(extra, 0x7075);
  if (unicode && unicode.length > 5 && unicode[0] === 1) return utf8.decode(unicode.subarray(5));
  return utf8.decode(raw).replace(/\\/g, "/");
}

/**
 * Where an entry whose sizes follow it ends: a signed descriptor whose compressed size is the
 * bytes before it, or the next record's signature preceded by an unsigned descriptor that says
 * the same. Positions are in `work`; `seen` bytes of the entry came before it.
 */
function findDescriptor(work: Uint8Array, seen: number, zip64: boolean): { dataEnd: number; next: number } | null {
  const sizeBytes = zip64 ? 8 : 4;
  const unsignedLength = 4 + 2 * sizeBytes;
  for (let p = work.indexOf(0x50); p !== -1 && p + 4 <= work.length; p = work.indexOf(0x50, p + 1)) {
    if (work[p + 1] !== 0x4b) continue;
    const sig = u32(work, p);
    if (sig === DESCRIPTOR) {
      if (p + 4 + unsignedLength > work.length) continue;
      const size = zip64 ? u64(work, p + 8) : u32(work, p + 8);
      if (size === seen + p) return { dataEnd: p, next: p + 4 + unsignedLength };
    } else if (sig === LOCAL || sig === CENTRAL || sig === END || sig === END64) {
      const start = p - unsignedLength;
      if (start < 0) continue;
      const size = zip64 ? u64(work, start + 4) : u32(work, start + 4);
      if (size === seen + start) return { dataEnd: start, next: p };
    }
  }
  return null;
}

/**
 * What all the entries of one upload (an archive and the workbooks inside it) may cost together:
 * bytes inflated, and compressed bytes held while a sheet waits for its shared strings.
 */
export class InflateBudget {
  total = 0;
  held = 0;
  constructor(
    readonly maxTotal: number,
    readonly maxHeld: number,
  ) {}

  count(bytes: number): void {
    this.total += bytes;
    if (this.total > this.maxTotal) {
      throw new SpreadsheetError("archive_too_large", `The upload inflates to more than ${Math.floor(this.maxTotal / 1048576)} MB (MXRAY_MAX_UNZIPPED_BYTES); split it`);
    }
  }

  hold(bytes: number): void {
    this.held += bytes;
    if (this.held > this.maxHeld) {
      throw new SpreadsheetError("archive_too_large", `The workbook's sheets come before its shared strings and take more than ${Math.floor(this.maxHeld / 1048576)} MB to hold; save it as CSV, or split it`);
    }
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}

/**
 * Inflates one entry's compressed bytes, checking its ratio and the upload's total after every
 * INFLATE_PIECE_BYTES of input, so a bomb is stopped within ~16 MB of output.
 */
export class EntryInflater {
  private readonly inflate: Inflate | null;
  private out: Uint8Array[] = [];
  private compressed = 0;
  private inflated = 0;

  constructor(
    private readonly entry: ZipEntry,
    private readonly budget: InflateBudget,
  ) {
    if (entry.encrypted) throw new SpreadsheetError("archive_encrypted", `${entry.name} is password-protected; upload it without a password`);
    if (entry.method !== 0 && entry.method !== 8) {
      throw new SpreadsheetError("archive_invalid", `${entry.name} is compressed with method ${entry.method}; only stored and deflate entries are read (zip it again with the default settings)`);
    }
    this.inflate = entry.method === 8 ? new Inflate((chunk) => void (chunk.length > 0 && this.out.push(chunk))) : null;
  }

  /** The inflated bytes of the next compressed piece, in pieces. */
  push(piece: Uint8Array): Uint8Array[] {
    if (!this.inflate) {
      this.account(piece.length, piece.length);
      return piece.length > 0 ? [piece] : [];
    }
    const got: Uint8Array[] = [];
    for (let i = 0; i < piece.length; i += INFLATE_PIECE_BYTES) got.push(...this.run(piece.subarray(i, i + INFLATE_PIECE_BYTES), false));
    return got;
  }

  end(): Uint8Array[] {
    return this.inflate ? this.run(EMPTY, true) : [];
  }

  private run(piece: Uint8Array, final: boolean): Uint8Array[] {
    try {
      this.inflate!.push(piece, final);
    } catch {
      throw new SpreadsheetError("archive_invalid", `${this.entry.name} does not inflate: the zip is damaged`);
    }
    const got = this.out;
    this.out = [];
    let bytes = 0;
    for (const c of got) bytes += c.length;
    this.account(piece.length, bytes);
    return got;
  }

  private account(compressed: number, inflated: number): void {
    this.compressed += compressed;
    this.inflated += inflated;
    this.budget.count(inflated);
    if (this.inflated > RATIO_FLOOR_BYTES && this.inflated > MAX_RATIO * this.compressed) {
      throw new SpreadsheetError("archive_ratio_exceeded", `${this.entry.name} inflates more than ${MAX_RATIO} times its size: refused as a zip bomb`);
    }
  }
}
