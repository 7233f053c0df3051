import { describe, expect, it } from "vitest";
import { parseAddress } from "../address.ts";
import { mailName, splitFullName } from "./names.ts";
import { MAX_FIND_CANDIDATES } from "../contracts.ts";
import { PATTERNS, PROVIDED_PATTERN, candidates, companyDomain, confidence, findCandidates, parsePerson, patternOf, personFromLine, spellable, type Person } from "./patterns.ts";

const person = (first: string, last: string, middle = ""): Person => ({ first, middle, last });
const locals = (p: Person, known?: { pattern: string; count: number }[], max?: number) =>
  candidates(p, "acme.com", known, { max }).map((c) => c.email.split("@")[0]);

describe("splitFullName", () => {
  it.each([
    ["José Ñúñez", { first: "José", middle: "", last: "Ñúñez" }],
    ["Smith, John", { first: "John", middle: "", last: "Smith" }],
    ["Dr. Jane A. Doe Jr.", { first: "Jane", middle: "A.", last: "Doe" }],
    ["John Smith, Jr.", { first: "John", middle: "", last: "Smith" }],
    ["Prof Ada Lovelace PhD", { first: "Ada", middle: "", last: "Lovelace" }],
    ["Ludwig van Beethoven", { first: "Ludwig", middle: "", last: "van Beethoven" }],
    ["Vincent van der Berg", { first: "Vincent", middle: "", last: "van der Berg" }],
    ["Anne-Marie Garcia-Lopez", { first: "Anne-Marie", middle: "", last: "Garcia-Lopez" }],
    ["Doe, Dr. Jane Ann", { first: "Jane", middle: "Ann", last: "Doe" }],
  ])("%s", (full, want) => {
    expect(splitFullName(full)).toEqual(want);
  });

  it("needs two names", () => {
    expect(splitFullName("Madonna")).toBeNull();
    expect(splitFullName("Mr. Smith")).toBeNull();
  });
});

describe("mailName", () => {
  it.each([
    [person("José", "Ñúñez"), ["jose"], ["nunez"]],
    [person("Zoë", "Müller"), ["zoe"], ["mueller", "muller"]],
    [person("Seán", "O'Brien"), ["sean"], ["obrien"]],
    [person("Anne-Marie", "Garcia-Lopez"), ["annemarie"], ["garcialopez", "garcia", "lopez"]],
    [person("Ludwig", "van Beethoven"), ["ludwig"], ["vanbeethoven", "beethoven"]],
    [person("Vincent", "van der Berg"), ["vincent"], ["vanderberg", "berg"]],
    [person("Søren", "Łukasz-Straße"), ["soren"], ["lukaszstrasse", "lukasz", "strasse"]],
    [person("Æsa", "Þórðardóttir"), ["aesa"], ["thordardottir"]],
    [person("Jürgen", "Groß"), ["juergen", "jurgen"], ["gross"]],
  ])("%j", (p, first, last) => {
    expect(mailName(p)).toEqual({ first, middle: "", last });
  });
});

describe("parsePerson", () => {
  it("takes first and last names and a domain", () => {
    expect(parsePerson({ first_name: " Zoë ", last_name: "Müller", domain: "Acme.DE" })).toEqual({
      ok: true,
      person: { first: "Zoë", middle: "", last: "Müller" },
      domain: "acme.de",
    });
  });

  it("splits a full name", () => {
    const r = parsePerson({ full_name: "Dr. Jane A. Doe Jr.", domain: "acme.com" });
    expect(r).toMatchObject({ ok: true, person: { first: "Jane", middle: "A.", last: "Doe" } });
  });

  it.each([
    [{ full_name: "李小龍", domain: "acme.com" }, "full_name", "not_latin"],
    [{ full_name: "Madonna", domain: "acme.com" }, "full_name", "missing"],
    [{ full_name: "李 小龍", domain: "acme.com" }, "full_name", "not_latin"],
    [{ first_name: "Ελένη", last_name: "Παππά", domain: "acme.com" }, "first_name", "not_latin"],
    [{ first_name: "123", last_name: "Smith", domain: "acme.com" }, "first_name", "no_letters"],
    [{ first_name: "Jane", last_name: "--", domain: "acme.com" }, "last_name", "no_letters"],
    [{ first_name: "Jane", domain: "acme.com" }, "last_name", "missing"],
    [{ domain: "acme.com" }, "full_name", "missing"],
    [{ first_name: "Jane", last_name: "Doe" }, "domain", "missing"],
    [{ first_name: "Jane", last_name: "Doe", domain: "x".repeat(101) }, "domain", "not_a_domain"],
    [{ first_name: "J".repeat(101), last_name: "Doe", domain: "acme.com" }, "first_name", "too_long"],
  ])("refuses %j", (input, field, rule) => {
    expect(parsePerson(input)).toMatchObject({ ok: false, code: "validation_failed", field, rule });
  });

  it("keeps a person whose middle name has no Latin spelling, without it", () => {
    expect(parsePerson({ full_name: "Jane 小 Doe", domain: "acme.com" })).toMatchObject({ ok: true, person: { middle: "" } });
  });
});

