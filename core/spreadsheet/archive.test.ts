import { describe, expect, it } from "vitest";
import type { IngestedAddress, OtherRow } from "../ingest.ts";
import { ArchiveIngest, type ArchiveOptions } from "./archive.ts";
import { MAX_SHEET_COLUMNS, SpreadsheetError } from "./limits.ts";
import { rowXml, SHEET_HEAD, SHEET_TAIL, StringTable, stylesXml, workbookParts, xlsx, zipOf, type Cell, type WorkbookSpec } from "./testing.ts";

/** Reads an upload in pieces of `piece` bytes, as a request body arrives. */
function read(bytes: Uint8Array, opts: Partial<ArchiveOptions> = {}, piece = 4096) {
  const archive = new ArchiveIngest({ kind: "verify", filename: "contacts.xlsx", workbook: false, maxUnzippedBytes: 1e9, maxHeldBytes: 1e8, ...opts });
  const rows: IngestedAddress[] = [];
  for (let i = 0; i < bytes.length; i += piece) for (const got of archive.push(bytes.subarray(i, i + piece))) rows.push(...got);
  for (const got of archive.end()) rows.push(...got);
  return { archive, rows, files: archive.files.files, header: archive.files.header };
}

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpreadsheetError) return e.code;
    throw e;
  }
  throw new Error("not refused");
};

const zero = { no_address: 0, too_long: 0, invalid_person: 0 };

/** Number formats as Excel's styles.xml lists them: cellXfs 1 = built-in 14 (date), 2 = 10 (0.00%), 3 = a custom date-time, 4 = 3 (#,##0), 5 = 1 ("0"). */
const STYLED: Pick<WorkbookSpec, "numFmts" | "xfs"> = { numFmts: [{ id: 164, code: "dd/mm/yyyy hh:mm" }], xfs: [0, 14, 10, 164, 3, 1] };

const contacts: Cell[][] = [
  ["Name", "Email", "Signed up", "Share", "Last seen", "Orders", "Customer ID", "VIP", "Total", "Note"],
  ["Ada", "ada@example.com", { n: 45000, s: 1 }, { n: 0.256, s: 2 }, { n: 45000.5, s: 3 }, { n: 1234567, s: 4 }, 12345678901234, true, { f: "SUM(F2,1)", v: 1234568 }, { runs: ["VIP ", "since 2019"] }],
  ["Bob", { inline: "bob@example.org" }, { n: 45001, s: 1 }, { n: 0.5, s: 2 }, null, { n: 3, s: 5 }, 98765, false, { f: 'CONCAT("a","b")', v: "ab", t: "str" }, { error: "#N/A" }],
];

