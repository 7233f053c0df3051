import { describe, expect, it } from "vitest";
import { seededRandom } from "./testing.ts";
import { MAX_EMAIL_LENGTH } from "./contracts.ts";
import { AddressListReader, MAX_QUOTED_LINES, MAX_ROW_CHARS, readAddressList, type ListRow, type RejectedRow } from "./emailfile.ts";

/** Reads text fed in the given slices; rows and rejects as the reader reports them. */
function read(chunks: string[], column?: string) {
  const rejects: RejectedRow[] = [];
  const reader = new AddressListReader({ column, onReject: (r) => rejects.push(r) });
  const rows: ListRow[] = [];
  for (const c of chunks) rows.push(...reader.push(c));
  rows.push(...reader.end());
  return { rows, rejects, counts: reader.rejects, column: reader.column, header: reader.header };
}
const emails = (text: string) => read([text]).rows.map((r) => r.email);
const slices = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe("readAddressList", () => {
  it("reads a plain list, keeping order, duplicates and bad entries", () => {
    expect(readAddressList("a@x.com\n\nb@y.com\r\nnot-an-address\na@x.com\n")).toMatchObject({
      emails: ["a@x.com", "b@y.com", "not-an-address", "a@x.com"],
      column: null,
    });
  });
  it("finds the email column of a CSV by its header", () => {
    const csv = "id,name,E-mail,city\n1,Ann,ann@x.com,Oslo\n2,\"Bo, Jr\",bo@y.com,Rome\n";
    expect(readAddressList(csv)).toMatchObject({ emails: ["ann@x.com", "bo@y.com"], column: "E-mail" });
  });
  it("reads TSV and semicolon CSV with a BOM", () => {
    expect(readAddressList("\uFEFFname\temail\nAnn\tann@x.com\n").emails).toEqual(["ann@x.com"]);
    expect(readAddressList("name;mail\nAnn;ann@x.com\nBo;bo@y.com\n")).toMatchObject({ emails: ["ann@x.com", "bo@y.com"], column: "mail" });
  });
  it("finds the column by content when the header does not name it", () => {
    expect(readAddressList("who,contact\nAnn,ann@x.com\nBo,bo@y.com\n")).toMatchObject({ emails: ["ann@x.com", "bo@y.com"], column: "contact" });
    expect(readAddressList("Ann,ann@x.com\nBo,bo@y.com\n")).toMatchObject({ emails: ["ann@x.com", "bo@y.com"], column: null });
  });
  it("counts every row as a reject when no column holds addresses", () => {
    expect(readAddressList("a,b\n1,2\n3,4\n")).toMatchObject({ emails: [], column: null, rejects: { no_address: 3 } });
    expect(readAddressList("")).toMatchObject({ emails: [], column: null, entries: [], rejects: { no_address: 0, too_long: 0 } });
  });
  it("gives each non-blank line one entry, in input order, rejects included", () => {
    const { entries } = readAddressList("name,email\nAnn,ann@x.com\n\nBo,\n,,\nCy,cy@x.com\n");
    expect(entries).toEqual([
      { line: 2, raw: "ann@x.com", email: "ann@x.com" },
      { line: 4, raw: "Bo,", reject: "no_address" },
      { line: 5, raw: ",,", reject: "no_address" },
      { line: 6, raw: "cy@x.com", email: "cy@x.com" },
    ]);
  });
});

