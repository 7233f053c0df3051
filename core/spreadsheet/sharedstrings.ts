// A workbook's shared strings (xl/sharedStrings.xml), kept compactly: every sheet refers to them
// by index, and Excel writes them after the sheets, so all of them are held while the sheets are
// read. A million-row list has ~3 million unique strings: as JS strings they would take ~100 MB
// (a header of ~20 bytes each), as UTF-8 in 1 MiB blocks with one 32-bit offset each ~57 MB.
import { MAX_SHARED_STRING_BYTES, SpreadsheetError } from "./limits.ts";

/** Each block holds whole strings; the longest string (MAX_ROW_CHARS + 1 characters of UTF-8, ~200 KB) fits in one. */
const BLOCK_BYTES = 1 << 20;
const PAGE = 1 << 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SharedStrings {
  private readonly blocks: Uint8Array[] = [];
  private used = BLOCK_BYTES;
  /** Where each string starts: block index × BLOCK_BYTES + offset, in pages of 65,536. */
  private readonly starts: Uint32Array[] = [];
  count = 0;
  /** Bytes held: the strings' UTF-8 (with a length prefix) and their offsets. */
  private held = 0;

  add(text: string): void {
    // At most 3 bytes of UTF-8 per UTF-16 unit, plus a 3-byte length.
    const need = text.length * 3 + 3;
    if (this.used + need > BLOCK_BYTES) this.newBlock();
    const block = this.blocks.at(-1)!;
    const { written } = encoder.encodeInto(text, block.subarray(this.used + 3));
    block[this.used] = written & 0xff;
    block[this.used + 1] = (written >>> 8) & 0xff;
    block[this.used + 2] = written >>> 16;
    const page = this.count >>> 16;
    if (page === this.starts.length) {
      this.starts.push(new Uint32Array(PAGE));
      this.grow(PAGE * 4);
    }
    this.starts[page]![this.count & 0xffff] = (this.blocks.length - 1) * BLOCK_BYTES + this.used;
    this.used += 3 + written;
    this.count++;
  }

  get(index: number): string {
    if (!(index >= 0 && index < this.count)) return "";
    const start = this.starts[index >>> 16]![index & 0xffff]!;
    const block = this.blocks[Math.floor(start / BLOCK_BYTES)]!;
    const at = start % BLOCK_BYTES;
    const length = block[at]! | (block[at + 1]! << 8) | (block[at + 2]! << 16);
    return decoder.decode(block.subarray(at + 3, at + 3 + length));
  }

  private newBlock(): void {
    this.blocks.push(new Uint8Array(BLOCK_BYTES));
    this.used = 0;
    this.grow(BLOCK_BYTES);
  }

  private grow(bytes: number): void {
    this.held += bytes;
    if (this.held > MAX_SHARED_STRING_BYTES) {
      throw new SpreadsheetError("archive_too_large", `The workbook's shared strings take more than ${MAX_SHARED_STRING_BYTES / 1048576} MB to hold; save it as CSV, or split it`);
    }
  }
}

/** SpreadsheetML escapes characters XML cannot carry as _xHHHH_ (ECMA-376 Part 1, 22.9.2.19). */
export function unescapeOoxml(text: string): string {
  return text.includes("_x") ? text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : text;
}
