import { describe, expect, it } from "vitest";
import { seededRandom } from "./testing.ts";
import { MAX_ROW_CHARS } from "./emailfile.ts";
import { BatchCutter, Ingest, KeySet, PeopleIngest, planBatches, type IngestedAddress, type OtherRow } from "./ingest.ts";

describe("Ingest", () => {
  it("dedupes case-insensitively, keeps invalid rows once, and flags lists", () => {
    const ingest = new Ingest();
    const csv = "name,email\nA,alice@x.test\nB,ALICE@X.TEST\nC,info@gmail.com\nD,not-an-address\nE,Not-An-Address\nF,x@mailinator.com\n";
    const out = [...ingest.push(csv), ...ingest.end()];
    expect(out.map((a) => a.key)).toEqual(["alice@x.test", "info@gmail.com", "not-an-address", "x@mailinator.com"]);
    expect({ total: ingest.total, unique: ingest.unique, invalid: ingest.invalid }).toEqual({ total: 6, unique: 4, invalid: 1 });
    expect(out[1]).toMatchObject({ role: true, free: true, disposable: false, domain: "gmail.com" });
    expect(out[2]).toMatchObject({ domain: null });
    expect(out[3]).toMatchObject({ disposable: true });
    expect(out[0]!.fields).toEqual(["A", "alice@x.test"]);
  });
});

describe("Ingest accounts for every row (issue 9)", () => {
  const ADDRESSES = ["a@x.test", "A@X.TEST", '"john doe"@x.test', '"doe, john"@x.test', '"stray@x.test', "bad@@x", "x".repeat(600) + "@x.test"];

  it("rows in = total + rejects, duplicates = total - unique, over generated lists and chunkings", () => {
    const next = seededRandom(42);
    const pick = <T,>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    for (let run = 0; run < 200; run++) {
      const csv = next() < 0.5;
      const n = Math.floor(next() * 60);
      const cells = Array.from({ length: n }, () => (next() < 0.2 ? "" : pick(ADDRESSES)));
      const eol = pick(["\n", "\r\n", "\r"]);
      const text = csv
        ? `name,email${eol}` + cells.map((c, i) => `n${i},"${c.replace(/"/g, '""')}"${eol}`).join("")
        : cells.filter((c) => c !== "").map((c) => c + eol).join("");
      // A plain list has no line for an empty cell; every CSV record is a row.
      const rowsIn = csv ? n : cells.filter((c) => c !== "").length;
      const ingest = new Ingest();
      const cut = Math.floor(next() * (text.length + 1));
      const out = [...ingest.push(text.slice(0, cut)), ...ingest.push(text.slice(cut)), ...ingest.end()];
      const context = JSON.stringify({ run, text, cut });
      expect(ingest.total + ingest.rejects.no_address + ingest.rejects.too_long, context).toBe(rowsIn);
      expect(out, context).toHaveLength(ingest.unique);
      expect(ingest.duplicates, context).toBe(ingest.total - new Set(out.map((a) => a.key)).size);
      expect(ingest.rejects.too_long, context).toBe(cells.filter((c) => c.length > 512).length);
    }
  });
});

describe("planBatches", () => {
  const items = (domain: string, n: number) => Array.from({ length: n }, () => ({ domain }));
  it("keeps domains together, splits big ones, fills batches first-fit, skips invalid", () => {
    const batches = planBatches([...items("a", 7), ...items("b", 3), ...items("c", 2), { domain: null }], 5);
    expect(batches.map((b) => b.map((x) => x.domain).join(""))).toEqual(["aaaaa", "aabbb", "cc"]);
    expect(batches.flat()).toHaveLength(12);
    expect(batches.every((b) => b.length <= 5)).toBe(true);
  });
});

describe("KeySet", () => {
  it("tells new keys from repeats across growth", () => {
    const set = new KeySet();
    for (let i = 0; i < 50_000; i++) expect(set.add(`user${i}@example.test`)).toBe(true);
    for (let i = 0; i < 50_000; i += 997) expect(set.add(`user${i}@example.test`)).toBe(false);
    expect(set.add("")).toBe(true);
    expect(set.add("")).toBe(false);
    expect(set.size).toBe(50_001);
  });
});

