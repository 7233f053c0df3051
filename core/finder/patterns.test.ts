import { describe, expect, it } from "vitest";
import { parseAddress } from "../address.ts";
import { mailName, splitFullName } from "./names.ts";
import { MAX_FIND_CANDIDATES } from "../contracts.ts";
import { PATTERNS, PROVIDED_PATTERN, candidates, companyDomain, confidence, findCandidates, foldKnown, parsePerson, patternOf, personFromLine, spellable, type Person } from "./patterns.ts";

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
    [person("Ludwig", "van Beethoven"), ["ludwig"], ["vanbeethoven", "beethoven"]],
    [person("Vincent", "van der Berg"), ["vincent"], ["vanderberg", "berg"]],
    [person("Æsa", "Þórðardóttir"), ["aesa"], ["thordardottir"]],
    [person("Jürgen", "Groß"), ["juergen", "jurgen"], ["gross"]],
  ])("%j", (p, first, last) => {
    expect(mailName(p)).toEqual({ first, middle: "", last });
  });

  it.each([
    [person("Anne-Marie", "Garcia-Lopez"), ["annemarie"], ["garcialopez", "garcia", "lopez"], ["anne-marie"], ["garcia-lopez", "garcia", "lopez"]],
    [person("Søren", "Łukasz-Straße"), ["soren"], ["lukaszstrasse", "lukasz", "strasse"], ["soren"], ["lukasz-strasse", "lukasz", "strasse"]],
    [person("Hans‐Jürgen", "Groß"), ["hansjuergen", "hansjurgen"], ["gross"], ["hans-juergen", "hans-jurgen"], ["gross"]],
    [person("-Jean--Pierre-", "Dupont"), ["jeanpierre"], ["dupont"], ["jean-pierre"], ["dupont"]],
  ])("%j keeps its hyphens beside each spelling", (p, first, last, hyphenedFirst, hyphenedLast) => {
    expect(mailName(p)).toEqual({ first, middle: "", last, hyphened: { first: hyphenedFirst, last: hyphenedLast } });
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
    expect(all.slice(0, 6)).toEqual(["annemarie.garcialopez", "anne-marie.garcia-lopez", "annemarie.garcia", "anne-marie.garcia", "annemarie.lopez", "anne-marie.lopez"]);
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

  it("caps at 12 by default (15 for a compound name), and every candidate is a valid address", () => {
    expect(candidates(person("Anne", "Garcia", "Zoë"), "xn--bcher-kva.de")).toHaveLength(12);
    const c = candidates(person("Anne-Marie", "Garcia-Lopez", "Zoë"), "xn--bcher-kva.de");
    expect(c).toHaveLength(15);
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

describe("compound names", () => {
  const jp = person("Jean-Pierre", "Dupont");
  const named = (p: Person, known: { pattern: string; count: number }[] = [], max?: number) =>
    candidates(p, "acme.com", known, { max }).map((c) => `${c.email.split("@")[0]} ${c.pattern}`);

  it("gives a name without a hyphen exactly the candidates it had before hyphens were tried", () => {
    // Made by the finder before compound names were tried with their hyphens (issue 25).
    const before = [
      "john.smith first.last | jsmith flast | john first | johnsmith firstlast | j.smith f.last | johns firstl | john_smith first_last | smith last | smith.john last.first | john-smith first-last | smithj lastf | john.s first.l",
      "zoe.mueller first.last | zoe.muller first.last | zmueller flast | zoe first | zoemueller firstlast | z.mueller f.last | zoem firstl | zoe_mueller first_last | mueller last | mueller.zoe last.first | zoe-mueller first-last | muellerz lastf",
      "jdoe flast | jane first | jane.doe first.last | janedoe firstlast | j.doe f.last | janed firstl | jane_doe first_last | doe last | doe.jane last.first | jane.a.doe first.m.last | jane-doe first-last | doej lastf",
      "vanbeethovenl lastf | beethovenl lastf | ludwig.vanbeethoven first.last | lvanbeethoven flast | ludwig first | ludwigvanbeethoven firstlast | l.vanbeethoven f.last | ludwigv firstl | ludwig_vanbeethoven first_last | vanbeethoven last | vanbeethoven.ludwig last.first | ludwig-vanbeethoven first-last",
    ];
    const cases: [Person, { pattern: string; count: number }[]][] = [
      [person("John", "Smith"), []],
      [person("Zoë", "Müller"), [{ pattern: "first.last", count: 5 }]],
      [person("Jane", "Doe", "Ann"), [{ pattern: "flast", count: 1 }, { pattern: "first", count: 1 }]],
      [person("Ludwig", "van Beethoven"), [{ pattern: "lastf", count: 3 }, { pattern: "first.last", count: 1 }]],
    ];
    expect(cases.map(([p, known]) => named(p, known).join(" | "))).toEqual(before);
    // What compound names taught a domain counts toward its formats, and orders nothing else.
    expect(named(person("Zoë", "Müller"), [{ pattern: "first.last+hyphen", count: 3 }, { pattern: "first.last+joined", count: 2 }])).toEqual(named(person("Zoë", "Müller"), [{ pattern: "first.last", count: 5 }]));
  });

  it("tries the hyphenated form beside the joined one, joined first while nothing says the domain keeps hyphens", () => {
    expect(named(jp, [], 12)).toEqual([
      "jeanpierre.dupont first.last+joined", "jean-pierre.dupont first.last+hyphen", "jdupont flast", "jeanpierre first+joined", "jean-pierre first+hyphen",
      "jeanpierredupont firstlast+joined", "jean-pierredupont firstlast+hyphen", "j.dupont f.last", "jeanpierred firstl+joined", "jean-pierred firstl+hyphen",
      "jeanpierre_dupont first_last+joined", "jean-pierre_dupont first_last+hyphen",
    ]);
    expect(named(jp, [{ pattern: "first.last+joined", count: 2 }, { pattern: "first.last+hyphen", count: 1 }], 2)).toEqual(["jeanpierre.dupont first.last+joined", "jean-pierre.dupont first.last+hyphen"]);
  });

  it("puts the hyphenated form first on a domain whose finds kept hyphens, whatever the pattern they were found with", () => {
    const keeps = [{ pattern: "flast", count: 3 }, { pattern: "first+hyphen", count: 1 }];
    expect(named(jp, keeps, 4)).toEqual(["jdupont flast", "jean-pierre first+hyphen", "jeanpierre first+joined", "jean-pierre.dupont first.last+hyphen"]);
    expect(named(person("Ada", "Smith-Jones"), [{ pattern: "first.last", count: 4 }, { pattern: "+hyphen", count: 1 }], 3)).toEqual([
      "ada.smith-jones first.last+hyphen", "ada.smithjones first.last+joined", "ada.smith first.last",
    ]);
  });

  it("reads a domain's rows the same folded into one per format and one per hyphen style", () => {
    const rows = [{ pattern: "first.last+hyphen", count: 2 }, { pattern: "first.last", count: 3 }, { pattern: "flast+joined", count: 1 }, { pattern: "first.last+joined", count: 1 }];
    const folded = foldKnown(rows);
    expect(folded).toEqual([{ pattern: "first.last", count: 6 }, { pattern: "+hyphen", count: 2 }, { pattern: "flast", count: 1 }, { pattern: "+joined", count: 2 }].sort((a, b) => b.count - a.count));
    expect(foldKnown(folded)).toEqual(folded);
    for (const p of [jp, person("Ada", "Smith-Jones"), person("John", "Smith")]) expect(named(p, folded)).toEqual(named(p, rows));
    expect(confidence("first.last+hyphen", folded)).toBe(confidence("first.last+hyphen", rows));
  });

  it("leaves room for a provided address within a find's candidates", () => {
    expect(findCandidates(jp, "acme.com", [], "jp.dupont@acme.com")).toHaveLength(MAX_FIND_CANDIDATES);
  });

  it("keeps every candidate a dot-atom local part, and at most 15", () => {
    for (const p of [jp, person("Marie-Hélène", "García-López", "Anne-Sophie"), person("Jean - Luc", "Le Blanc")]) {
      const c = candidates(p, "acme.com");
      expect(c.length).toBeLessThanOrEqual(15);
      for (const x of c) expect(x.email).toMatch(/^[a-z0-9]+([._-]?[a-z0-9]+)*@acme\.com$/);
    }
  });
});

describe("patternOf", () => {
  // Letters chosen so that no two patterns make the same local part.
  const p = person("Zoë", "Müller-Schmidt", "Ann");
  it.each(PATTERNS.map((x) => x.name))("round-trips %s", (name) => {
    const known = [{ pattern: name, count: 2 }];
    const plain = person("Zoë", "Müllerson", "Ann");
    const first = candidates(plain, "acme.com", known)[0]!;
    expect(first.pattern).toBe(name);
    expect(patternOf(first.email, plain)).toBe(name);
    // A hyphenated surname's first candidate joins it (nothing says the domain keeps hyphens), and
    // says so where the hyphen would have changed the address.
    const pattern = PATTERNS.find((x) => x.name === name)!;
    const changes = pattern.make({ first: "zoe", middle: "ann", last: "mueller-schmidt" }) !== pattern.make({ first: "zoe", middle: "ann", last: "muellerschmidt" });
    const hyphenated = candidates(p, "acme.com", known)[0]!;
    expect(hyphenated.pattern).toBe(changes ? `${name}+joined` : name);
    expect(patternOf(hyphenated.email, p)).toBe(hyphenated.pattern);
  });

  it("says whether a compound name's hyphens were kept, only where they change the address", () => {
    const jp = person("Jean-Pierre", "Dupont");
    expect(patternOf("jean-pierre.dupont@acme.com", jp)).toBe("first.last+hyphen");
    expect(patternOf("jeanpierre.dupont@acme.com", jp)).toBe("first.last+joined");
    expect(patternOf("jdupont@acme.com", jp)).toBe("flast");
    expect(patternOf("ada.smith-jones@acme.com", person("Ada", "Smith-Jones"))).toBe("first.last+hyphen");
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

  it("counts a format's hyphen styles as the format", () => {
    expect(confidence("first.last+hyphen", [{ pattern: "first.last+hyphen", count: 2 }, { pattern: "first.last", count: 1 }])).toBe(confidence("first.last", [{ pattern: "first.last", count: 3 }]));
    expect(confidence("flast+joined", [{ pattern: "flast", count: 2 }, { pattern: "first.last+hyphen", count: 2 }])).toBe(confidence("flast", [{ pattern: "flast", count: 2 }, { pattern: "first.last", count: 2 }]));
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
