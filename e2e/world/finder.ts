// The finder benchmark's world (issue 14): company domains whose staff addresses follow one
// pattern each, as an admin set them up, with the truth of who has which address. The spelling
// rules here are the world's own (an admin's, written from the names), not core/finder's, so the
// finder is measured against something it did not compute.
import { ACCEPT, GREYLISTED, greylisting, UNKNOWN, type HostScript } from "./smtp.ts";

export interface FinderOptions {
  domains: number;
  seed: number;
  /** Employees per domain, drawn between these (default 10–20). */
  employees?: [min: number, max: number];
  /** Share of domains that accept every RCPT (default 0.15). */
  catchAllShare?: number;
  /** Share of domains behind Postgrey-like greylisting (default 0.1). */
  greylistShare?: number;
  /**
   * Share of staff given a compound first name (Jean-Pierre, Mary-Ann), and share of domains whose
   * admin keeps a name's hyphens (jean-pierre.dupont, not jeanpierre.dupont); both 0 by default.
   * Drawn from a stream of their own: the domains, their patterns and the rest of the staff are
   * the ones the seed makes without them.
   */
  compoundShare?: number;
  keepHyphensShare?: number;
}

export type FinderBehaviour = "refuses" | "catch_all" | "greylisting";

export interface FinderDomain {
  name: string;
  host: string;
  /** The domain's address pattern; "last.f" and "f-last" are ones the finder does not generate. */
  pattern: string;
  behaviour: FinderBehaviour;
  /** Its addresses keep the hyphens of compound names. */
  keepsHyphens: boolean;
}

export interface FinderPerson {
  first: string;
  last: string;
  domain: string;
  /** The person's real mailbox. */
  email: string;
}

export interface FinderWorld {
  domains: FinderDomain[];
  /** Each domain's staff in turn, in the order they were hired (drawn). */
  people: FinderPerson[];
}

export interface FinderEnv {
  rand: () => number;
  /** The stream compound names and hyphen keeping are drawn from. */
  styleRand: () => number;
  greylistDelayMs: number;
  addHost: (script: HostScript) => HostScript;
  mxDomain: (domain: string, mx: { preference: number; host: HostScript }[]) => void;
}

const FIRST = [
  "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
  "William", "Susan", "Sarah", "Thomas", "Emma", "Oliver", "Sophie", "Lucas", "Mia", "Noah",
  "Daniel", "Laura", "Peter", "Anna", "Mark", "Julia", "Paul", "Karen", "Steven", "Nancy",
  "Zoë", "José", "Søren", "Łukasz", "François", "Anne-Marie", "Chloé", "Björn", "Jürgen", "Renée",
  "Siobhán", "Priya", "Jean-Luc", "Günther", "Inês", "Mateo", "Aisha", "Hiroshi",
];
const COMPOUND_FIRST = ["Jean-Pierre", "Mary-Ann", "Anne-Sophie", "Marie-Claire", "Hans-Peter", "Jean-Baptiste", "Karl-Heinz", "Ann-Kathrin", "Marie-Hélène", "Lise-Lotte"];
const LAST = [
  "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Anderson",
  "Moore", "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
  "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Evans",
  "Müller", "Schröder", "O'Brien", "O'Connor", "van der Berg", "de la Cruz", "García-López", "Smith-Jones",
  "Núñez", "Kowalski", "Dvořák", "Østergaard", "Weiß", "D'Angelo", "MacDonald", "Nakamura", "von Braun", "Le Blanc",
];

// How an admin types a name into an address: accents dropped, German umlauts as "ae" or as the
// bare vowel (one choice per company), ß as ss, spaces and apostrophes left out, and hyphens too
// unless the company keeps them.
const ACCENTS: Record<string, string> = {
  á: "a", à: "a", â: "a", å: "a", é: "e", è: "e", ê: "e", ë: "e", í: "i", î: "i", ó: "o", ô: "o",
  ú: "u", ñ: "n", ç: "c", ø: "o", ł: "l", ř: "r", ß: "ss",
};
const UMLAUTS: Record<string, [e: string, bare: string]> = { ä: ["ae", "a"], ö: ["oe", "o"], ü: ["ue", "u"] };

export function adminSpelling(name: string, umlautE: boolean, keepHyphens = false): string {
  return [...name.toLowerCase()]
    .map((c) => (UMLAUTS[c] ? UMLAUTS[c][umlautE ? 0 : 1] : (ACCENTS[c] ?? c)))
    .join("")
    .replace(keepHyphens ? /[^a-z0-9-]/g : /[^a-z0-9]/g, "");
}