describe("BatchCutter", () => {
  it("hands out batches per window, never over the size, and leaves out invalid addresses", () => {
    const cutter = new BatchCutter<{ domain: string | null; n: number }>(4, 8);
    const items = (domain: string | null, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ domain, n: from + i }));
    expect(cutter.push(items("a", 0, 3))).toEqual([]);
    const first = cutter.push([...items("b", 3, 5), ...items(null, 8, 2)]);
    expect(first.flat().map((x) => x.n).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.every((b) => b.length <= 4 && new Set(b.map((x) => x.domain)).size >= 1)).toBe(true);
    const rest = cutter.end();
    expect(rest).toEqual([]);
    expect(cutter.push(items("c", 10, 1))).toEqual([]);
    expect(cutter.end().flat().map((x) => x.n)).toEqual([10]);
  });
});

describe("PeopleIngest (bulk finding, issue 14)", () => {
  const read = (text: string, chunk = text.length) => {
    const ingest = new PeopleIngest();
    const out = [];
    for (let i = 0; i < text.length; i += chunk) out.push(...ingest.push(text.slice(i, i + chunk)));
    out.push(...ingest.end());
    return { ingest, out };
  };

  it("finds the columns by header whatever their case, spaces or underscores, and keeps the rows", () => {
    const csv = "Company Website,Given Name,SURNAME,title\nhttps://www.Example.com/about,Ada,Lovelace,CEO\n";
    const { ingest, out } = read(csv);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ key: "ada||lovelace|example.com", email: "Ada Lovelace <example.com>", domain: "example.com", rowIndex: 0 });
    expect(out[0]!.person).toEqual({ first: "Ada", middle: "", last: "Lovelace", domain: "example.com" });
    expect(out[0]!.fields).toEqual(["https://www.Example.com/about", "Ada", "Lovelace", "CEO"]);
    expect(ingest.reader.header).toEqual(["Company Website", "Given Name", "SURNAME", "title"]);
  });

  it.each([
    ["First Name,Last Name,Company Domain Name", "Ada,Lovelace,example.com"],
    ["fname,lname,Website URL", "Ada,Lovelace,http://example.com"],
    ["Contact First Name,Contact Last Name,Company URL", "Ada,Lovelace,www.example.com"],
    ["Contact Name,Organization Domain", "Ada Lovelace,example.com"],
    ["Forename,Last,Domain Name", "Ada,Lovelace,example.com"],
  ])("reads the columns of a CRM's export: %s", (header, row) => {
    const { ingest, out } = read(`${header}\n${row}\n`);
    expect(ingest.missing).toBeNull();
    expect(out.map((a) => a.key)).toEqual(["ada||lovelace|example.com"]);
  });

  it("reads full names, dedupes people by name and domain, and counts unusable rows as invalid_person", () => {
    const csv = "full_name,domain\nGrace Hopper,navy.mil\ngrace hopper,NAVY.MIL\nMadonna,example.com\nAlan Turing,\n1234 5678,example.com\n,,\nAlan Turing,example.org\n";
    for (const chunk of [1, 7, 1000]) {
      const { ingest, out } = read(csv, chunk);
      expect(out.map((a) => a.key)).toEqual(["grace||hopper|navy.mil", "alan||turing|example.org"]);
      expect({ total: ingest.total, unique: ingest.unique }).toEqual({ total: 3, unique: 2 });
      // Madonna (no surname), a row without a domain, a name without letters, a row of empty cells.
      expect(ingest.rejects).toEqual({ no_address: 0, too_long: 0, invalid_person: 4 });
    }
  });

  it("names the missing column and takes no row when a name or the domain column is absent", () => {
    expect(read("first_name,last_name,company\nAda,Lovelace,Acme\n").ingest.missing).toBe("domain");
    expect(read("first_name,domain\nAda,example.com\n").ingest.missing).toBe("name");
    expect(read("first_name,domain\nAda,example.com\n").out).toEqual([]);
    expect(read("first_name,last_name,domain\n").ingest.missing).toBeNull();
  });
});

