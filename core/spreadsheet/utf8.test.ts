import { describe, expect, it } from "vitest";
import { Utf8Chunks } from "./utf8.ts";

const enc = new TextEncoder();

function decodeIn(bytes: Uint8Array, size: number): string {
  const d = new Utf8Chunks();
  let out = "";
  for (let i = 0; i < bytes.length; i += size) out += d.decode(bytes.subarray(i, i + size));
  return out + d.end();
}

describe("Utf8Chunks", () => {
  it("decodes characters cut at any chunk boundary as the whole would be", () => {
    const text = "ascii, é, 中文, 🙂 emoji, Ünïcödé \ufeff mid-text mark, end";
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(text)]);
    for (const size of [1, 2, 3, 5, 7, 64]) expect(decodeIn(bytes, size)).toBe(text);
  });

  it("refuses bytes that are not UTF-8, and a character cut short at the end", () => {
    expect(() => decodeIn(new Uint8Array([0x61, 0xe9, 0x62]), 1)).toThrow();
    expect(() => decodeIn(new Uint8Array([0x61, 0xe2, 0x82]), 64)).toThrow();
  });
});
