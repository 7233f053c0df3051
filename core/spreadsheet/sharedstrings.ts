// A workbook's shared strings (xl/sharedStrings.xml), kept compactly: every sheet refers to them
// by index, and Excel writes them after the sheets, so all of them are held while the sheets are
// read. A million-row list has ~3 million distinct strings: as JS strings they would take ~100 MB
// (a header of ~20 bytes each), here ~47 MB: their UTF-8 in 1 MiB blocks, each after its length
// (one byte below 128), and the start of every 16th string (a lookup skips at most 15 lengths).
import { MAX_SHARED_STRING_BYTES, SpreadsheetError } from "./limits.ts";

/** Each block holds whole strings; the longest string (MAX_ROW_CHARS + 1 characters of UTF-8, ~200 KB) fits in one. */
const BLOCK_BYTES = 1 << 20;
/** Strings per recorded start. */
const GROUP = 16;
const PAGE = 1 << 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SharedStrings {
  private readonly blocks: Uint8Array[] = [];
  /** How many bytes of each block hold strings (the last one's grows). */
  private readonly ends: number[] = [];
  private used = BLOCK_BYTES;
  /** Where every GROUP-th string starts (block index × BLOCK_BYTES + offset), in pages. */
  private readonly starts: Uint32Array[] = [];
  count = 0;
  /** Bytes held: the blocks and the pages of starts. */
  private held = 0;

  add(text: string): void {
    // At most 3 bytes of UTF-8 per UTF-16 unit, and 3 bytes of length.
    if (this.used + text.length * 3 + 3 > BLOCK_BYTES) this.newBlock();
    const block = this.blocks.at(-1)!;
    const at = this.used;
    // The length's bytes depend on the length: encode after a 3-byte gap, then close it up.
    const { written } = encoder.encodeInto(text, block.subarray(at + 3));
    const prefix = written < 0x80 ? 1 : written < 0x4000 ? 2 : 3;
    if (prefix < 3) block.copyWithin(at + prefix, at + 3, at + 3 + written);
    let n = written;
    for (let i = 0; i < prefix; i++, n >>>= 7) block[at + i] = (n & 0x7f) | (i < prefix - 1 ? 0x80 : 0);
    if (this.count % GROUP === 0) {
      const group = this.count / GROUP;
      if (group % PAGE === 0) {
        this.starts.push(new Uint32Array(PAGE));
        this.grow(PAGE * 4);
      }
      this.starts[Math.floor(group / PAGE)]![group % PAGE] = (this.blocks.length - 1) * BLOCK_BYTES + at;
    }
    this.used = at + prefix + written;
    this.ends[this.blocks.length - 1] = this.used;
    this.count++;
  }

  get(index: number): string {
    if (!(index >= 0 && index < this.count)) return "";
    const group = Math.floor(index / GROUP);
    const start = this.starts[Math.floor(group / PAGE)]![group % PAGE]!;
    let b = Math.floor(start / BLOCK_BYTES);
    let at = start % BLOCK_BYTES;
    for (let skip = index % GROUP; ; skip--) {
      if (at >= this.ends[b]!) {
        b++; // the group runs on in the next block
        at = 0;
      }
      const block = this.blocks[b]!;
      let length = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = block[at++]!;
        length |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
      if (skip === 0) return decoder.decode(block.subarray(at, at + length));
      at += length;
    }
  }

  private newBlock(): void {
    this.blocks.push(new Uint8Array(BLOCK_BYTES));
    this.ends.push(0);
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
