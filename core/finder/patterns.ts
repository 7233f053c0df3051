// The pattern engine for finding an address (issue 14): input checks, the common corporate
// local-part patterns with how often each is used, candidates ordered by what a domain is known
// to use, the reverse (which pattern made a verified address), and a catch-all confidence.
// A compound name (Jean-Pierre, Smith-Jones) is tried joined and with its hyphens kept, side by
// side, in the order the domain is known to write them; those two candidates' pattern names say
// which it was ("first.last+joined", "first.last+hyphen"), so learning a pattern learns that too.

import { parseAddress } from "../address.ts";
// Types only from contracts: evaluating its zod schemas here, before @hono/zod-openapi extends
// zod in the Worker, would leave them without .openapi.
import type { FindCandidate } from "../contracts.ts";
import { addressScope } from "../netaddr.ts";
import { cleanPart, mailName, nameProblem, splitFullName, type MailName, type Person } from "./names.ts";

export type { Person } from "./names.ts";

/** A spelling of a name; `hyphened` is the same with a compound name's hyphens kept, when that differs. */
type Parts = { first: string; last: string; middle: string; hyphened?: { first: string; last: string } };
export type Pattern = { name: string; prior: number; make: (n: Parts) => string | null };

const i = (s: string) => s.slice(0, 1);

/**
 * Share of companies using each format, rounded, from public surveys of corporate email formats
 * (Hunter's and Email Format's published format counts, sales-tool blog write-ups): first.last
 * leads by far, flast next, then first, firstlast, f.last… The order matters more than the
 * figures; `confidence` scales them. Listed most likely first; this order breaks count ties.
 */
export const PATTERNS: readonly Pattern[] = [
  { name: "first.last", prior: 0.4, make: (n) => `${n.first}.${n.last}` },
  { name: "flast", prior: 0.2, make: (n) => `${i(n.first)}${n.last}` },
  { name: "first", prior: 0.1, make: (n) => n.first },
  { name: "firstlast", prior: 0.07, make: (n) => `${n.first}${n.last}` },
  { name: "f.last", prior: 0.05, make: (n) => `${i(n.first)}.${n.last}` },
  { name: "firstl", prior: 0.03, make: (n) => `${n.first}${i(n.last)}` },
  { name: "first_last", prior: 0.03, make: (n) => `${n.first}_${n.last}` },
  { name: "last", prior: 0.02, make: (n) => n.last },
  { name: "last.first", prior: 0.015, make: (n) => `${n.last}.${n.first}` },
  { name: "first.m.last", prior: 0.01, make: (n) => (n.middle ? `${n.first}.${i(n.middle)}.${n.last}` : null) },
  { name: "first-last", prior: 0.01, make: (n) => `${n.first}-${n.last}` },
  { name: "lastf", prior: 0.01, make: (n) => `${n.last}${i(n.first)}` },
  { name: "first.l", prior: 0.01, make: (n) => `${n.first}.${i(n.last)}` },
  { name: "lastfirst", prior: 0.005, make: (n) => `${n.last}${n.first}` },
  { name: "f_last", prior: 0.005, make: (n) => `${i(n.first)}_${n.last}` },
  { name: "fl", prior: 0.005, make: (n) => `${i(n.first)}${i(n.last)}` },
];

const BY_NAME = new Map(PATTERNS.map((p) => [p.name, p]));

export type FindInput = { first_name?: string; last_name?: string; full_name?: string; domain?: string };
export type FindField = "first_name" | "last_name" | "full_name" | "domain";
export type FindRule = "missing" | "too_long" | "no_letters" | "not_latin" | "not_a_domain" | "ip_literal" | "localhost";
export type ParsedFind =
  | { ok: true; person: Person; domain: string }
  | { ok: false; code: "validation_failed"; field: FindField; rule: FindRule; message: string };

/**
 * One line of a pasted list of people: a full name and a domain (or website, or an address of
 * the company), split at the last comma, tab or semicolon, else before a last word with a dot:
 * "Ada Lovelace, example.com", "Ada Lovelace\thttps://example.com", "Ada Lovelace example.com".
 * A line with no domain keeps it empty, for the finder to refuse with its usual reason.
 */
export function personFromLine(line: string): { full_name: string; domain: string } {
  const text = line.trim();
  const cut = Math.max(text.lastIndexOf(","), text.lastIndexOf("\t"), text.lastIndexOf(";"));
  if (cut >= 0) return { full_name: text.slice(0, cut).trim(), domain: text.slice(cut + 1).trim() };
  const words = text.split(/\s+/);
  const last = words.at(-1) ?? "";
  // A dot between letters: "example.com", not the "Jr." of a name.
  if (words.length > 1 && /\w\.\w/.test(last)) return { full_name: words.slice(0, -1).join(" "), domain: last };
  return { full_name: text, domain: "" };
}

