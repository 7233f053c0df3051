import { describe, expect, it } from "vitest";
import { Ingest, planBatches } from "./ingest.ts";

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
