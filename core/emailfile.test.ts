import { describe, expect, it } from "vitest";
import { AddressListReader, readAddressList, type ListRow } from "./emailfile.ts";

describe("readAddressList", () => {
  it("reads a plain list, keeping order, duplicates and bad entries", () => {
    expect(readAddressList("a@x.com\n\nb@y.com\r\nnot-an-address\na@x.com\n")).toEqual({
      emails: ["a@x.com", "b@y.com", "not-an-address", "a@x.com"],
      column: null,
    });
  });
  it("finds the email column of a CSV by its header", () => {
    const csv = "id,name,E-mail,city\n1,Ann,ann@x.com,Oslo\n2,\"Bo, Jr\",bo@y.com,Rome\n";
    expect(readAddressList(csv)).toEqual({ emails: ["ann@x.com", "bo@y.com"], column: "E-mail" });
  });
  it("reads TSV and semicolon CSV with a BOM", () => {
    expect(readAddressList("\uFEFFname\temail\nAnn\tann@x.com\n").emails).toEqual(["ann@x.com"]);
    expect(readAddressList("name;mail\nAnn;ann@x.com\nBo;bo@y.com\n")).toEqual({ emails: ["ann@x.com", "bo@y.com"], column: "mail" });
  });
  it("finds the column by content when the header does not name it", () => {
    expect(readAddressList("who,contact\nAnn,ann@x.com\nBo,bo@y.com\n")).toEqual({ emails: ["ann@x.com", "bo@y.com"], column: "contact" });
    expect(readAddressList("Ann,ann@x.com\nBo,bo@y.com\n")).toEqual({ emails: ["ann@x.com", "bo@y.com"], column: null });
  });
  it("returns nothing when no column holds addresses", () => {
    expect(readAddressList("a,b\n1,2\n3,4\n")).toEqual({ emails: [], column: null });
    expect(readAddressList("")).toEqual({ emails: [], column: null });
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
    expect(expected[7]).toEqual({ index: 7, email: "user7@x.test", fields: ["7", "Name 7", "user7@x.test", 'multi\nline, "quoted" note 7'] });
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