// Longer than any real name; keeps the variant count (and the work) small.
const MAX_NAME = 100;
const MAX_DOMAIN_INPUT = 2048;

const refuse = (field: FindField, rule: FindRule, message: string): ParsedFind => ({ ok: false, code: "validation_failed", field, rule, message });

/**
 * A bare domain, an address's domain, or a company website URL → the mail domain as A-labels
 * ("https://www.Bücher.de/x" → "xn--bcher-kva.de"), or why it is not one.
 */
export function companyDomain(raw: string): string | { rule: FindRule; message: string } {
  const s = raw.trim();
  if (s === "") return { rule: "missing", message: "A domain or company website is required" };
  if (s.length > MAX_DOMAIN_INPUT) return { rule: "too_long", message: "The domain is too long" };
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
  const at = s.lastIndexOf("@");
  const hostPart = !hasScheme && at >= 0 ? s.slice(at + 1) : s;
  let host: string;
  try {
    // WHATWG URL lowercases, applies UTS-46 and Punycode, and drops the path, port and query.
    host = new URL(hasScheme ? hostPart : `http://${hostPart}`).hostname;
  } catch {
    return { rule: "not_a_domain", message: `"${s}" is not a domain or website` };
  }
  host = host.replace(/\.+$/, "");
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (addressScope(bare) !== "invalid") return { rule: "ip_literal", message: "Give the company's domain, not an IP address" };
  if (host === "localhost" || host.endsWith(".localhost")) return { rule: "localhost", message: "localhost is not a company domain" };
  // "www.acme.com" receives no mail; "www.com" keeps its www.
  if (host.startsWith("www.") && host.slice(4).includes(".")) host = host.slice(4);
  if (!host.includes(".")) return { rule: "not_a_domain", message: `"${host}" needs a dot, as in acme.com` };
  const check = parseAddress(`postmaster@${host}`);
  if (!check.ok) return { rule: "not_a_domain", message: `"${host}" is not a mail domain: ${check.detail}` };
  return check.domain;
}

function checkName(field: FindField, value: string): ParsedFind | null {
  if (value.length > MAX_NAME) return refuse(field, "too_long", `The name is longer than ${MAX_NAME} characters`);
  const problem = nameProblem(value);
  if (problem === "no_letters") return refuse(field, problem, "The name has no letters");
  if (problem === "not_latin") return refuse(field, problem, "The name has no Latin spelling; give it in Latin letters (e.g. its romanisation)");
  return null;
}

/** The finder's input: first_name + last_name, or else full_name, and a domain. */
export function parsePerson(input: FindInput): ParsedFind {
  let person: Person;
  const fromFull = input.first_name === undefined && input.last_name === undefined;
  if (!fromFull) {
    const first = cleanPart(input.first_name ?? "");
    const last = cleanPart(input.last_name ?? "");
    if (first === "") return refuse("first_name", "missing", "first_name is required with last_name");
    if (last === "") return refuse("last_name", "missing", "last_name is required with first_name");
    person = { first, middle: "", last };
  } else {
    const full = input.full_name ?? "";
    if (full.length > 3 * MAX_NAME) return refuse("full_name", "too_long", "The name is too long");
    const split = splitFullName(full);
    // One word: say why it cannot be used when it cannot (李小龍), else that a surname is missing.
    if (!split) return (full.trim() ? checkName("full_name", full) : null) ?? refuse("full_name", "missing", "Give first_name and last_name, or a full_name with both");
    person = split;
  }
  const bad = checkName(fromFull ? "full_name" : "first_name", person.first) ?? checkName(fromFull ? "full_name" : "last_name", person.last);
  if (bad) return bad;
  // A middle name that cannot be spelled only loses first.m.last; it does not refuse the person.
  if (person.middle && nameProblem(person.middle)) person = { ...person, middle: "" };
  const domain = companyDomain(input.domain ?? "");
  if (typeof domain !== "string") return refuse("domain", domain.rule, domain.message);
  return { ok: true, person, domain };
}

export type Known = { pattern: string; count: number }[];
export type Candidate = { email: string; pattern: string; prior: number };

/** A pattern's name for a compound name's candidate with its hyphens kept, and with them joined. */
const HYPHEN_KEPT = "+hyphen";
const HYPHEN_JOINED = "+joined";
/** The format a learned pattern names: "first.last+hyphen" is first.last; a bare "+hyphen" row names none. */
const formatOf = (pattern: string) => pattern.split("+", 1)[0]!;

