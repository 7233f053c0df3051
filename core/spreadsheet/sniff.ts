// What an upload is, from its first bytes (the name and content type only help): a zip (an .xlsx
// workbook, or an archive of lists), an OLE compound file (an .xls workbook, or a password-
// protected .xlsx, which Office wraps in one), or text.

export type UploadKind = "text" | "zip" | "cfb";

/** Bytes needed to tell (the CFB signature is 8). */
export const SNIFF_BYTES = 8;

const CFB_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

export function sniff(head: Uint8Array): UploadKind {
  // PK\3\4 opens a zip's first entry; PK\5\6 is an empty zip's end record.
  if (head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return "zip";
  if (CFB_MAGIC.every((b, i) => head[i] === b)) return "cfb";
  return "text";
}

export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/** Content types of raw bodies taken as an archive or a workbook (the bytes decide which). */
export const ZIP_CONTENT_TYPES = [XLSX_TYPE, "application/vnd.ms-excel.sheet.macroenabled.12", "application/zip", "application/x-zip-compressed", "application/x-zip", "application/vnd.ms-excel"];

/** Whether the upload says it is a workbook, by its file name or content type. */
export function namedWorkbook(filename: string, contentType: string): boolean {
  return /\.(xlsx|xlsm|xltx|xltm)$/i.test(filename) || contentType === XLSX_TYPE || contentType === "application/vnd.ms-excel.sheet.macroenabled.12";
}

const u16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u32 = (b: Uint8Array, i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

export type CfbKind = "encrypted" | "xls" | "other";

/**
 * Tells an encrypted OOXML package (streams EncryptionInfo and EncryptedPackage, ECMA-376 Part 2
 * / MS-OFFCRYPTO) from an .xls (a Workbook or Book stream, MS-XLS) by the names in the compound
 * file's first directory sector (MS-CFB 2.2, 2.6). Bytes before that sector are dropped as they
 * pass, so it costs nothing to hold wherever the sector is.
 */
export class CfbSniffer {
  /** Bytes before the header has been read whole. */
  private prefix = new Uint8Array(0);
  private seen = 0;
  private sector: Uint8Array | null = null;
  private filled = 0;
  private from = -1;

  /** The verdict once the directory sector has passed; null while it has not. */
  push(chunk: Uint8Array): CfbKind | null {
    if (this.sector) return this.capture(chunk);
    const prefix = new Uint8Array(this.prefix.length + chunk.length);
    prefix.set(this.prefix);
    prefix.set(chunk, this.prefix.length);
    if (prefix.length < 512) {
      this.prefix = prefix;
      return null;
    }
    this.prefix = new Uint8Array(0);
    const shift = u16(prefix, 0x1e);
    const first = u32(prefix, 0x30);
    if ((shift !== 9 && shift !== 12) || first >= 0xfffffffa) return "other";
    this.sector = new Uint8Array(1 << shift);
    this.from = (first + 1) << shift;
    return this.capture(prefix);
  }

  private capture(chunk: Uint8Array): CfbKind | null {
    const start = this.seen;
    this.seen += chunk.length;
    const sector = this.sector!;
    const lo = Math.max(this.from + this.filled, start);
    const hi = Math.min(this.from + sector.length, this.seen);
    if (hi > lo) {
      sector.set(chunk.subarray(lo - start, hi - start), lo - this.from);
      this.filled = hi - this.from;
    }
    return this.filled < sector.length ? null : this.verdict();
  }

  /** At the end of the upload without a verdict: an OLE file whose directory we did not reach. */
  end(): CfbKind {
    return this.sector && this.filled === this.sector.length ? this.verdict() : "other";
  }

  private verdict(): CfbKind {
    const sector = this.sector!;
    const names: string[] = [];
    for (let at = 0; at + 128 <= sector.length; at += 128) {
      const length = Math.min(64, u16(sector, at + 0x40));
      let name = "";
      for (let i = 0; i + 1 < length - 1; i += 2) name += String.fromCharCode(u16(sector, at + i));
      names.push(name);
    }
    if (names.includes("EncryptedPackage") || names.includes("EncryptionInfo")) return "encrypted";
    if (names.includes("Workbook") || names.includes("Book")) return "xls";
    return "other";
  }
}