describe("companyDomain", () => {
  it.each([
    ["acme.com", "acme.com"],
    ["https://www.acme.co.uk/about?x", "acme.co.uk"],
    ["HTTP://WWW.ACME.COM:8080/path#frag", "acme.com"],
    ["www.acme.com/careers", "acme.com"],
    ["acme.com:443", "acme.com"],
    ["jane@Acme.com", "acme.com"],
    ["bücher.de", "xn--bcher-kva.de"],
    ["https://www.bücher.de/", "xn--bcher-kva.de"],
    ["acme.com.", "acme.com"],
    ["www.com", "www.com"],
  ])("%s → %s", (raw, want) => {
    expect(companyDomain(raw)).toBe(want);
  });

  it.each([
    ["", "missing"],
    ["   ", "missing"],
    ["1.2.3.4", "ip_literal"],
    ["http://127.1/", "ip_literal"],
    ["https://[::1]:8080/", "ip_literal"],
    ["localhost", "localhost"],
    ["http://app.localhost:3000", "localhost"],
    ["acme", "not_a_domain"],
    ["under_score.com", "not_a_domain"],
    ["http://", "not_a_domain"],
  ])("refuses %j (%s)", (raw, rule) => {
    expect(companyDomain(raw)).toMatchObject({ rule });
  });
});