/**
 * What a domain's learned rows say: each format's count (its hyphen styles summed), their total,
 * and whether compound names were found with their hyphens kept more often than joined.
 */
type ReadKnown = { counts: Map<string, number>; total: number; keepsHyphens: boolean };
function readKnown(known: Known): ReadKnown {
  const counts = new Map<string, number>();
  let total = 0;
  let kept = 0;
  let joined = 0;
  for (const { pattern, count } of known) {
    if (pattern.endsWith(HYPHEN_KEPT)) kept += count;
    if (pattern.endsWith(HYPHEN_JOINED)) joined += count;
    const format = formatOf(pattern);
    if (format === "") continue;
    counts.set(format, (counts.get(format) ?? 0) + count);
    total += count;
  }
  return { counts, total, keepsHyphens: kept > joined };
}

/**
 * A domain's learned rows as few: one per format, and one per hyphen style ("+hyphen", "+joined"),
 * which read the same (a batch carries at most 32 per domain).
 */
export function foldKnown(known: Known): Known {
  const { counts } = readKnown(known);
  const style = (suffix: string) => known.reduce((n, k) => n + (k.pattern.endsWith(suffix) ? k.count : 0), 0);
  const styles = [HYPHEN_KEPT, HYPHEN_JOINED].map((pattern) => ({ pattern, count: style(pattern) })).filter((k) => k.count > 0);
  return [...[...counts].map(([pattern, count]) => ({ pattern, count })), ...styles].sort((a, b) => b.count - a.count);
}

/** Every spelling of the name: the main one first, then the variants (other umlaut forms, surname parts). */
function spellingsOf(n: MailName): Parts[] {
  return n.first.flatMap((first, f) =>
    n.last.map((last, l) => {
      const hyphened = n.hyphened && { first: n.hyphened.first[f]!, last: n.hyphened.last[l]! };
      return { first, last, middle: n.middle, ...(hyphened && (hyphened.first !== first || hyphened.last !== last) ? { hyphened } : {}) };
    }),
  );
}

/**
 * A pattern's local parts for a spelling, with their pattern names: one, or for a compound name
 * whose hyphens change it, the joined and the hyphened side by side, in the domain's order.
 */
function localsOf(p: Pattern, s: Parts, keepsHyphens: boolean): [local: string, pattern: string][] {
  const joined = p.make(s);
  if (joined === null) return [];
  const hyphened = s.hyphened ? p.make({ ...s, ...s.hyphened }) : null;
  if (hyphened === null || hyphened === joined) return [[joined, p.name]];
  const both: [string, string][] = [[joined, p.name + HYPHEN_JOINED], [hyphened, p.name + HYPHEN_KEPT]];
  return keepsHyphens ? both.reverse() : both;
}

/** A domain's known patterns that should be tried before anything else: seen twice, or most of what it uses. */
function dominant(counts: Map<string, number>, total: number): Set<string> {
  return new Set([...counts].filter(([, count]) => count > 0 && (count >= 2 || count >= 0.6 * total)).map(([format]) => format));
}

/** Known patterns by count (ties by prior), then the rest by prior. */
function rank({ counts, total }: ReadKnown): { dominant: Pattern[]; rest: Pattern[] } {
  const top = dominant(counts, total);
  const seen = (p: Pattern) => Math.max(0, counts.get(p.name) ?? 0);
  const order = [...PATTERNS].sort((a, b) => seen(b) - seen(a));
  return { dominant: order.filter((p) => top.has(p.name)), rest: order.filter((p) => !top.has(p.name)) };
}

/**
 * The addresses to try for a person, most likely first. A domain's dominant patterns come first
 * with all their spellings (a domain known to use first.last makes zoe.muller likelier than
 * zmueller); then the main spelling of every other pattern; then their variants. The first
 * candidate is the known pattern's, so a known domain costs about one RCPT per person. A compound
 * name's hyphened candidate sits beside its joined one: first where the domain's finds kept
 * hyphens more often than they joined them, else second (joined is what an admin's tools make of
 * most names), and such a name gets 15 candidates instead of 12. A name without a hyphen gets
 * exactly the candidates it always did.
 */