describe("an .xlsx workbook", () => {
  it("reads cells as a person sees them, with the header row and email column found as in a CSV", () => {
    const { rows, files, header, archive } = read(xlsx({ sheets: [{ name: "Customers", rows: contacts }], ...STYLED }));
    expect(archive.isWorkbook).toBe(true);
    expect(header).toEqual(contacts[0]);
    expect(archive.files.column).toBe("Email");
    expect(rows.map((r) => r.email)).toEqual(["ada@example.com", "bob@example.org"]);
    expect(rows[0]!.fields).toEqual(["Ada", "ada@example.com", "2023-03-15", "25.60%", "15/03/2023 12:00", "1,234,567", "12345678901234", "TRUE", "1234568", "VIP since 2019"]);
    expect(rows[1]!.fields).toEqual(["Bob", "bob@example.org", "2023-03-16", "50.00%", "", "3", "98765", "FALSE", "ab", "#N/A"]);
    expect(rows.map((r) => r.rowIndex)).toEqual([0, 1]);
    expect(files).toEqual([{ name: "contacts.xlsx", sheet: "Customers", total: 2, unique: 2, rejects: zero }]);
  });

  it("reads the same whatever the bytes' piece size, the parts' order, or data descriptors", () => {
    const spec = { sheets: [{ name: "Customers", rows: contacts }], ...STYLED };
    const expected = read(xlsx(spec)).rows.map((r) => r.fields);
    for (const variant of [{ order: "strings-first" as const }, { descriptor: "signed" as const }, { descriptor: "unsigned" as const }]) {
      for (const piece of [7, 333, 1 << 16]) expect(read(xlsx({ ...spec, ...variant }), {}, piece).rows.map((r) => r.fields)).toEqual(expected);
    }
  });

  it("reads every sheet with an email column, each with its own header, and says why the others were not", () => {
    const book = xlsx({
      sheets: [
        { name: "Leads", rows: [["email", "source"], ["a@example.com", "web"], ["A@EXAMPLE.COM", "fair"], ["", "phone"]] },
        { name: "Notes", rows: [["what", "when"], ["call back", "monday"]] },
        { name: "Old", state: "hidden", rows: [["email"], ["old@example.com"]] },
        // No header row: the column is found by its content.
        { name: "Raw", rows: [["Zed", "z@example.com"], ["Yan", "a@example.com"]] },
        { name: "Blank", rows: [] },
      ],
    });
    const { rows, files, header, archive } = read(book);
    expect(files).toEqual([
      { name: "contacts.xlsx", sheet: "Leads", total: 2, unique: 1, rejects: { ...zero, no_address: 1 } },
      { name: "contacts.xlsx", sheet: "Notes", total: 0, unique: 0, rejects: zero, skipped: "no_email_column" },
      { name: "contacts.xlsx", sheet: "Old", total: 0, unique: 0, rejects: zero, skipped: "hidden_sheet" },
      { name: "contacts.xlsx", sheet: "Raw", total: 2, unique: 1, rejects: zero },
      { name: "contacts.xlsx", sheet: "Blank", total: 0, unique: 0, rejects: zero, skipped: "empty" },
    ]);
    // Deduped across sheets; the job's counts are the sheets' sums.
    expect(rows.map((r) => r.email)).toEqual(["a@example.com", "z@example.com"]);
    expect([archive.files.total, archive.files.unique, archive.files.rejects.no_address]).toEqual([4, 2, 1]);
    // The second sheet's email column is the job's; its other column is named by position.
    expect(header).toEqual(["email", "source", "column_1"]);
    expect(rows[1]!.fields).toEqual(["z@example.com", "", "Zed"]);
    // Rows are numbered across the job: Raw's follow Leads' three data rows.
    expect(rows.map((r) => r.rowIndex)).toEqual([0, 3]);
  });

  it("reads only the sheet named by `sheet` (a hidden one too), and refuses a name it does not have", () => {
    const book = xlsx({ sheets: [{ name: "Leads", rows: [["email"], ["a@example.com"]] }, { name: "Old", state: "hidden", rows: [["email"], ["old@example.com"]] }] });
    const { rows, files } = read(book, { sheet: "old" });
    expect(rows.map((r) => r.email)).toEqual(["old@example.com"]);
    expect(files.map((f) => [f.sheet, f.skipped])).toEqual([["Leads", "not_selected"], ["Old", undefined]]);
    expect(refusal(() => read(book, { sheet: "Customers" }))).toBe("sheet_not_found");
  });

  it("holds sheets that come before the shared strings compressed, within the bound", () => {
    const book = xlsx({ sheets: [{ name: "S", rows: Array.from({ length: 2000 }, (_, i) => [`user${i}@example.com`]) }] });
    expect(read(book, { maxHeldBytes: 1 << 20 }).rows).toHaveLength(2000);
    expect(refusal(() => read(book, { maxHeldBytes: 1000 }))).toBe("archive_too_large");
    // Shared strings first: the sheet streams through and nothing is held.
    expect(read(xlsx({ sheets: [{ name: "S", rows: [["a@example.com"]] }], order: "strings-first" }), { maxHeldBytes: 0 }).rows).toHaveLength(1);
  });

  it("reads a sheet that comes before the workbook part and its relationships, and skips a part that is no sheet", () => {
    const strings = new StringTable();
    const sheet = (rows: Cell[][]) => `${SHEET_HEAD}<sheetData>${rows.map((r, i) => rowXml(r, i + 1, strings)).join("")}</sheetData>${SHEET_TAIL}`;
    const one = sheet([["email", "n"], ["a@example.com", { n: 45000, s: 1 }]]);
    const two = sheet([["email"], ["b@example.com"]]);
    const parts = workbookParts([{ name: "First" }, { name: "Second", state: "hidden" }]);
    const zip = zipOf([
      { name: "xl/worksheets/sheet2.xml", data: two },
      { name: "xl/worksheets/sheet1.xml", data: one },
      { name: "xl/dialogsheets/sheet9.xml", data: sheet([["x@example.com"]]) },
      { name: "xl/sharedStrings.xml", data: strings.xml() },
      { name: "xl/styles.xml", data: stylesXml([], [0, 14]) },
      { name: "xl/workbook.xml", data: parts.workbook },
      { name: "xl/_rels/workbook.xml.rels", data: parts.rels },
    ]);
    const { rows, files } = read(zip, { workbook: true });
    expect(rows.map((r) => r.fields)).toEqual([["a@example.com", "2023-03-15"]]);
    expect(files.map((f) => [f.sheet, f.skipped])).toEqual([["First", undefined], ["Second", "hidden_sheet"]]);
  });

  it("reads rows and cells written without references, and rows with gaps", () => {
    const noRefs = read(xlsx({ sheets: [{ name: "S", noRefs: true, rows: [["email", "n"], ["a@example.com", 1], ["b@example.com", 2]] }] }));
    expect(noRefs.rows.map((r) => r.fields)).toEqual([["a@example.com", "1"], ["b@example.com", "2"]]);
    const gaps = read(xlsx({ sheets: [{ name: "S", rows: [["email", null, "city"], [], ["a@example.com", null, "Oslo"]] }] }));
    // A column without a header name is named by its position.
    expect(gaps.header).toEqual(["email", "column_2", "city"]);
    expect(gaps.rows[0]!.fields).toEqual(["a@example.com", "", "Oslo"]);
  });

  it("counts a row longer than a CSV row may be as too_long, and reads on", () => {
    const long = "x".repeat(70_000);
    const { files, rows } = read(xlsx({ sheets: [{ name: "S", rows: [["email", "note"], ["a@example.com", long], ["b@example.com", "short"]] }] }));
    expect(rows.map((r) => r.email)).toEqual(["b@example.com"]);
    expect(files[0]!.rejects.too_long).toBe(1);
    const others: OtherRow[] = [];
    const again = read(xlsx({ sheets: [{ name: "S", rows: [["email", "note"], ["a@example.com", long], ["b@example.com", "short"]] }] }), { onOther: (r) => others.push(r) });
    expect(again.rows.map((r) => r.rowIndex)).toEqual([1]);
    expect(others).toEqual([{ rowIndex: 0, fields: [], key: null, reason: "too_long" }]);
  });

  it("refuses XML bombs: a DOCTYPE, deep nesting, a runaway attribute, a cell past XFD", () => {
    const bomb = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>';
    expect(refusal(() => read(xlsx({ sheets: [{ name: "S", rows: [["a@example.com"]] }], sheetPrefix: bomb })))).toBe("xml_doctype_refused");
    const deep = "<a>".repeat(100) + "</a>".repeat(100);
    expect(refusal(() => read(xlsx({ sheets: [{ name: "S", rows: [["a@example.com"]] }], sheetPrefix: `<extLst>${deep}</extLst>` })))).toBe("xml_too_complex");
    // Not compressible, so it is the XML bound that stops it, not the ratio.
    let seed = 1;
    const noise = Array.from({ length: 1_200_000 }, () => ((seed = (seed * 48271) % 2147483647) % 36).toString(36)).join("");
    const attribute = `<extLst x="${noise}"/>`;
    expect(refusal(() => read(xlsx({ sheets: [{ name: "S", rows: [["a@example.com"]] }], sheetPrefix: attribute })))).toBe("xml_too_complex");
    const wide: Cell[] = [];
    wide[MAX_SHEET_COLUMNS] = "far";
    expect(refusal(() => read(xlsx({ sheets: [{ name: "S", rows: [["email"], wide] }] })))).toBe("xml_too_complex");
  });

  it("refuses what is not a readable workbook", () => {
    expect(refusal(() => read(zipOf([{ name: "[Content_Types].xml", data: "<Types/>" }])))).toBe("spreadsheet_invalid");
    expect(refusal(() => read(zipOf([{ name: "[Content_Types].xml", data: "<Types/>" }, { name: "xl/workbook.bin", data: "binary" }])))).toBe("spreadsheet_format_unsupported");
    // A part in Latin-1, not UTF-8.
    expect(refusal(() => read(zipOf([{ name: "xl/workbook.xml", data: new Uint8Array([0x3c, 0x61, 0xe9, 0x3e]) }])))).toBe("spreadsheet_invalid");
  });
});