describe("candidates", () => {
  it("orders by prior when nothing is known: first.last, flast, first…", () => {
    expect(locals(person("John", "Smith"), [], 6)).toEqual(["john.smith", "jsmith", "john", "johnsmith", "j.smith", "johns"]);
  });

  it("puts a domain's known pattern first", () => {
    const c = candidates(person("John", "Smith"), "acme.com", [{ pattern: "lastf", count: 3 }, { pattern: "first.last", count: 1 }]);
    expect(c[0]).toEqual({ email: "smithj@acme.com", pattern: "lastf", prior: 0.01 });
    expect(c[1]!.pattern).toBe("first.last");
  });

  it("tries a dominant pattern's variants before other patterns", () => {
    expect(locals(person("Zoë", "Müller"), [{ pattern: "first.last", count: 5 }], 4)).toEqual(["zoe.mueller", "zoe.muller", "zmueller", "zoe"]);
  });

  it("tries variants after every pattern's main spelling when nothing is known", () => {
    const all = locals(person("Zoë", "Müller"), [], 40);
    expect(all.indexOf("zoe.muller")).toBeGreaterThan(all.indexOf("zm"));
    expect(all.slice(0, 2)).toEqual(["zoe.mueller", "zmueller"]);
  });

  it("gives hyphenated and particle surnames their parts", () => {
    const all = locals(person("Anne-Marie", "Garcia-Lopez"), [{ pattern: "first.last", count: 2 }]);
    expect(all.slice(0, 3)).toEqual(["annemarie.garcialopez", "annemarie.garcia", "annemarie.lopez"]);
    expect(locals(person("Ludwig", "van Beethoven"), [{ pattern: "flast", count: 9 }]).slice(0, 2)).toEqual(["lvanbeethoven", "lbeethoven"]);
  });

  it("a pattern seen once among several is not dominant: its variants wait", () => {
    const known = [{ pattern: "flast", count: 1 }, { pattern: "first", count: 1 }];
    expect(locals(person("Zoë", "Müller"), known, 3)).toEqual(["zmueller", "zoe", "zoe.mueller"]);
  });

  it("removes duplicates, keeping the likelier pattern", () => {
    const c = candidates(person("J", "Smith"), "acme.com", [], { max: 40 });
    const emails = c.map((x) => x.email);
    expect(new Set(emails).size).toBe(emails.length);
    expect(c.find((x) => x.email === "jsmith@acme.com")!.pattern).toBe("flast");
    expect(c.some((x) => x.pattern === "firstlast")).toBe(false);
    expect(c.find((x) => x.email === "js@acme.com")!.pattern).toBe("firstl");
  });

  it("uses the middle initial only when there is a middle name", () => {
    expect(locals(person("Jane", "Doe", "Ann"), [{ pattern: "first.m.last", count: 2 }])[0]).toBe("jane.a.doe");
    expect(locals(person("Jane", "Doe"), [], 40)).not.toContain("jane..doe");
    expect(candidates(person("Jane", "Doe"), "acme.com", [], { max: 40 }).some((c) => c.pattern === "first.m.last")).toBe(false);
  });

  it("caps at 12 by default, and every candidate is a valid address", () => {
    const c = candidates(person("Anne-Marie", "Garcia-Lopez", "Zoë"), "xn--bcher-kva.de");
    expect(c).toHaveLength(12);
    for (const x of c) expect(parseAddress(x.email)).toMatchObject({ ok: true, smtputf8: false });
  });

  it("drops candidates too long for a local part", () => {
    const long = "a".repeat(40);
    const c = candidates(person(long, long), "acme.com", [], { max: 40 });
    expect(c.map((x) => x.pattern)).not.toContain("first.last");
    expect(c[0]!.pattern).toBe("flast");
  });

  it("ignores known patterns it does not have or never saw", () => {
    expect(locals(person("John", "Smith"), [{ pattern: "nonsense", count: 9 }], 1)).toEqual(["john.smith"]);
    expect(locals(person("John", "Smith"), [{ pattern: "lastf", count: 0 }], 1)).toEqual(["john.smith"]);
  });
});

describe("patternOf", () => {
  // Letters chosen so that no two patterns make the same local part.
  const p = person("Zoë", "Müller-Schmidt", "Ann");
  it.each(PATTERNS.map((x) => x.name))("round-trips %s", (name) => {
    const known = [{ pattern: name, count: 2 }];
    const first = candidates(p, "acme.com", known)[0]!;
    expect(first.pattern).toBe(name);
    expect(patternOf(first.email, p)).toBe(name);
  });

  it("recognises a variant spelling", () => {
    expect(patternOf("Zoe.Schmidt@acme.com", p)).toBe("first.last");
    expect(patternOf("zmuller@acme.com", p)).toBe("flast");
  });

  it("answers null for an address no pattern makes", () => {
    expect(patternOf("sales@acme.com", p)).toBeNull();
  });

  it("answers the likelier pattern when two make the same address", () => {
    expect(patternOf("jsmith@acme.com", person("J", "Smith"))).toBe("flast");
  });
});

describe("confidence", () => {
  it("is high for a domain's well-seen pattern and grows with the count", () => {
    const one = confidence("first.last", [{ pattern: "first.last", count: 1 }]);
    const ten = confidence("first.last", [{ pattern: "first.last", count: 10 }]);
    expect(one).toBeGreaterThan(60);
    expect(ten).toBeGreaterThan(one);
    expect(ten).toBeLessThanOrEqual(95);
  });

  it("falls with the pattern's share of the domain", () => {
    const mixed = [{ pattern: "flast", count: 5 }, { pattern: "first", count: 5 }];
    expect(confidence("flast", mixed)).toBeLessThan(confidence("flast", [{ pattern: "flast", count: 5 }]));
  });

  it("uses the prior when nothing is known, lower when the domain uses something else", () => {
    expect(confidence("first.last")).toBe(50);
    expect(confidence("flast")).toBe(25);
    expect(confidence("first.last", [{ pattern: "flast", count: 3 }])).toBeLessThan(20);
    expect(confidence("nonsense")).toBe(0);
  });
});