export function candidates(person: Person, domain: string, known: Known = [], opts: { max?: number } = {}): Candidate[] {
  const name = mailName(person);
  // A compound name's hyphened forms get room of their own, three more, so that they do not push
  // out the rarer formats a plain name is tried with (bench:finder: with 12, people with a
  // hyphenated name were found less often where no domain keeps hyphens); 15 leaves a find's
  // 16th for a provided address.
  const max = opts.max ?? (name.hyphened ? 15 : 12);
  const spellings = spellingsOf(name);
  const read = readKnown(known);
  const { dominant: top, rest } = rank(read);
  const order: [Pattern, Parts][] = [
    ...top.flatMap((p) => spellings.map((s): [Pattern, Parts] => [p, s])),
    ...rest.map((p): [Pattern, Parts] => [p, spellings[0]!]),
    ...rest.flatMap((p) => spellings.slice(1).map((s): [Pattern, Parts] => [p, s])),
  ];
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const [p, s] of order) {
    for (const [local, pattern] of localsOf(p, s, read.keepsHyphens)) {
      if (out.length >= max) return out;
      const parsed = parseAddress(`${local}@${domain}`);
      // Duplicates (flast and firstlast for "J Smith") keep the earlier, likelier pattern.
      if (!parsed.ok || seen.has(parsed.normalized)) continue;
      seen.add(parsed.normalized);
      out.push({ email: parsed.normalized, pattern, prior: p.prior });
    }
  }
  return out;
}

/**
 * Whether some pattern makes an address for this person at this domain: `candidates` without
 * making them (a list's ingest asks this of every row). Local parts are letters and digits, so
 * only length can refuse one, and the shortest a pattern makes is the first name, the last
 * name, or their initials.
 */
export function spellable(person: Person, domain: string): boolean {
  const { first: [first], last: [last] } = mailName(person);
  if (first === undefined || last === undefined) return false;
  const shortest = [first, last, `${i(first)}${i(last)}`].reduce((a, b) => (b.length < a.length ? b : a));
  return parseAddress(`${shortest}@${domain}`).ok;
}

/** The pattern name of an address another source gave that no pattern of ours makes. */
export const PROVIDED_PATTERN = "provided";
/** A provided address's likelihood on a catch-all domain when no pattern explains it: first.last alone's. */
const PROVIDED_CONFIDENCE = 50;

/**
 * A person's candidates as a probe gets them: each with how likely it is on a catch-all domain.
 * An address another source gave for the person (a people-data provider's) is asked first: it is
 * tried, never trusted. One on another domain, or not an address, is left out.
 */
export function findCandidates(person: Person, domain: string, known: Known = [], provided?: string | null): FindCandidate[] {
  const list = candidates(person, domain, known).map((c) => ({ email: c.email, pattern: c.pattern, confidence: confidence(c.pattern, known) }));
  const given = provided ? parseAddress(provided.trim()) : null;
  if (!given?.ok || given.domain !== domain) return list;
  const pattern = patternOf(given.normalized, person);
  const first = { email: given.normalized, pattern: pattern ?? PROVIDED_PATTERN, confidence: Math.max(PROVIDED_CONFIDENCE, pattern ? confidence(pattern, known) : 0) };
  // 15 candidates at most (a compound name's), and this one: within MAX_FIND_CANDIDATES (16).
  return [first, ...list.filter((c) => c.email !== first.email)];
}

/**
 * Which pattern made this verified address for this person (the likeliest when several do), or
 * null; for a compound name, with whether its hyphens were kept ("first.last+hyphen").
 */
export function patternOf(email: string, person: Person): string | null {
  const local = email.slice(0, email.lastIndexOf("@")).toLowerCase();
  const spellings = spellingsOf(mailName(person));
  for (const p of PATTERNS) {
    for (const s of spellings) {
      const made = localsOf(p, s, false).find(([candidate]) => candidate === local);
      if (made) return made[1];
    }
  }
  return null;
}

/**
 * 0–100: how likely an address of this pattern is right when the server cannot tell (catch-all).
 * A known pattern earns up to 95 by its share of the domain's addresses and how often it was
 * seen; otherwise the prior, scaled so first.last alone is 50, and lower still when the domain is
 * known to use something else.
 */
export function confidence(pattern: string, known: Known = []): number {
  const p = BY_NAME.get(formatOf(pattern));
  if (!p) return 0;
  const { counts } = readKnown(known);
  const total = [...counts.values()].reduce((s, n) => s + Math.max(0, n), 0);
  const count = Math.max(0, counts.get(p.name) ?? 0);
  const fromPrior = (50 * p.prior) / PATTERNS[0]!.prior / (1 + (total - count));
  if (count === 0) return Math.round(fromPrior);
  const evidence = 1 - 0.5 ** count;
  return Math.round(Math.max(fromPrior, 50 + 45 * (count / total) * evidence));
}
