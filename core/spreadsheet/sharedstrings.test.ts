import { describe, expect, it } from "vitest";
import { MAX_ROW_CHARS } from "../emailfile.ts";
import { SharedStrings, unescapeOoxml } from "./sharedstrings.ts";

describe("SharedStrings", () => {
  it("gives back every string by its index, across blocks and whatever its length", () => {
    const strings: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const kind = i % 7;
      strings.push(kind === 0 ? "" : kind === 1 ? `user.${i}@example.com` : kind === 2 ? "é中🙂".repeat(i % 50) : kind === 3 ? "x".repeat(200 + (i % 300)) : kind === 4 ? "y".repeat(2_000 + (i % 20_000)) : `Company ${i}`);
    }
    strings.push("z".repeat(MAX_ROW_CHARS + 1), "長".repeat(MAX_ROW_CHARS + 1), "last");
    const store = new SharedStrings();
    for (const s of strings) store.add(s);
    expect(store.count).toBe(strings.length);
    for (let i = 0; i < strings.length; i += 1) if (store.get(i) !== strings[i]) throw new Error(`string ${i} differs`);
    expect([store.get(-1), store.get(strings.length), store.get(Number.NaN)]).toEqual(["", "", ""]);
  });

  it("refuses to hold more than its bound", () => {
    const store = new SharedStrings();
    const big = "q".repeat(60_000);
    expect(() => {
      for (let i = 0; i < 2_000; i++) store.add(big);
    }).toThrow(/shared strings take more than 64 MB/);
  });
});

describe("unescapeOoxml", () => {
  it("reads _xHHHH_ escapes, an escaped underscore included", () => {
    expect(unescapeOoxml("a_x000D_b")).toBe("a\rb");
    expect(unescapeOoxml("_x005F_x0041_")).toBe("_x0041_");
    expect(unescapeOoxml("plain_x")).toBe("plain_x");
  });
});
