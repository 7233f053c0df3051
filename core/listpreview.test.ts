import { describe, expect, it } from "vitest";
import { Ingest } from "./ingest.ts";
import { previewList, previewPeople } from "./listpreview.ts";

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

describe("previewPeople (bulk finding)", () => {
  it("counts people, duplicates, rejects and the cost as the edge's ingest will, and names a missing column", () => {
    const p = previewPeople("full_name,website\nAda Lovelace,example.com\nADA LOVELACE,www.example.com\nCher,example.com\n");
    expect(p).toMatchObject({ header: ["full_name", "website"], rows: 2, unique: 1, duplicates: 1, cost: 1, missing: null, rejects: { invalid_person: 1 } });
    expect(p.firstRows).toEqual([["Ada Lovelace", "example.com"]]);
    expect(previewPeople("name,company\nAda Lovelace,Acme\n")).toMatchObject({ missing: "domain", rows: 0, cost: 0 });
  });
});