describe("plain lists: one line, one row, quotes literal (issue 9)", () => {
  const quoted = ['"john doe"@example.com', '"a\\"b"@x.com', '"doe, john"@x.com', '"x;y|z"@x.com'];

  it("keeps RFC 5321 quoted local parts whole, commas and semicolons inside them included", () => {
    const text = ["ann@x.com", ...quoted, "bo@y.com"].join("\n");
    const got = read([text]);
    expect(got.rows.map((r) => r.email)).toEqual(["ann@x.com", ...quoted, "bo@y.com"]);
    expect(got.rows.map((r) => r.fields)).toEqual(["ann@x.com", ...quoted, "bo@y.com"].map((e) => [e]));
    expect(got.header).toBeNull();
  });

  it("never lets a stray or unbalanced quote join lines", () => {
    const lines = ['"bob@x.com', "ann@x.com", 'jo"hn@x.com', "cy@x.com", 'dee@x.com"', '"', "eve@x.com"];
    expect(emails(lines.join("\n"))).toEqual(lines);
  });

  it("reads the same at every chunk split point (quotes, CR, CRLF, LF and a BOM)", () => {
    const text = '\uFEFF"bob@x.com\r\n"doe, john"@x.com\rjo"hn@x.com\n\r\n"a\\"b"@x.com\r"\nlast@x.com';
    const whole = read([text]);
    expect(whole.rows.map((r) => [r.line, r.email])).toEqual([
      [1, '"bob@x.com'], [2, '"doe, john"@x.com'], [3, 'jo"hn@x.com'], [5, '"a\\"b"@x.com'], [6, '"'], [7, "last@x.com"],
    ]);
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(read([text.slice(0, i), text.slice(i, j), text.slice(j)]).rows, `split at ${i}, ${j}`).toEqual(whole.rows);
      }
    }
  });

  it("stays a plain list when a few lines hold a comma outside quotes (each is still one row)", () => {
    const lines = ["a@x.com", "b@x.com, c@x.com", "d@x.com", '"e@x.com', "f@x.com"];
    expect(emails(lines.join("\n"))).toEqual(lines);
  });

  it("reads the issue's 295-line list with quotes: every non-blank line is a row", () => {
    const lines: string[] = [];
    for (let i = 0; i < 295; i++) {
      if (i % 37 === 5) lines.push("");
      else if (i % 11 === 3) lines.push(`"user ${i}"@example.com`);
      else if (i % 13 === 7) lines.push(`"stray${i}@example.com`);
      else if (i % 17 === 1) lines.push(`"doe, ${i}"@example.com`);
      else lines.push(`user${i}@example.com`);
    }
    const blanks = lines.filter((l) => l === "").length;
    expect(blanks).toBeGreaterThan(0);
    const got = read(slices(lines.join("\r\n"), 97));
    expect(got.rows).toHaveLength(295 - blanks);
    expect(got.rows.map((r) => r.email)).toEqual(lines.filter((l) => l !== ""));
    expect(got.rejects).toEqual([]);
  });

  it("takes a first line naming the column as a header, and unquotes a line that is one quoted cell", () => {
    const got = read(['"Email"\n"ann@x.com"\n"say ""hi"""\nbo@x.com\n""\n']);
    expect(got.column).toBe("Email");
    expect(got.rows.map((r) => r.email)).toEqual(["ann@x.com", 'say "hi"', "bo@x.com"]);
    expect(got.rejects).toEqual([{ line: 5, index: 3, raw: '""', fields: ['""'.slice(1, 1)], reason: "no_address" }]);
  });

  it("ends lines at CR, CRLF and LF alike, and strips a BOM sent alone", () => {
    expect(read(["", "\uFEFF", "a@x.com\rb@x.com\r\nc@x.com\nd@x.com"]).rows.map((r) => [r.line, r.email])).toEqual([
      [1, "a@x.com"], [2, "b@x.com"], [3, "c@x.com"], [4, "d@x.com"],
    ]);
    expect(emails("a@x.com\r\r\nb@x.com\n\rc@x.com")).toEqual(["a@x.com", "b@x.com", "c@x.com"]);
  });

  it("rejects a 1 MB line as too long and reads the lines around it", () => {
    const long = `${"x".repeat(1 << 20)}@example.com`;
    const text = `a@x.com\n${long}\nb@x.com\n`;
    const got = read(slices(text, 65_536));
    expect(got.rows.map((r) => r.email)).toEqual(["a@x.com", "b@x.com"]);
    expect(got.counts).toEqual({ no_address: 0, too_long: 1, invalid_person: 0 });
    expect(got.rejects[0]).toMatchObject({ line: 2, reason: "too_long" });
    // Read no further than the row bound: the reject shows the line's start.
    expect(got.rejects[0]!.raw).toBe(long.slice(0, MAX_ROW_CHARS));
    // At the limit it is still a row (and gets a syntax verdict later).
    expect(emails(`${"y".repeat(MAX_EMAIL_LENGTH - 4)}@x.c\n`)).toHaveLength(1);
  });
});