describe("every data row keeps its place: repeats and rejects are told to onOther (issue 26)", () => {
  /** Rows of the list in data-row order: [rowIndex, what] where what is the key, "=key" for a repeat, or "!reason". */
  const order = (text: string, chunk: number, people = false) => {
    const got: [number, string][] = [];
    const others: OtherRow[] = [];
    const onOther = (r: OtherRow) => others.push(r);
    const ingest = people ? new PeopleIngest({ onOther }) : new Ingest({ onOther });
    const take = (rows: IngestedAddress[]) => got.push(...rows.map((a): [number, string] => [a.rowIndex, a.key]));
    for (let i = 0; i < text.length; i += chunk) take(ingest.push(text.slice(i, i + chunk)));
    take(ingest.end());
    got.push(...others.map((o): [number, string] => [o.rowIndex, o.key !== null ? `=${o.key}` : `!${o.reason}`]));
    const rejected = Object.values(ingest.rejects).reduce((a, b) => a + b, 0);
    return { rows: got.sort((a, b) => a[0] - b[0]), others, counted: ingest.total + rejected };
  };

  it("numbers a CSV's rows, rejects and repeats included, and keeps their cells", () => {
    const csv = `name,email\nAlice,alice@ok.test\n"Lee, Bob",bob@ok.test\nNo one,\nAlice again,ALICE@ok.test\nBob,"""Bob"" <bob@ok.test>"\nLong,${"x".repeat(600)}@ok.test\nZed,zed@ok.test\n`;
    for (const chunk of [3, 17, csv.length]) {
      const { rows, others, counted } = order(csv, chunk);
      expect(rows).toEqual([[0, "alice@ok.test"], [1, "bob@ok.test"], [2, "!no_address"], [3, "=alice@ok.test"], [4, "=bob@ok.test"], [5, "!too_long"], [6, "zed@ok.test"]]);
      expect(counted).toBe(7);
      expect(others.find((o) => o.rowIndex === 4)!.fields).toEqual(["Bob", '"Bob" <bob@ok.test>']);
      expect(others.find((o) => o.rowIndex === 2)!.fields).toEqual(["No one", ""]);
    }
  });

  it("numbers a plain list's rows, and keeps an overlong line's place (its cells are not kept)", () => {
    const list = `email\na@ok.test\n${"y".repeat(MAX_ROW_CHARS + 10)}\nA@OK.TEST\n"" \nb@ok.test\n`;
    for (const chunk of [1000, list.length]) {
      const { rows, others } = order(list, chunk);
      expect(rows).toEqual([[0, "a@ok.test"], [1, "!too_long"], [2, "=a@ok.test"], [3, "!no_address"], [4, "b@ok.test"]]);
      expect(others.sort((a, b) => a.rowIndex - b.rowIndex).map((o) => o.fields)).toEqual([[], ["A@OK.TEST"], [""]]);
    }
  });

  it("numbers a people list's invalid_person rows and repeated persons", () => {
    const { rows } = order("full_name,domain\nGrace Hopper,navy.mil\nMadonna,example.com\ngrace hopper,NAVY.MIL\n,\nAlan Turing,example.org\n", 5, true);
    expect(rows).toEqual([[0, "grace||hopper|navy.mil"], [1, "!invalid_person"], [2, "=grace||hopper|navy.mil"], [3, "!invalid_person"], [4, "alan||turing|example.org"]]);
  });

  it("counts a JSON array's blank entries as no_address rejects in their places", () => {
    const others: OtherRow[] = [];
    const ingest = new Ingest({ onOther: (r) => others.push(r) });
    const got = ingest.pushRows(["a@ok.test", "", "A@ok.test", "b@ok.test"].map((email, index) => ({ index, email, fields: [email] })));
    expect(got.map((a) => a.rowIndex)).toEqual([0, 3]);
    expect(others.map((o) => [o.rowIndex, o.key ?? o.reason])).toEqual([[1, "no_address"], [2, "a@ok.test"]]);
    expect(ingest.total + ingest.rejects.no_address).toBe(4);
  });

  it("tells nothing of a people list without its columns", () => {
    expect(order("first_name,company\nAda,Acme\n,\n", 100, true).others).toEqual([]);
  });
});
