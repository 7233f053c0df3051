import { describe, expect, it } from "vitest";
import { CfbSniffer, namedWorkbook, sniff, type CfbKind } from "./sniff.ts";
import { zipOf } from "./testing.ts";

/** An OLE compound file whose first directory sector (number `at`) lists `names` (MS-CFB 2.2, 2.6). */
function cfb(names: string[], at: number, shift = 9): Uint8Array {
  const size = 1 << shift;
  const out = new Uint8Array((at + 3) * size);
  out.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  out[0x1e] = shift;
  new DataView(out.buffer).setUint32(0x30, at, true);
  const dir = (at + 1) * size;
  names.forEach((name, i) => {
    const entry = dir + i * 128;
    for (let k = 0; k < name.length; k++) out[entry + 2 * k] = name.charCodeAt(k);
    new DataView(out.buffer).setUint16(entry + 0x40, (name.length + 1) * 2, true);
  });
  return out;
}

function verdict(bytes: Uint8Array, piece: number): CfbKind {
  const s = new CfbSniffer();
  for (let i = 0; i < bytes.length; i += piece) {
    const got = s.push(bytes.subarray(i, i + piece));
    if (got) return got;
  }
  return s.end();
}

describe("sniff", () => {
  it("tells a zip, an OLE compound file and text by their first bytes", () => {
    expect(sniff(zipOf([{ name: "a.csv", data: "x" }]))).toBe("zip");
    expect(sniff(new Uint8Array([0x50, 0x4b, 5, 6, 0, 0, 0, 0]))).toBe("zip"); // an empty zip
    expect(sniff(cfb(["Root Entry"], 0))).toBe("cfb");
    expect(sniff(new TextEncoder().encode("email\nPK@x.com\n"))).toBe("text");
    expect(sniff(new Uint8Array(0))).toBe("text");
  });

  it("takes a workbook's name or content type as a workbook's", () => {
    expect(namedWorkbook("Leads.XLSX", "")).toBe(true);
    expect(namedWorkbook("", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).toBe(true);
    expect(namedWorkbook("lists.zip", "application/zip")).toBe(false);
  });
});

describe("CfbSniffer", () => {
  it("tells a password-protected workbook from an .xls by the directory's names, wherever the directory is", () => {
    for (const piece of [100, 512, 4096, 1 << 20]) {
      expect(verdict(cfb(["Root Entry", "\u0006DataSpaces", "EncryptionInfo", "EncryptedPackage"], 1), piece)).toBe("encrypted");
      expect(verdict(cfb(["Root Entry", "Workbook", "\u0005SummaryInformation"], 40), piece)).toBe("xls");
      expect(verdict(cfb(["Root Entry", "Book"], 3, 12), piece)).toBe("xls");
      expect(verdict(cfb(["Root Entry", "WordDocument"], 2), piece)).toBe("other");
    }
  });

  it("says other for a file cut short before its directory", () => {
    expect(verdict(cfb(["Root Entry", "Workbook"], 40).subarray(0, 5000), 1000)).toBe("other");
  });
});