describe("tables", () => {
  it("counts rows whose email cell is empty, and rows of empty cells, as no_address", () => {
    const got = read(["name,email,city\nAnn,ann@x.com,Oslo\nBo,,Rome\n,,\nCy,  ,\nDee,dee@x.com,\n"]);
    expect(got.rows.map((r) => r.email)).toEqual(["ann@x.com", "dee@x.com"]);
    expect(got.counts).toEqual({ no_address: 3, too_long: 0, invalid_person: 0 });
    expect(got.rejects.map((r) => r.line)).toEqual([3, 4, 5]);
  });

  it("reads an escaped RFC 5322 quoted local part in a CSV cell", () => {
    expect(emails('name,email\n"Doe, John","""doe, john""@x.com"\n')).toEqual(['"doe, john"@x.com']);
  });

  it("reads a stray quote's line literally once it runs past the bound, losing no row", () => {
    const rows = Array.from({ length: MAX_QUOTED_LINES + 20 }, (_, i) => `N${i},n${i}@x.com`);
    const text = `name,email\nAnn,ann@x.com\n"Bo,bo@x.com\n${rows.join("\n")}\n`;
    const got = read(slices(text, 50));
    expect(got.rows.map((r) => r.email)).toEqual(["ann@x.com", "bo@x.com", ...rows.map((_, i) => `n${i}@x.com`)]);
    expect(got.rows[1]).toMatchObject({ line: 3, fields: ['"Bo', "bo@x.com"] });
  });

  it("reads a stray quote's line literally when the input ends inside it", () => {
    expect(emails('name,email\nAnn,ann@x.com\n"Bo,bo@x.com\nCy,cy@x.com\n')).toEqual(["ann@x.com", "bo@x.com", "cy@x.com"]);
  });
});

describe("AddressListReader (streaming)", () => {
  const csv =
    "id,name,email,note\n" +
    Array.from({ length: 120 }, (_, i) => `${i},"Name ${i}",user${i}@x.test,"multi\nline, ""quoted"" note ${i}"`).join("\r\n") +
    "\n";

  it("gives the same rows whatever the chunk size, quoted newlines split across chunks included", () => {
    const whole = new AddressListReader();
    const expected = [...whole.push(csv), ...whole.end()];
    expect(expected).toHaveLength(120);
    expect(expected[7]).toEqual({ index: 7, email: "user7@x.test", fields: ["7", "Name 7", "user7@x.test", 'multi\nline, "quoted" note 7'], line: 16 });
    for (const size of [1, 7, 64, 1000]) {
      const reader = new AddressListReader();
      const rows: ListRow[] = [];
      for (let i = 0; i < csv.length; i += size) rows.push(...reader.push(csv.slice(i, i + size)));
      rows.push(...reader.end());
      expect(rows).toEqual(expected);
      expect(reader.column).toBe("email");
      expect(reader.header).toEqual(["id", "name", "email", "note"]);
    }
  });

  it("decides on short files at the end", () => {
    const reader = new AddressListReader();
    expect(reader.push("a@x.test\nb@x.test\n")).toEqual([]);
    expect(reader.end().map((r) => r.email)).toEqual(["a@x.test", "b@x.test"]);
  });
});


