import { describe, expect, it } from "vitest";
import { previewList } from "../listpreview.ts";
import { outlineArchive, previewArchive } from "./preview.ts";
import { SpreadsheetError } from "./limits.ts";
import { SHEET_HEAD, SHEET_TAIL, workbookParts, xlsx, zipOf } from "./testing.ts";

const book = xlsx({
  sheets: [
    { name: "Leads", rows: [["Name", "Email"], ["Ada", "ada@example.com"], ["Ada", "ADA@example.com"], ["Bob", "bob@@example.com"], ["Cy", ""]] },
    { name: "Old", state: "hidden", rows: [["email"], ["old@example.com"]] },
  ],
});

describe("previewArchive", () => {
  it("counts what the edge will: rows, unique, bad syntax, rejects, each sheet's line, the first rows", () => {
    const p = previewArchive(book, { filename: "crm.xlsx", workbook: true, kind: "verify" });
    const csv = previewList("Name,Email\nAda,ada@example.com\nAda,ADA@example.com\nBob,bob@@example.com\nCy,\n");
    expect({ ...p, files: undefined, workbook: undefined, firstRows: undefined }).toEqual({ ...csv, files: undefined, workbook: undefined, firstRows: undefined, missing: null, rejected: undefined });
    // A text list's preview also lists its rejected rows; a workbook's counts them per sheet.
    expect(csv.rejected?.rows.map((r) => [r.line, r.reason])).toEqual([[5, "no_address"]]);
    expect(p.firstRows).toEqual([["Ada", "ada@example.com"], ["Bob", "bob@@example.com"]]);
    expect(p.files.map((f) => [f.sheet, f.total, f.skipped])).toEqual([["Leads", 3, undefined], ["Old", 0, "hidden_sheet"]]);
    expect(previewArchive(book, { filename: "crm.xlsx", workbook: true, kind: "verify", sheet: "Old" }).rows).toBe(1);
  });
});

describe("outlineArchive", () => {
  it("lists a workbook's sheets without reading its sheets or shared strings", () => {
    expect(outlineArchive(book, { filename: "crm.xlsx", workbook: false })).toEqual({ workbook: true, sheets: [{ name: "Leads", hidden: false }, { name: "Old", hidden: true }], entries: [] });
    // Shared strings the full read refuses are not even looked at.
    const parts = workbookParts([{ name: "S" }, { name: "T" }]);
    const poisoned = zipOf([
      { name: "[Content_Types].xml", data: parts.contentTypes },
      { name: "xl/workbook.xml", data: parts.workbook },
      { name: "xl/_rels/workbook.xml.rels", data: parts.rels },
      { name: "xl/worksheets/sheet1.xml", data: `${SHEET_HEAD}<sheetData/>${SHEET_TAIL}` },
      { name: "xl/sharedStrings.xml", data: '<!DOCTYPE sst [<!ENTITY a "a">]><sst/>' },
    ]);
    expect(outlineArchive(poisoned, { filename: "x.xlsx", workbook: true }).sheets.map((s) => s.name)).toEqual(["S", "T"]);
    expect(() => previewArchive(poisoned, { filename: "x.xlsx", workbook: true, kind: "verify" })).toThrow(/DOCTYPE/);
  });

  it("lists an archive's entries with what will be skipped", () => {
    const zip = zipOf([{ name: "a.csv", data: "email\n" }, { name: "b.xlsx", data: book, method: 0 }, { name: "__MACOSX/._a.csv", data: "x" }, { name: "c.pdf", data: "x" }]);
    expect(outlineArchive(zip, { filename: "lists.zip", workbook: false })).toEqual({
      workbook: false,
      sheets: [],
      entries: [{ name: "a.csv", skipped: null }, { name: "b.xlsx", skipped: null }, { name: "__MACOSX/._a.csv", skipped: "system_file" }, { name: "c.pdf", skipped: "unsupported_type" }],
    });
  });

  it("refuses what the edge refuses, with its code", () => {
    const refused = (() => {
      try {
        previewArchive(zipOf([{ name: "a.csv", data: "email\n", encrypted: true }]), { filename: "a.zip", workbook: false, kind: "verify" });
      } catch (e) {
        return e instanceof SpreadsheetError ? e.code : "other";
      }
    })();
    expect(refused).toBe("archive_encrypted");
  });
});