describe("findCandidates with a provided address", () => {
  const john = person("John", "Smith");
  const emails = (list: { email: string }[]) => list.map((c) => c.email);

  it("asks a provider's address first, once, under the pattern that makes it", () => {
    const list = findCandidates(john, "acme.com", [], "JSmith@Acme.com");
    expect(list[0]).toEqual({ email: "jsmith@acme.com", pattern: "flast", confidence: 50 });
    expect(emails(list).filter((e) => e === "jsmith@acme.com")).toHaveLength(1);
    expect(emails(list).slice(1)).toEqual(emails(findCandidates(john, "acme.com")).filter((e) => e !== "jsmith@acme.com"));
  });

  it("keeps a known pattern's confidence when it is higher", () => {
    const known = [{ pattern: "flast", count: 10 }];
    expect(findCandidates(john, "acme.com", known, "jsmith@acme.com")[0]!.confidence).toBe(confidence("flast", known));
  });

  it("asks an address no pattern makes, as provided", () => {
    const list = findCandidates(john, "acme.com", [], "john.smith2@acme.com");
    expect(list[0]).toEqual({ email: "john.smith2@acme.com", pattern: PROVIDED_PATTERN, confidence: 50 });
    expect(list.length).toBeLessThanOrEqual(MAX_FIND_CANDIDATES);
  });

  it("leaves out an address on another domain, or one that is not an address", () => {
    const plain = findCandidates(john, "acme.com");
    expect(findCandidates(john, "acme.com", [], "john@gmail.com")).toEqual(plain);
    expect(findCandidates(john, "acme.com", [], "not an address")).toEqual(plain);
    expect(findCandidates(john, "acme.com", [], null)).toEqual(plain);
  });
});

describe("personFromLine", () => {
  it.each([
    ["Ada Lovelace, example.com", { full_name: "Ada Lovelace", domain: "example.com" }],
    ["  Ada Lovelace\thttps://www.example.com/about ", { full_name: "Ada Lovelace", domain: "https://www.example.com/about" }],
    ["Lovelace, Ada; example.com", { full_name: "Lovelace, Ada", domain: "example.com" }],
    ["Ada Lovelace example.com", { full_name: "Ada Lovelace", domain: "example.com" }],
    ["Dr. Ada King Lovelace", { full_name: "Dr. Ada King Lovelace", domain: "" }],
    ["Ada Lovelace", { full_name: "Ada Lovelace", domain: "" }],
    ["Ada Lovelace Jr.", { full_name: "Ada Lovelace Jr.", domain: "" }],
  ])("reads %j", (line, expected) => {
    expect(personFromLine(line)).toEqual(expected);
  });
});

describe("spellable", () => {
  // Three 63-octet labels, one to make up the length, and .test.
  const domain = (octets: number) => `${["a", "b", "c"].map((c) => c.repeat(63)).join(".")}.${"d".repeat(octets - 197)}.test`;
  it("answers as candidates does: some address fits unless even the shortest local part is too long", () => {
    const cases: [Person, string][] = [
      [person("Ada", "Lovelace"), "example.com"],
      [person("A", "Lovelace"), "example.com"],
      [person("X".repeat(100), "Y".repeat(100)), "example.com"],
      [person("Ada", "Lovelace"), domain(251)],
      [person("Ada", "Lovelace"), domain(252)],
      [person("A", "Lovelace"), domain(252)],
      [person("Ada", "Lovelace"), domain(253)],
    ];
    for (const [p, d] of cases) expect([p.first, d.length, spellable(p, d)]).toEqual([p.first, d.length, candidates(p, d, [], { max: 1 }).length > 0]);
    expect(cases.map(([p, d]) => spellable(p, d))).toEqual([true, true, true, true, false, true, false]);
  });
});