describe("every row accounted for (property)", () => {
  const EOL = ["\n", "\r\n", "\r"];
  const PLAIN = ["a@x.com", "B@X.COM", '"john doe"@example.com', '"a\\"b"@x.com', '"doe, john"@x.com', '"stray@x.com', 'jo"hn@x.com', "not an address", '""', "  "];
  const CELLS = ["a@x.com", "", "  ", '"doe, john"@x.com', "bad@@x", "b@y.org"];
  const NOTES = ["", "plain", "with, comma", 'say "hi"', "two\nlines", "three\r\nline\rnote"];
  const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

  /** A random list, the addresses a reader must find in it, and how many non-blank rows it holds. */
  function generate(next: () => number) {
    const pick = <T,>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    const n = Math.floor(next() * 80);
    const eol = () => pick(EOL);
    if (next() < 0.5) {
      const lines = Array.from({ length: n }, () => pick(PLAIN));
      const filled = lines.filter((l) => l.trim() !== "");
      const expected = filled.map((l) => (l === '""' ? "" : l)).filter((e) => e !== "");
      return { text: lines.map((l) => l + eol()).join(""), expected, rowsIn: filled.length };
    }
    const records = Array.from({ length: n }, () => [pick(["Ann", "Doe, J", ""]), pick(CELLS), pick(NOTES)]);
    const text = "name,email,note" + eol() + records.map((r) => r.map(csvCell).join(",") + eol()).join("");
    // Every record line holds commas, so none is blank: a record of empty cells is a reject.
    const expected = records.map((r) => r[1]!.trim()).filter((e) => e !== "");
    return { text, expected, rowsIn: records.length };
  }

  it("rows_in = rows + rejects, with the same rows in any chunking", () => {
    const next = seededRandom(9);
    for (let run = 0; run < 300; run++) {
      const { text, expected, rowsIn } = generate(next);
      const cuts = Array.from({ length: Math.floor(next() * 6) }, () => Math.floor(next() * text.length)).sort((a, b) => a - b);
      const chunks = [0, ...cuts].map((c, i, all) => text.slice(c, all[i + 1] ?? text.length));
      const got = read(chunks);
      const context = JSON.stringify({ run, text, cuts });
      expect(got.rows.map((r) => r.email), context).toEqual(expected);
      expect(got.rows.length + got.counts.no_address + got.counts.too_long, context).toBe(rowsIn);
      expect(got.rejects.length, context).toBe(got.counts.no_address + got.counts.too_long);
    }
  });
});

describe("hostile files stay linear and every row is accounted for (issue 10)", { timeout: 120_000 }, () => {
  /**
   * Reads `text` in 64 KiB chunks, as the edge gets it, and how its time compares with reading a
   * plain list of the same size, each the best of two runs taken in turn: a ratio, so a busy
   * machine slows both alike. Linear reading stays within a small factor; a rescan per quote or
   * per line would be thousands of times slower at these sizes.
   */
  function timed(text: string) {
    const plain = `email\n${"a@x.com\n".repeat(Math.ceil(text.length / 8))}`;
    let best = Infinity;
    let bestPlain = Infinity;
    let got!: ReturnType<typeof read>;
    for (let i = 0; i < 2; i++) {
      let started = performance.now();
      got = read(slices(text, 65_536));
      best = Math.min(best, performance.now() - started);
      started = performance.now();
      read(slices(plain, 65_536));
      bestPlain = Math.min(bestPlain, performance.now() - started);
    }
    return { ...got, ratio: best / Math.max(bestPlain, 1) };
  }
  /** A linear reader's worst ratio to a plain list here is about 1-3; quadratic work is far beyond. */
  const LINEAR_RATIO = 20;
  const MB16 = 16 * 1024 * 1024;

  it("reads 16 MB behind one unbalanced quote in linear time, counting the runaway row as too long", () => {
    const text = `name,email\nAnn,ann@x.com\nBo,"${"a,".repeat(MB16 / 2)}\n`;
    const got = timed(text);
    expect(got.ratio).toBeLessThan(LINEAR_RATIO);
    expect(got.rows.map((r) => r.email)).toEqual(["ann@x.com"]);
    expect(got.counts).toEqual({ no_address: 0, too_long: 1, invalid_person: 0 });
    expect(got.rejects[0]).toMatchObject({ line: 3, reason: "too_long" });
  });

  it("ends a quoted record at MAX_ROW_CHARS: its lines are read literally and the rows after it are kept", () => {
    const note = "n".repeat(1000);
    const lines = Array.from({ length: Math.ceil(MAX_ROW_CHARS / note.length) + 5 }, (_, i) => `${note},r${i}@x.com`);
    const got = read(slices(`name,email\n"Bo,bo@x.com\n${lines.join("\n")}\nCy,cy@x.com\n`, 4096));
    expect(got.rows.map((r) => r.email)).toEqual(["bo@x.com", ...lines.map((_, i) => `r${i}@x.com`), "cy@x.com"]);
    expect(got.counts).toEqual({ no_address: 0, too_long: 0, invalid_person: 0 });
  });

  it("reads a line of stray quotes after stray quotes once or twice each, not once per quote before it", () => {
    // Each line keeps a quoted field open whether it starts inside one or not.
    const text = `name,email\nx,"y\n${`a","b${"c".repeat(600)}\n`.repeat(10_000)}`;
    const got = timed(text);
    expect(got.ratio).toBeLessThan(LINEAR_RATIO);
    expect(got.rows.length + got.counts.no_address + got.counts.too_long).toBe(10_001);
  });

  it("holds no more than SAMPLE_MAX_LINES blank lines while deciding, so 200,000 of them read at once", () => {
    const got = timed(`${"\n".repeat(200_000)}a@x.com\n`);
    expect(got.ratio).toBeLessThan(LINEAR_RATIO);
    expect(got.rows.map((r) => [r.line, r.email])).toEqual([[200_001, "a@x.com"]]);
  });

  it("drops invisible characters from a cell and bounds the raw cell first", () => {
    const hyphens = (n: number) => `x@a${"\u00ad".repeat(n)}b.com`;
    const got = read([`email\n${hyphens(400)}\n${hyphens(600)}\n\u200b\ufeff\n jo\u200bhn@x.com \n`]);
    expect(got.rows.map((r) => r.email)).toEqual(["x@ab.com", "john@x.com"]);
    expect(got.rejects.map((r) => [r.line, r.reason])).toEqual([[3, "too_long"], [4, "no_address"]]);
  });
});

