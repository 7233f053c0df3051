import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { csvRow, safeCell, unescapeCell } from "./csvexport.ts";

describe("CSV export", () => {
  it("defuses formula-looking cells", () => {
    const spaced = [" =1+1", "\u3000=1+1", "\u00a0@SUM(A1)", "\n=1+1", "\ufeff=1+1"];
    const fullWidth = ["\uff1dHYPERLINK(\"http://x\")", "\uff0b1", "\uff0d1", "\uff20SUM(A1)"];
    for (const bad of ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", ...spaced, ...fullWidth]) {
      expect(safeCell(bad).replace(/^"/, "")).toMatch(/^'/);
    }
    expect(safeCell(-5)).toBe("-5"); // numbers we write ourselves stay numbers
    expect(safeCell("alice@x.test")).toBe("alice@x.test");
  });
  it("round-trips through a CSV parser", () => {
    const cells = ["a,b", 'say "hi"', "multi\nline", " padded ", "=1+1", 95, null, true];
    const parsed = Papa.parse<string[]>(csvRow(cells)).data[0];
    expect(parsed).toEqual(["a,b", 'say "hi"', "multi\nline", " padded ", "'=1+1", "95", "", "true"]);
  });
  it("reads its own defused cells back as they were, and leaves other apostrophes alone", () => {
    for (const cell of ["=cmd@example.com", "+1@x.test", "-2+3", " =1+1", "\uff1d1", "@SUM(A1)", "plain@x.test", "'quoted'@x.test", "'-bob@x.test", "''=1"]) {
      expect(unescapeCell(Papa.parse<string[]>(csvRow([cell])).data[0]![0]!)).toBe(cell);
    }
    expect(safeCell("'-bob@x.test")).toBe("''-bob@x.test");
    expect(unescapeCell("'o'neil@x.test")).toBe("'o'neil@x.test");
  });
});
