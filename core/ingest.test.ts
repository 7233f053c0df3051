import { describe, expect, it } from "vitest";
import { BatchCutter, Ingest, KeySet, planBatches } from "./ingest.ts";

describe("Ingest", () => {
  it("dedupes case-insensitively, keeps invalid rows once, and flags lists", () => {
    const ingest = new Ingest();
    const csv = "name,email\nA,alice@x.test\nB,ALICE@X.TEST\nC,info@gmail.com\nD,not-an-address\nE,Not-An-Address\nF,x@mailinator.com\n";
    const out = [...ingest.push(csv), ...ingest.end()];
    expect(out.map((a) => a.key)).toEqual(["alice@x.test", "info@gmail.com", "not-an-address", "x@mailinator.com"]);
    expect({ total: ingest.total, unique: ingest.unique, invalid: ingest.invalid }).toEqual({ total: 6, unique: 4, invalid: 1 });
    expect(out[1]).toMatchObject({ role: true, free: true, disposable: false, domain: "gmail.com" });
    expect(out[2]).toMatchObject({ domain: null });
    expect(out[3]).toMatchObject({ disposable: true });
    expect(out[0]!.fields).toEqual(["A", "alice@x.test"]);
  });
});

describe("planBatches", () => {
  const items = (domain: string, n: number) => Array.from({ length: n }, () => ({ domain }));
  it("keeps domains together, splits big ones, fills batches first-fit, skips invalid", () => {
    const batches = planBatches([...items("a", 7), ...items("b", 3), ...items("c", 2), { domain: null }], 5);
    expect(batches.map((b) => b.map((x) => x.domain).join(""))).toEqual(["aaaaa", "aabbb", "cc"]);
    expect(batches.flat()).toHaveLength(12);
    expect(batches.every((b) => b.length <= 5)).toBe(true);
  });
});

describe("KeySet", () => {
  it("tells new keys from repeats across growth", () => {
    const set = new KeySet();
    for (let i = 0; i < 50_000; i++) expect(set.add(`user${i}@example.test`)).toBe(true);
    for (let i = 0; i < 50_000; i += 997) expect(set.add(`user${i}@example.test`)).toBe(false);
    expect(set.add("")).toBe(true);
    expect(set.add("")).toBe(false);
    expect(set.size).toBe(50_001);
  });
});

describe("BatchCutter", () => {
  it("hands out batches per window, never over the size, and leaves out invalid addresses", () => {
    const cutter = new BatchCutter<{ domain: string | null; n: number }>(4, 8);
    const items = (domain: string | null, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ domain, n: from + i }));
    expect(cutter.push(items("a", 0, 3))).toEqual([]);
    const first = cutter.push([...items("b", 3, 5), ...items(null, 8, 2)]);
    expect(first.flat().map((x) => x.n).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.every((b) => b.length <= 4 && new Set(b.map((x) => x.domain)).size >= 1)).toBe(true);
    const rest = cutter.end();
    expect(rest).toEqual([]);
    expect(cutter.push(items("c", 10, 1))).toEqual([]);
    expect(cutter.end().flat().map((x) => x.n)).toEqual([10]);
  });
});