describe("rows already split into cells (a spreadsheet's, issue 25)", () => {
  /** The same rows as cells and as CSV text: the reader must decide alike. */
  const both = (rows: string[][], column?: string) => {
    const cells = new AddressListReader({ column });
    const split = [...cells.pushCells(rows.map((fields, i) => ({ line: i + 1, fields }))), ...cells.end()];
    const text = new AddressListReader({ column });
    const csv = [...text.push(rows.map((r) => r.join(",")).join("\n") + "\n"), ...text.end()];
    return { split, csv, cells, text };
  };

  it("finds the header row and the email column exactly as for the same CSV", () => {
    for (const [rows, column] of [
      [[["Name", "E-mail"], ["Ada", "ada@example.com"], ["Bob", ""]], undefined],
      [[["Ada", "ada@example.com"], ["Bob", "bob@example.com"]], undefined],
      [[["id", "work", "home"], ["1", "a@example.com", "h@example.com"]], "home"],
      [[["id", "contact"], ["1", "a@example.com"], ["2", "b@example.com"]], undefined],
    ] as [string[][], string | undefined][]) {
      const { split, csv, cells, text } = both(rows, column);
      expect(split).toEqual(csv);
      expect([cells.header, cells.column, cells.columnIndex, cells.rejects]).toEqual([text.header, text.column, text.columnIndex, text.rejects]);
    }
  });

  it("reads a one-column sheet as a table, its header named or not", () => {
    const { split, cells } = both([["Email"], ["a@example.com"]]);
    expect(split.map((r) => r.email)).toEqual(["a@example.com"]);
    expect(cells.header).toEqual(["Email"]);
  });

  it("takes a row of blank cells as a blank line, and an overlong row as too_long", () => {
    const reader = new AddressListReader();
    const rows = reader.pushCells([
      { line: 1, fields: ["email"] },
      { line: 2, fields: ["", " "] },
      { line: 3, fields: ["a@example.com"], overlong: true },
      { line: 4, fields: ["b@example.com"] },
    ]);
    expect([...rows, ...reader.end()].map((r) => [r.line, r.email])).toEqual([[4, "b@example.com"]]);
    expect(reader.rejects).toEqual({ no_address: 0, too_long: 1, invalid_person: 0 });
    expect(reader.blank).toBe(false);
  });

  it("says when a list had no row at all, and when its column was looked for and not found", () => {
    const empty = new AddressListReader();
    empty.pushCells([{ line: 1, fields: [""] }]);
    empty.end();
    expect(empty.blank).toBe(true);
    const notes = new AddressListReader();
    notes.pushCells([{ line: 1, fields: ["what"] }, { line: 2, fields: ["call"] }]);
    expect(notes.decided).toBe(false);
    notes.end();
    expect([notes.decided, notes.columnIndex, notes.blank]).toEqual([true, null, false]);
  });
});
