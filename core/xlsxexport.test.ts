import { strFromU8, unzipSync } from "fflate";
import sax from "sax";
import { describe, expect, it } from "vitest";
import { XLSX_MAX_CELL_CHARS, XlsxWriter, xlsxText, type XlsxCell } from "./xlsxexport.ts";

interface Cell { ref: string | null; type: string | null; style: string | null; value: string }

/** A worksheet's rows as a strict XML parser reads them (it throws on anything not well-formed). */
function readSheet(xml: string): { rows: { r: string; cells: Cell[] }[]; frozen: boolean; formulas: number } {
  const parser = sax.parser(true, { trim: false, normalize: false });
  const rows: { r: string; cells: Cell[] }[] = [];
  let cell: Cell | null = null;
  let inText = false;
  let frozen = false;
  let formulas = 0;
  parser.onerror = (e) => { throw e; };
  parser.onopentag = (tag) => {
    const a = tag.attributes as Record<string, string>;
    if (tag.name === "row") rows.push({ r: a.r!, cells: [] });
    if (tag.name === "c") cell = { ref: a.r ?? null, type: a.t ?? null, style: a.s ?? null, value: "" };
    if (tag.name === "t" || tag.name === "v") inText = true;
    if (tag.name === "f") formulas += 1;
    if (tag.name === "pane" && a.state === "frozen" && a.ySplit === "1") frozen = true;
  };
  parser.ontext = (t) => { if (inText && cell) cell.value += t; };
  parser.onclosetag = (name) => {
    if (name === "t" || name === "v") inText = false;
    if (name === "c") { rows.at(-1)!.cells.push(cell!); cell = null; }
  };
  parser.write(xml).close();
  return { rows, frozen, formulas };
}

/** Every part of the package, by name, as text. */
function write(header: string[], rows: XlsxCell[][], options?: ConstructorParameters<typeof XlsxWriter>[2]) {
  const chunks: Uint8Array[] = [];
  const w = new XlsxWriter(header, (c) => chunks.push(c), options);
  for (const r of rows) w.row(r);
  w.end();
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return Object.fromEntries(Object.entries(unzipSync(bytes)).map(([name, data]) => [name, strFromU8(data)]));
}