describe("a .zip of lists", () => {
  const book = xlsx({ sheets: [{ name: "Customers", rows: [["Email", "Phone"], ["c@example.com", { n: 5551234, s: 1 }]] }], numFmts: [{ id: 164, code: "###-####" }], xfs: [0, 164] });
  const archive = zipOf([
    { name: "2024/", data: "", method: 0 },
    { name: "2024/leads.csv", data: "name,email\nAda,a@example.com\nBob,b@example.com\n,\n" },
    { name: "__MACOSX/2024/._leads.csv", data: "\u0000\u0005\u0016\u0007" },
    { name: ".DS_Store", data: "junk" },
    { name: "2024/more.txt", data: "Email Address\tname\ncarol@example.com\tCarol\nA@example.com\tAda\n", descriptor: "signed" },
    { name: "2024/book.xlsx", data: book, method: 0 },
    { name: "inner.zip", data: zipOf([{ name: "x.csv", data: "email\nx@example.com\n" }]) },
    { name: "old.xls", data: "BIFF" },
    { name: "notes.pdf", data: "%PDF-1.7" },
    { name: "nothing.csv", data: "" },
    { name: "people.csv", data: "first,last\nAda,Lovelace\n" },
  ]);

  it("reads each list with its own header, dedupes across files, and accounts for every file", () => {
    const { rows, files, header, archive: a } = read(archive, { filename: "lists.zip" });
    expect(a.isWorkbook).toBe(false);
    expect(files).toEqual([
      { name: "2024/", total: 0, unique: 0, rejects: zero, skipped: "directory" },
      { name: "2024/leads.csv", total: 2, unique: 2, rejects: { ...zero, no_address: 1 } },
      { name: "__MACOSX/2024/._leads.csv", total: 0, unique: 0, rejects: zero, skipped: "system_file" },
      { name: ".DS_Store", total: 0, unique: 0, rejects: zero, skipped: "system_file" },
      { name: "2024/more.txt", total: 2, unique: 1, rejects: zero },
      { name: "2024/book.xlsx", sheet: "Customers", total: 1, unique: 1, rejects: zero },
      { name: "inner.zip", total: 0, unique: 0, rejects: zero, skipped: "nested_archive" },
      { name: "old.xls", total: 0, unique: 0, rejects: zero, skipped: "format_unsupported" },
      { name: "notes.pdf", total: 0, unique: 0, rejects: zero, skipped: "unsupported_type" },
      { name: "nothing.csv", total: 0, unique: 0, rejects: zero, skipped: "empty" },
      { name: "people.csv", total: 0, unique: 0, rejects: zero, skipped: "no_email_column" },
    ]);
    expect([a.files.total, a.files.unique, a.files.rejects.no_address, a.files.read]).toEqual([5, 4, 1, 3]);
    // One header for the export: the union, first seen first, every email column in the first file's.
    expect(header).toEqual(["name", "email", "Phone"]);
    expect(a.files.column).toBe("email");
    expect(rows.map((r) => [r.rowIndex, r.email, r.fields])).toEqual([
      [0, "a@example.com", ["Ada", "a@example.com"]],
      [1, "b@example.com", ["Bob", "b@example.com"]],
      [3, "carol@example.com", ["Carol", "carol@example.com"]],
      [5, "c@example.com", ["", "c@example.com", "555-1234"]],
    ]);
  });

  it("numbers repeats and rejects across files, their cells placed in the job's columns (issue 26)", () => {
    const others: OtherRow[] = [];
    read(archive, { filename: "lists.zip", onOther: (r) => others.push(r) });
    // leads.csv's third row has no address; more.txt's second repeats leads.csv's first; people.csv is not read.
    expect(others.sort((a, b) => a.rowIndex - b.rowIndex)).toEqual([
      { rowIndex: 2, fields: [""], key: null, reason: "no_address" },
      { rowIndex: 4, fields: ["Ada", "A@example.com"], key: "a@example.com", reason: null },
    ]);
  });

  it("keeps a single list's columns exactly", () => {
    const { header, rows } = read(zipOf([{ name: "a.csv", data: "id,Email,email,notes\n1,a@example.com,other,x\n" }]), { filename: "a.zip" });
    expect(header).toEqual(["id", "Email", "email", "notes"]);
    expect(rows[0]!.fields).toEqual(["1", "a@example.com", "other", "x"]);
  });

  it("uses the email column asked for in every file", () => {
    const zip = zipOf([{ name: "a.csv", data: "work,home\na@example.com,h@example.com\n" }, { name: "b.csv", data: "home,work\nh2@example.com,b@example.com\n" }]);
    expect(read(zip, { column: "work" }).rows.map((r) => r.email)).toEqual(["a@example.com", "b@example.com"]);
  });

  it("refuses a file that is not UTF-8, an encrypted workbook inside, and an OpenDocument file", () => {
    expect(refusal(() => read(zipOf([{ name: "a.csv", data: new Uint8Array([0x65, 0x6d, 0xe9, 0x0a]) }])))).toBe("not_utf8");
    const cfb = new Uint8Array(1024);
    cfb.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    expect(refusal(() => read(zipOf([{ name: "secret.xlsx", data: cfb }])))).toBe("spreadsheet_encrypted");
    expect(refusal(() => read(zipOf([{ name: "mimetype", data: "application/vnd.oasis.opendocument.spreadsheet", method: 0 }, { name: "content.xml", data: "<x/>" }]), { filename: "a.ods" }))).toBe("spreadsheet_format_unsupported");
  });

  it("refuses `sheet` when no workbook of the archive has it", () => {
    expect(refusal(() => read(zipOf([{ name: "a.csv", data: "email\na@example.com\n" }]), { sheet: "Leads" }))).toBe("sheet_not_found");
    expect(refusal(() => read(archive, { sheet: "Leads" }))).toBe("sheet_not_found");
    expect(read(archive, { sheet: "customers" }).files.find((f) => f.sheet)).toMatchObject({ sheet: "Customers", total: 1 });
  });

  it("reads a list of people (kind find) from sheets and files alike", () => {
    const zip = zipOf([
      { name: "a.csv", data: "first_name,last_name,domain\nAda,Lovelace,example.com\n" },
      { name: "b.xlsx", data: xlsx({ sheets: [{ name: "P", rows: [["Full name", "Website"], ["Grace Hopper", "https://example.org"]] }, { name: "Q", rows: [["x"], ["y"]] }] }) },
    ]);
    const { rows, files, header } = read(zip, { kind: "find" });
    expect(rows.map((r) => r.email)).toEqual(["Ada Lovelace <example.com>", "Grace Hopper <example.org>"]);
    expect(files.map((f) => f.skipped)).toEqual([undefined, undefined, "no_people_columns"]);
    expect(header).toEqual(["first_name", "last_name", "domain", "Full name", "Website"]);
  });
});
