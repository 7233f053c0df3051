import { describe, expect, it } from "vitest";
import { escapeNonAscii } from "./asciisource.ts";

// Evaluates a module body's last expression, as the bundle's code would run.
const run = (source: string): unknown => new Function(`return (${source});`)();

describe("escapeNonAscii", () => {
  it("leaves only ASCII, and code that means what it meant", () => {
    const source = String.raw`[
      /[äöü]/.test("Müller"),
      "naïve — ok".length,
      /^\p{L}+$/u.test("Zoë"),
      /[😀]/u.test("😀"),
      "😀".codePointAt(0),
      /* a comment: 0–100 § */ "ß".toUpperCase(),
    ]`;
    const escaped = escapeNonAscii(source);
    expect(escaped).toMatch(/^[\x00-\x7f]*$/);
    expect(escaped).toContain(String.raw`/[\u00e4\u00f6\u00fc]/`);
    expect(run(escaped)).toEqual(run(source));
    expect(run(escaped)).toEqual([true, 10, true, true, 0x1f600, "SS"]);
  });

  it("changes nothing in ASCII text", () => {
    const ascii = 'const a = "x"; // plain\n';
    expect(escapeNonAscii(ascii)).toBe(ascii);
  });
});