/** The package's parts name each other: content types, relationships and sheets agree. */
function checkPackage(parts: Record<string, string>): string[] {
  for (const xml of Object.values(parts)) readSheet(xml); // every part is well-formed XML
  const overrides = [...parts["[Content_Types].xml"]!.matchAll(/PartName="\/([^"]+)"/g)].map((m) => m[1]!);
  for (const p of overrides) expect(parts).toHaveProperty([p]);
  expect(parts["_rels/.rels"]).toContain('Target="xl/workbook.xml"');
  const targets = Object.fromEntries([...parts["xl/_rels/workbook.xml.rels"]!.matchAll(/Id="(\w+)"[^>]*Target="([^"]+)"/g)].map((m) => [m[1]!, `xl/${m[2]!}`]));
  expect(Object.values(targets)).toContain("xl/styles.xml");
  const sheets = [...parts["xl/workbook.xml"]!.matchAll(/<sheet name="([^"]*)" sheetId="\d+" r:id="(\w+)"\/>/g)].map((m) => ({ name: m[1]!, part: targets[m[2]!]! }));
  for (const s of sheets) {
    expect(parts).toHaveProperty([s.part]);
    expect(overrides).toContain(s.part);
  }
  expect(Object.keys(parts).sort()).toEqual(["[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/workbook.xml", ...sheets.map((s) => s.part)].sort());
  return sheets.map((s) => s.name);
}

describe("XLSX export", () => {
  it("writes a valid package: a bold, frozen header row, then the rows as typed cells", () => {
    const long = `${"a".repeat(XLSX_MAX_CELL_CHARS - 1)}😀tail`;
    const parts = write(["Name", "Email", "score", "catch_all"], [
      ["<b>Tom & \"Jerry\"</b>", "tom@x.test", 95, false],
      ["Zoë 日本 😀", "zoe@x.test", 0, true],
      ["bell\u0007ring\u0000\u001f\ufffe", "=HYPERLINK(\"http://x\")", null, ""],
      [" padded ", "line\r\nbreak\ttab", -1.5, "_x0041_ stays"],
      [long, "+1", 12],
    ]);
    expect(checkPackage(parts)).toEqual(["Results"]);
    const sheet = readSheet(parts["xl/worksheets/sheet1.xml"]!);
    expect(sheet.frozen).toBe(true);
    expect(sheet.formulas).toBe(0); // formula-looking text is an inline string, never a formula
    const [head, tom, zoe, bell, padded, longRow] = sheet.rows;
    expect(head!.cells.map((c) => [c.value, c.style, c.type])).toEqual([["Name", "1", "inlineStr"], ["Email", "1", "inlineStr"], ["score", "1", "inlineStr"], ["catch_all", "1", "inlineStr"]]);
    // A cell's place is its order in the row: no cell carries a reference.
    expect(sheet.rows.flatMap((r) => r.cells).every((c) => c.ref === null)).toBe(true);
    expect(tom!.cells.map((c) => [c.value, c.type])).toEqual([["<b>Tom & \"Jerry\"</b>", "inlineStr"], ["tom@x.test", "inlineStr"], ["95", null], ["false", "inlineStr"]]);
    expect(zoe!.cells.map((c) => c.value)).toEqual(["Zoë 日本 😀", "zoe@x.test", "0", "true"]);
    // Characters XML 1.0 forbids are gone; an empty cell is an empty element, keeping its place.
    expect(bell!.cells.map((c) => [c.value, c.type])).toEqual([["bellring", "inlineStr"], ["=HYPERLINK(\"http://x\")", "inlineStr"], ["", null], ["", null]]);
    expect(padded!.cells.map((c) => c.value)).toEqual([" padded ", "line\r\nbreak\ttab", "-1.5", "_x005F_x0041_ stays"]);
    expect(padded!.r).toBe("5");
    // Excel's cell limit, without half a surrogate pair.
    expect(longRow!.cells[0]!.value).toBe("a".repeat(XLSX_MAX_CELL_CHARS - 1));
    expect(longRow!.cells[1]!.value).toBe("+1");
  });

  it("goes on in another sheet, each with the header, past the rows a sheet holds", () => {
    const rows = Array.from({ length: 5 }, (_, i) => [`r${i}`, i]);
    const parts = write(["name", "n"], rows, { rowsPerSheet: 2, sheetName: "Q3 [leads]" });
    expect(checkPackage(parts)).toEqual(["Q3 leads", "Q3 leads (2)", "Q3 leads (3)"]);
    const sheets = [1, 2, 3].map((i) => readSheet(parts[`xl/worksheets/sheet${i}.xml`]!).rows.map((r) => r.cells.map((c) => c.value)));
    expect(sheets).toEqual([[["name", "n"], ["r0", "0"], ["r1", "1"]], [["name", "n"], ["r2", "2"], ["r3", "3"]], [["name", "n"], ["r4", "4"]]]);
  });

  it("writes a header-only sheet when there are no rows", () => {
    const parts = write(["email"], []);
    checkPackage(parts);
    expect(readSheet(parts["xl/worksheets/sheet1.xml"]!).rows.map((r) => r.cells.map((c) => c.value))).toEqual([["email"]]);
  });

  it("streams: compressed bytes leave as rows are flushed, before the end", () => {
    const chunks: Uint8Array[] = [];
    const w = new XlsxWriter(["email", "verdict"], (c) => chunks.push(c));
    for (let i = 0; i < 20_000; i++) w.row([`person${i}.${(i * 7919) % 10007}@example${i % 97}.test`, i % 3 ? "deliverable" : "risky"]);
    w.flush();
    expect(chunks.length).toBeGreaterThan(0);
    const before = chunks.length;
    w.end();
    expect(chunks.length).toBeGreaterThan(before);
  });

  it("escapes only what needs it, and refuses more columns than a sheet holds", () => {
    expect(xlsxText("plain@x.test")).toBe("plain@x.test");
    expect(xlsxText("a<b>&c\rd")).toBe("a&lt;b&gt;&amp;c&#13;d");
    expect(xlsxText("snake_case_x_y")).toBe("snake_case_x_y");
    expect(() => new XlsxWriter(Array.from({ length: 16_385 }, () => "c"), () => {})).toThrow(RangeError);
  });
});
