import { deflateSync } from "fflate";
import { describe, expect, it } from "vitest";
import { MAX_ARCHIVE_ENTRIES, SpreadsheetError } from "./limits.ts";
import { concatAll, crc32, zipOf, type ZipEntrySpec } from "./testing.ts";
import { EntryInflater, InflateBudget, ZipReader, type EntrySink, type ZipEntry } from "./zipstream.ts";

const text = new TextDecoder();

/** Reads a zip fed in pieces of `piece` bytes; every entry inflated whole, by name. */
function readAll(zip: Uint8Array, piece: number, budget = new InflateBudget(1e9, 1e9)): Map<string, string> {
  const got = new Map<string, string>();
  const reader = new ZipReader<never>((entry: ZipEntry): EntrySink<never> => {
    const inflater = new EntryInflater(entry, budget);
    const parts: Uint8Array[] = [];
    return {
      data(p) {
        parts.push(...inflater.push(p));
        return [];
      },
      end() {
        parts.push(...inflater.end());
        got.set(entry.name, text.decode(concatAll(parts)));
        return [];
      },
    };
  }, "the archive");
  for (let i = 0; i < zip.length; i += piece) [...reader.push(zip.subarray(i, i + piece))];
  [...reader.end()];
  return got;
}

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpreadsheetError) return e.code;
    throw e;
  }
  throw new Error("not refused");
};

const entries = (descriptor?: "signed" | "unsigned", method?: 0 | 8): ZipEntrySpec[] => [
  { name: "dir/", data: "", method: 0 },
  { name: "dir/a.csv", data: "email\nada@example.com\n".repeat(50), descriptor, method },
  { name: "empty.txt", data: "", descriptor, method },
  // Bytes that look like a data descriptor's signature inside the data must not end the entry.
  { name: "b.txt", data: "PK\u0007\u0008xxxxxxxxxxxxPK\u0003\u0004", descriptor, method: 0 },
  { name: "ünïcode.csv", data: "x@y.z\n", descriptor, method },
];

describe("ZipReader", () => {
  it.each([
    ["sizes in the local headers", undefined],
    ["signed data descriptors", "signed" as const],
    ["unsigned data descriptors", "unsigned" as const],
  ])("reads every entry whatever the piece size, with %s", (_, descriptor) => {
    for (const method of [0, 8] as const) {
      const zip = zipOf(entries(descriptor, method));
      for (const piece of [1, 7, 64, 65536]) {
        const got = readAll(zip, piece);
        expect([...got.keys()]).toEqual(["dir/", "dir/a.csv", "empty.txt", "b.txt", "ünïcode.csv"]);
        expect(got.get("dir/a.csv")).toBe("email\nada@example.com\n".repeat(50));
        expect(got.get("b.txt")).toBe("PK\u0007\u0008xxxxxxxxxxxxPK\u0003\u0004");
        expect(got.get("ünïcode.csv")).toBe("x@y.z\n");
      }
    }
  });

  it("reads a ZIP64 entry (sizes in the extra field)", () => {
    const data = new TextEncoder().encode("email\nz@example.com\n");
    const body = deflateSync(data);
    const name = new TextEncoder().encode("big.csv");
    const le = (n: number, bytes: number) => Array.from({ length: bytes }, (_, i) => Math.floor(n / 2 ** (8 * i)) & 0xff);
    const extra = [...le(1, 2), ...le(16, 2), ...le(data.length, 8), ...le(body.length, 8)];
    const local = new Uint8Array([...le(0x04034b50, 4), ...le(45, 2), ...le(0, 2), ...le(8, 2), 0, 0, 0x21, 0, ...le(crc32(data), 4), ...le(0xffffffff, 4), ...le(0xffffffff, 4), ...le(name.length, 2), ...le(extra.length, 2), ...name, ...extra]);
    const end = new Uint8Array(le(0x06054b50, 4).concat(new Array(18).fill(0)));
    expect(readAll(concatAll([local, body, end]), 5).get("big.csv")).toBe("email\nz@example.com\n");
  });

  it("refuses a zip cut short, and bytes that are no zip record", () => {
    const zip = zipOf(entries());
    expect(refusal(() => readAll(zip.subarray(0, 100), 64))).toBe("archive_invalid");
    expect(refusal(() => readAll(new TextEncoder().encode("PK\u0003\u0004 then nonsense that is long enough to parse as a header"), 64))).toBe("archive_invalid");
  });

  it(`refuses more than ${MAX_ARCHIVE_ENTRIES} entries before reading the next`, () => {
    const many = Array.from({ length: MAX_ARCHIVE_ENTRIES + 1 }, (_, i): ZipEntrySpec => ({ name: `f${i}.txt`, data: "x", method: 0 }));
    expect(refusal(() => readAll(zipOf(many), 4096))).toBe("archive_too_many_entries");
    expect(readAll(zipOf(many.slice(1)), 4096).size).toBe(MAX_ARCHIVE_ENTRIES);
  });
});

describe("EntryInflater", () => {
  it("refuses a zip bomb by its ratio within the first pieces, before inflating it", () => {
    const bomb = zipOf([{ name: "bomb.csv", data: new Uint8Array(32 * 1024 * 1024), level: 1 }]);
    expect(bomb.length).toBeLessThan(40 * 1024);
    const budget = new InflateBudget(1e10, 1e9);
    expect(refusal(() => readAll(bomb, 65536, budget))).toBe("archive_ratio_exceeded");
    // Stopped after its first piece of compressed bytes (16 KiB, ~16 MB inflated), not 32 MB.
    expect(budget.total).toBeLessThanOrEqual(17 * 1024 * 1024);
  });

  it("lets a small entry compress as well as it likes (a tiny part is no bomb)", () => {
    const got = readAll(zipOf([{ name: "styles.xml", data: " ".repeat(512 * 1024) }]), 65536);
    expect(got.get("styles.xml")!.length).toBe(512 * 1024);
  });

  it("refuses more inflated bytes, all entries together, than the budget", () => {
    const zip = zipOf([
      { name: "a.csv", data: "a@example.com\n".repeat(40_000) },
      { name: "b.csv", data: "b@example.com\n".repeat(40_000) },
    ]);
    expect(readAll(zip, 65536, new InflateBudget(2_000_000, 1e9)).size).toBe(2);
    expect(refusal(() => readAll(zip, 65536, new InflateBudget(1_000_000, 1e9)))).toBe("archive_too_large");
  });

  it("refuses a password-protected entry, an unknown method, and damaged deflate data", () => {
    expect(refusal(() => readAll(zipOf([{ name: "secret.csv", data: "x", encrypted: true }]), 64))).toBe("archive_encrypted");
    const lzma = zipOf([{ name: "a.csv", data: "x", method: 0 }]);
    lzma[8] = 14; // LZMA
    expect(refusal(() => readAll(lzma, 64))).toBe("archive_invalid");
    const damaged = zipOf([{ name: "a.csv", data: "email\n".repeat(100) }]);
    damaged.fill(0xff, 40, 50);
    expect(refusal(() => readAll(damaged, 64))).toBe("archive_invalid");
  });
});
