import { describe, expect, it } from "vitest";
import { Ingest } from "./ingest.ts";
import { PREVIEW_REJECT_CHARS, PREVIEW_REJECTS, previewList, previewPeople } from "./listpreview.ts";

const csv = [
  "name,work email,notes",
  "Ada,ada@example.com,first",
  "Ada again,ADA@Example.com,dupe by case",
  "Bob,bob@@example.com,bad syntax",
  "Cy,cy@example.org,\"a, quoted note\"",
  "Bob twice,bob@@example.com,bad again",
].join("\n");

function ingestCounts(text: string, column?: string) {
  const ingest = new Ingest({ column });
  ingest.push(text);
  ingest.end();
  return { rows: ingest.total, unique: ingest.unique, invalid: ingest.invalid, rejects: ingest.rejects };
}

describe("previewList", () => {
  it("counts what the edge's ingest will count: rows, unique, bad syntax, and the cost", () => {
    const p = previewList(csv);
    expect(p).toMatchObject({ rows: 5, unique: 3, duplicates: 2, invalid: 1, cost: 3, column: "work email", width: 3 });
    expect({ rows: p.rows, unique: p.unique, invalid: p.invalid, rejects: p.rejects }).toEqual(ingestCounts(csv));
    expect(p.header).toEqual(["name", "work email", "notes"]);
    expect(p.firstRows[3]).toEqual(["Cy", "cy@example.org", "a, quoted note"]);
  });

  it("reads the same whatever the slice size (rows cut mid-field)", () => {
    expect(previewList(csv, undefined, 7)).toEqual(previewList(csv));
  });

  it("uses the column the user chose, by header name or by index, as the ingest does", () => {
    const byName = previewList(csv, "notes");
    expect(byName.column).toBe("notes");
    expect(byName.invalid).toBe(5); // the notes are not addresses
    expect({ rows: byName.rows, unique: byName.unique, invalid: byName.invalid, rejects: byName.rejects }).toEqual(ingestCounts(csv, "notes"));
    expect(previewList(csv, "1")).toMatchObject({ column: "work email", unique: 3 });
    const headerless = "x,a@example.com\ny,b@example.com\n";
    expect(previewList(headerless, "1")).toMatchObject({ header: null, rows: 2, unique: 2, invalid: 0 });
  });

  it("finds no rows when the chosen column does not exist", () => {
    expect(previewList(csv, "phone")).toMatchObject({ rows: 0, unique: 0 });
  });

  it("reads plain lists one address per line", () => {
    expect(previewList("a@example.com\r\nb@example.com\r\na@example.com\r\n")).toMatchObject({ header: null, width: 1, rows: 3, unique: 2, duplicates: 1 });
  });

  it("counts rejects as the ingest does, and reads quotes in a plain list literally", () => {
    const withGaps = "name,email\nAda,ada@example.com\nBo,\n,,\n";
    expect(previewList(withGaps)).toMatchObject({ rows: 1, rejects: { no_address: 2, too_long: 0 } });
    expect(previewList(withGaps).rejects).toEqual(ingestCounts(withGaps).rejects);
    const plain = '"john doe"@example.com\n"stray@example.com\nb@example.com\n';
    expect(previewList(plain, undefined, 5)).toMatchObject({ rows: 3, unique: 3, invalid: 1, rejects: { no_address: 0 } });
  });
});

describe("the preview's rejected rows (issue 26)", () => {
  it("lists each rejected row's line, text and reason, in input order", () => {
    const text = ["name,email", "Ada,ada@example.com", "Bob,", `Long,${"x".repeat(600)}@example.com`, "Cy,cy@example.org", "\"Dee", "Two lines\","].join("\n");
    const p = previewList(text);
    expect(p.rejects).toEqual({ no_address: 2, too_long: 1, invalid_person: 0 });
    expect(p.rejected!.rows.map((r) => [r.line, r.reason, r.raw.length > 100 ? "long" : r.raw])).toEqual([
      [3, "no_address", "Bob,"],
      [4, "too_long", "long"],
      [6, "no_address", '"Dee\nTwo lines",'],
    ]);
    expect(p.rejected!.more).toBe(0);
  });

  it("lists the first PREVIEW_REJECTS, each cut to PREVIEW_REJECT_CHARS, and counts the rest", () => {
    const rows = Array.from({ length: 25 }, (_, i) => `Row ${i}${"-".repeat(300)},`);
    const p = previewList(["name,email", "Ada,ada@example.com", ...rows].join("\n"), undefined, 97);
    expect(p.rejected!.rows.map((r) => r.line)).toEqual(Array.from({ length: PREVIEW_REJECTS }, (_, i) => i + 3));
    expect(p.rejected!.rows.every((r) => r.raw.length === PREVIEW_REJECT_CHARS)).toBe(true);
    expect(p.rejected!.more).toBe(25 - PREVIEW_REJECTS);
  });

  it("counts a people list's rows that name no usable person as more, unlisted", () => {
    const p = previewPeople("full_name,website\nAda Lovelace,example.com\nCher,example.com\n");
    expect(p.rejected).toEqual({ rows: [], more: 1 });
  });
});

describe("previewPeople (bulk finding)", () => {
  it("counts people, duplicates, rejects and the cost as the edge's ingest will, and names a missing column", () => {
    const p = previewPeople("full_name,website\nAda Lovelace,example.com\nADA LOVELACE,www.example.com\nCher,example.com\n");
    expect(p).toMatchObject({ header: ["full_name", "website"], rows: 2, unique: 1, duplicates: 1, cost: 1, missing: null, rejects: { invalid_person: 1 } });
    expect(p.firstRows).toEqual([["Ada Lovelace", "example.com"]]);
    expect(previewPeople("name,company\nAda Lovelace,Acme\n")).toMatchObject({ missing: "domain", rows: 0, cost: 0 });
  });
});