type Make = (f: string, l: string) => string;
/** Patterns with roughly the shares companies use them (the last two are unknown to the finder). */
const WORLD_PATTERNS: [name: string, weight: number, make: Make][] = [
  ["first.last", 40, (f, l) => `${f}.${l}`],
  ["flast", 20, (f, l) => `${f[0]}${l}`],
  ["first", 10, (f) => f],
  ["firstlast", 7, (f, l) => `${f}${l}`],
  ["f.last", 5, (f, l) => `${f[0]}.${l}`],
  ["firstl", 3, (f, l) => `${f}${l[0]}`],
  ["first_last", 3, (f, l) => `${f}_${l}`],
  ["last", 2, (_, l) => l],
  ["last.first", 1.5, (f, l) => `${l}.${f}`],
  ["first-last", 1, (f, l) => `${f}-${l}`],
  ["lastf", 1, (f, l) => `${l}${f[0]}`],
  ["first.l", 1, (f, l) => `${f}.${l[0]}`],
  ["last.f", 3, (f, l) => `${l}.${f[0]}`],
  ["f-last", 2, (f, l) => `${f[0]}-${l}`],
];
const TOTAL_WEIGHT = WORLD_PATTERNS.reduce((s, p) => s + p[1], 0);

/** The finder world's domains on hosts at 127.3.x.y (clear of the other worlds' addresses). */
export function addFinderWorld(opts: FinderOptions, env: FinderEnv): FinderWorld {
  const { rand } = env;
  const [minStaff, maxStaff] = opts.employees ?? [10, 20];
  const catchAll = opts.catchAllShare ?? 0.15;
  const grey = opts.greylistShare ?? 0.1;
  const pick = <T>(xs: readonly T[], from = rand) => xs[Math.floor(from() * xs.length)]!;
  const compound = opts.compoundShare ?? 0;
  const keepShare = opts.keepHyphensShare ?? 0;
  const world: FinderWorld = { domains: [], people: [] };
  for (let d = 0; d < opts.domains; d++) {
    const name = `co${d}-${Math.floor(rand() * 1e6).toString(36)}.test`;
    let w = rand() * TOTAL_WEIGHT;
    const [pattern, , make] = WORLD_PATTERNS.find((p) => (w -= p[1]) < 0) ?? WORLD_PATTERNS[0]!;
    const r = rand();
    const behaviour: FinderBehaviour = r < catchAll ? "catch_all" : r < catchAll + grey ? "greylisting" : "refuses";
    const umlautE = rand() < 0.7;
    const keepsHyphens = keepShare > 0 && env.styleRand() < keepShare;
    const staff = minStaff + Math.floor(rand() * (maxStaff - minStaff + 1));
    const boxes = new Set<string>();
    // The draws as they would be without compound names or kept hyphens: they pace the main
    // stream, so those options change no other part of the world.
    const drawnBoxes = new Set<string>();
    for (let tries = 0; drawnBoxes.size < staff && tries < staff * 20; tries++) {
      const drawn = pick(FIRST);
      const last = pick(LAST);
      const drawnLocal = make(adminSpelling(drawn, umlautE), adminSpelling(last, umlautE));
      if (drawnBoxes.has(drawnLocal)) continue; // two Johns on a "first" domain: the admin gives the second another address
      drawnBoxes.add(drawnLocal);
      const first = compound > 0 && env.styleRand() < compound ? pick(COMPOUND_FIRST, env.styleRand) : drawn;
      const local = make(adminSpelling(first, umlautE, keepsHyphens), adminSpelling(last, umlautE, keepsHyphens));
      if (boxes.has(local)) continue; // a second Jean-Pierre on a "first" domain: left out
      boxes.add(local);
      world.people.push({ first, last, domain: name, email: `${local}@${name}` });
    }
    const mailboxes = (address: string) => (boxes.has(address.slice(0, address.lastIndexOf("@")).toLowerCase()) ? ACCEPT : UNKNOWN(address));
    const rcpt = behaviour === "catch_all" ? () => ACCEPT : behaviour === "greylisting" ? greylisting(env.greylistDelayMs, mailboxes, () => GREYLISTED) : mailboxes;
    const host = env.addHost({
      name: `mx.${name}`,
      ip: `127.3.${Math.floor(d / 250)}.${1 + (d % 250)}`,
      mode: "up",
      rcpt,
      errorLimits: { soft: 10, hard: 20, delayMs: 1000 }, // Postfix's defaults
    });
    env.mxDomain(name, [{ preference: 10, host }]);
    world.domains.push({ name, host: host.name, pattern, behaviour, keepsHyphens });
  }
  return world;
}
