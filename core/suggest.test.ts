import { describe, expect, it } from "vitest";
import { editDistance, suggestDomain, suggestEmail } from "./suggest.ts";

describe("suggestDomain", () => {
  it.each([
    ["gmial.com", "gmail.com"],
    ["gmai.com", "gmail.com"],
    ["gmail.con", "gmail.com"],
    ["gmail.co", "gmail.com"],
    ["hotmial.com", "hotmail.com"],
    ["hotmail.cmo", "hotmail.com"],
    ["yahooo.com", "yahoo.com"],
    ["outlok.com", "outlook.com"],
    ["iclod.com", "icloud.com"],
    ["comcast.nt", "comcast.net"],
    ["GMIAL.COM", "gmail.com"],
  ])("%s → %s", (typo, fixed) => {
    expect(suggestDomain(typo)).toBe(fixed);
  });

  it.each(["gmail.com", "yahoo.co.jp", "example.com", "mycompany.com", "acme-corp.test", "gmx.at", "mail.com", "att.com", "web.de", "uni-heidelberg.de"])(
    "leaves %s alone",
    (domain) => {
      expect(suggestDomain(domain)).toBeNull();
    },
  );
});

describe("suggestEmail", () => {
  it("keeps the local part and fixes the domain", () => {
    expect(suggestEmail("Jane.Doe@gmial.com")).toBe("Jane.Doe@gmail.com");
    expect(suggestEmail("jane@example.com")).toBeNull();
    expect(suggestEmail("no-at-sign")).toBeNull();
  });
});

describe("editDistance", () => {
  it("counts an adjacent swap as one edit", () => {
    expect(editDistance("gmial", "gmail")).toBe(1);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});
