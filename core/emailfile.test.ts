import { describe, expect, it } from "vitest";
import { readAddressList } from "./emailfile.ts";

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
