import { describe, expect, it } from "vitest";
import { cleanAddress, parseAddress, stripInvisible } from "./address.ts";
import vectors from "./vectors/isemail/tests.json" with { type: "json" };

const ok = (input: string) => {
  const r = parseAddress(input);
  if (!r.ok) throw new Error(`${input}: ${r.detail}`);
  return r;
};
const reason = (input: string) => {
  const r = parseAddress(input);
  return r.ok ? "ok" : r.reason;
};

describe("parseAddress", () => {
  it("normalises case of the domain and keeps the local part for RCPT", () => {
    expect(ok("John.Smith@Example.COM")).toEqual({
      ok: true,
      local: "John.Smith",
      domain: "example.com",
      unicodeDomain: "example.com",
      normalized: "john.smith@example.com",
      smtputf8: false,
    });
    // RFC 5321 Domain has no root dot; white space is FWS, not part of an envelope address.
    expect(reason("user@example.com.")).toBe("invalid_syntax");
    expect(reason(" user@example.com")).toBe("invalid_syntax");
  });

  it("converts IDN domains to A-labels and flags UTF-8 local parts (RFC 6531)", () => {
    expect(ok("josé@bücher.de")).toMatchObject({ local: "josé", domain: "xn--bcher-kva.de", unicodeDomain: "bücher.de", smtputf8: true });
    expect(ok("用户@例子.广告")).toMatchObject({ domain: "xn--fsqu00a.xn--4rr70v", smtputf8: true });
    expect(ok("info@BÜCHER.de").domain).toBe("xn--bcher-kva.de");
  });

  it("handles quoted local parts (RFC 5321 §4.1.2)", () => {
    expect(ok('"john"@example.com').local).toBe("john");
    expect(ok('"john smith"@example.com').local).toBe('"john smith"');
    expect(ok('"a\\"b"@example.com').local).toBe('"a\\"b"');
    expect(ok('"a@b"@example.com')).toMatchObject({ local: '"a@b"', domain: "example.com" });
    expect(reason('"unterminated@example.com')).toBe("invalid_syntax");
  });

  it("applies the octet limits exactly at their boundaries", () => {
    const l64 = "a".repeat(64);
    expect(reason(`${l64}@example.com`)).toBe("ok");
    expect(reason(`${l64}a@example.com`)).toBe("invalid_syntax");
    const label63 = "b".repeat(63);
    expect(reason(`x@${label63}.com`)).toBe("ok");
    expect(reason(`x@${label63}b.com`)).toBe("invalid_syntax");
    // 254 octets in all: 64 + 1 + 189 (three 62-octet labels and "com").
    const domain189 = `${"c".repeat(61)}.${"d".repeat(61)}.${"e".repeat(61)}.com`;
    expect(`${l64}@${domain189}`.length).toBe(254);
    expect(reason(`${l64}@${domain189}`)).toBe("ok");
    expect(reason(`${l64}@c${domain189}`)).toBe("invalid_syntax");
    // Octets, not characters: 22 three-octet characters are 66 octets.
    expect(reason(`${"用".repeat(22)}@example.com`)).toBe("invalid_syntax");
  });

  it("rejects what an SMTP envelope cannot carry", () => {
    for (const bad of [
      "plainaddress",
      "@example.com",
      "user@",
      ".user@example.com",
      "user.@example.com",
      "us..er@example.com",
      "us er@example.com",
      "user(comment)@example.com",
      "user@b",
      "user@-bad.com",
      "user@bad-.com",
      "user@exa_mple.com",
      "user@example.123",
      "user@exa mple.com",
      "user\u0000@example.com",
      "a@b@c",
    ]) {
      expect(reason(bad), bad).toBe("invalid_syntax");
    }
  });

  it("recognises address literals and does not verify them", () => {
    expect(reason("user@[192.0.2.1]")).toBe("domain_literal");
    expect(reason("user@[IPv6:2001:db8::1]")).toBe("domain_literal");
    expect(reason("user@[IPv6:::ffff:192.0.2.1]")).toBe("domain_literal");
    expect(reason("user@[192.0.2.256]")).toBe("invalid_syntax");
    expect(reason("user@[not a literal]")).toBe("invalid_syntax");
  });

  it("accepts the unusual but valid atext characters", () => {
    for (const good of ["a+tag@example.com", "o'brien@example.com", "x!#$%&*/=?^_`{|}~-@example.com", "1@example.co.uk"]) {
      expect(reason(good), good).toBe("ok");
    }
  });
});

// The isemail suite (core/vectors/isemail, BSD licence): what it calls valid we accept, literals
// it calls valid are domain_literal, everything else (CFWS, deprecated, RFC 5322-only, errors)
// is invalid in an SMTP envelope. Where our rules are stricter on purpose:
const OVERRIDES: Record<number, { want: string; why: string }> = {
  5: { want: "invalid_syntax", why: "a TLD alone (test@io) cannot be verified: no dotless mail domains in practice (RFC 7085)" },
  166: { want: "invalid_syntax", why: "a TLD alone (test@org), as above" },
  23: { want: "invalid_syntax", why: "numeric TLDs do not exist; iana.123 is not a host name" },
  24: { want: "invalid_syntax", why: "255.255.255.255 is an IP address written without brackets" },
};

describe("isemail vectors", () => {
  const cases = vectors.tests.map((t) => {
    const base =
      t.category === "ISEMAIL_VALID_CATEGORY" || t.category === "ISEMAIL_DNSWARN"
        ? "ok"
        : t.category === "ISEMAIL_RFC5321"
          ? /ADDRESSLITERAL|IPV6/.test(t.diagnosis) ? "domain_literal" : "ok"
          : "invalid_syntax";
    return [t.id, t.address, t.diagnosis, OVERRIDES[t.id]?.want ?? base] as const;
  });
  it("has the whole suite", () => expect(cases.length).toBe(164));
  it.each(cases)("#%i %j (%s)", (_id, address, _diagnosis, want) => {
    expect(reason(address)).toBe(want);
  });
});

describe("invisible characters and raw length (issue 10)", () => {
  it("drops format characters everywhere but the joiners a domain's script may need", () => {
    const invisible = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202e\u2066\u2069\u061c";
    expect(stripInvisible(`jo${invisible}hn@ex${"\u00ad\u200b\u2060\ufeff\u202e"}ample.com`)).toBe("john@example.com");
    expect(stripInvisible("a@b\u200cc.com")).toBe("a@b\u200cc.com");
    expect(cleanAddress(" \ufeffann@x.com\u200b ")).toBe("ann@x.com");
  });

  it("normalises an address padded with soft hyphens to its short form, the same at every entry point", () => {
    const padded = `x@a${"\u00ad".repeat(200)}b.com`;
    expect(parseAddress(padded)).toMatchObject({ ok: true, normalized: "x@ab.com" });
    expect(parseAddress(cleanAddress(padded))).toEqual(parseAddress(padded));
  });

  it("refuses an address whose written form is longer than a path may carry, even when it maps short", () => {
    // Variation selectors are not format characters; IDNA drops them from a domain all the same.
    const long = `x@a${"\ufe0f".repeat(100)}b.com`;
    expect(parseAddress(long)).toEqual({ ok: false, reason: "invalid_syntax", detail: "address longer than 254 octets" });
    expect(parseAddress(`x@a${"\ufe0f".repeat(10)}b.com`)).toMatchObject({ ok: true, normalized: "x@ab.com" });
  });
});
