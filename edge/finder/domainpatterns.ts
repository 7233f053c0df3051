// The finder's memory of each domain's address format (issue 14): when an address is verified
// deliverable on a domain that is not catch-all, the pattern that made it is counted there, so
// the next person at that domain is tried with that pattern first (core/finder/patterns.ts). A
// compound name's pattern also says whether its hyphens were kept ("first.last+hyphen"); reads
// fold those rows into one per format and one per hyphen style (core foldKnown).
import { eq, inArray, sql } from "drizzle-orm";
import { foldKnown, patternOf, type Known, type Person } from "../../core/finder/patterns.ts";
import { domainPatterns } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";

/** Patterns known for a domain, most used first. */
export async function knownPatterns(db: EdgeDb, domain: string): Promise<Known> {
  const rows = await db
    .select({ pattern: domainPatterns.pattern, count: domainPatterns.count })
    .from(domainPatterns)
    .where(eq(domainPatterns.domain, domain.toLowerCase()));
  return foldKnown(rows);
}

/** Rows of domains per read: well under SQLite's variable limit. */
const DOMAINS_PER_READ = 500;

/** Patterns known for each of many domains (a find batch's), most used first, in one read per 500 domains. */
export async function knownPatternsFor(db: EdgeDb, domains: string[]): Promise<Map<string, Known>> {
  const wanted = [...new Set(domains.map((d) => d.toLowerCase()))];
  const known = new Map<string, Known>(wanted.map((d) => [d, []]));
  for (let i = 0; i < wanted.length; i += DOMAINS_PER_READ) {
    const rows = await db
      .select({ domain: domainPatterns.domain, pattern: domainPatterns.pattern, count: domainPatterns.count })
      .from(domainPatterns)
      .where(inArray(domainPatterns.domain, wanted.slice(i, i + DOMAINS_PER_READ)));
    for (const { domain, ...k } of rows) known.get(domain)!.push(k);
  }
  for (const [domain, list] of known) known.set(domain, foldKnown(list));
  return known;
}

/**
 * Counts the pattern of a deliverable address found for this person; returns it, or null when no
 * pattern makes it (then nothing is learned). Catch-all domains accept any address, so callers
 * learn only from domains that are not.
 */
export async function learnPattern(db: EdgeDb, email: string, person: Person, now = Date.now()): Promise<string | null> {
  const pattern = patternOf(email, person);
  if (pattern === null) return null;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  await db
    .insert(domainPatterns)
    .values({ domain, pattern, count: 1, updatedAt: now })
    .onConflictDoUpdate({ target: [domainPatterns.domain, domainPatterns.pattern], set: { count: sql`${domainPatterns.count} + 1`, updatedAt: now } });
  return pattern;
}
