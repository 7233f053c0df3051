// Inside workerd, against the real sqld: a domain's address format is learned as pattern counts
// (never the addresses) and orders the next person's candidates.
import { describe, expect, it } from "vitest";
import { candidates, parsePerson } from "../../core/finder/patterns.ts";
import { domainPatterns } from "../../db/schema.ts";
import { testDb as db } from "../testing.ts";
import { knownPatterns, learnPattern } from "./domainpatterns.ts";

const person = (first_name: string, last_name: string, domain: string) => {
  const parsed = parsePerson({ first_name, last_name, domain });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed;
};

describe("domain patterns", () => {
  it("counts the pattern of each verified address, and the next person's first candidate is that pattern", async () => {
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.test`;
    const jane = person("Jane", "Doe", domain);
    expect(await learnPattern(db(), `jdoe@${domain}`, jane.person, 1_000)).toBe("flast");
    const bob = person("Bob", "Martin", domain);
    expect(await learnPattern(db(), `BMartin@${domain.toUpperCase()}`, bob.person, 2_000)).toBe("flast");
    expect(await learnPattern(db(), `jane.doe@${domain}`, jane.person, 3_000)).toBe("first.last");
    expect(await learnPattern(db(), `sales@${domain}`, jane.person)).toBeNull();

    const known = await knownPatterns(db(), domain);
    expect(known).toEqual([{ pattern: "flast", count: 2 }, { pattern: "first.last", count: 1 }]);
    // Only names and counts are kept: no address reaches the table.
    const rows = await db().select().from(domainPatterns);
    expect(rows.filter((r) => r.domain === domain).map((r) => Object.values(r).join(" ")).join("\n")).not.toMatch(/@|jdoe|bmartin/);

    const ann = person("Ann", "Lee", domain);
    expect(candidates(ann.person, ann.domain, known)[0]).toMatchObject({ email: `alee@${domain}`, pattern: "flast" });
    expect(candidates(ann.person, ann.domain)[0]).toMatchObject({ email: `ann.lee@${domain}`, pattern: "first.last" });
  });

  it("learns whether compound names keep their hyphens, and the next one's hyphenated form goes first", async () => {
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.test`;
    const jp = person("Jean-Pierre", "Dupont", domain);
    expect(await learnPattern(db(), `jean-pierre.dupont@${domain}`, jp.person)).toBe("first.last+hyphen");
    expect(await learnPattern(db(), `ada.lee@${domain}`, person("Ada", "Lee", domain).person)).toBe("first.last");
    // One row per format and one per hyphen style, however the rows were learned.
    expect(await knownPatterns(db(), domain)).toEqual([{ pattern: "first.last", count: 2 }, { pattern: "+hyphen", count: 1 }]);
    const ma = person("Mary-Ann", "Smith-Jones", domain);
    expect(candidates(ma.person, ma.domain, await knownPatterns(db(), domain)).slice(0, 2)).toMatchObject([
      { email: `mary-ann.smith-jones@${domain}`, pattern: "first.last+hyphen" },
      { email: `maryann.smithjones@${domain}`, pattern: "first.last+joined" },
    ]);
    expect(candidates(ma.person, ma.domain)[0]).toMatchObject({ email: `maryann.smithjones@${domain}`, pattern: "first.last+joined" });
  });
});
