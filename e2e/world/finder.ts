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
}

export type FinderBehaviour = "refuses" | "catch_all" | "greylisting";

export interface FinderDomain {
  name: string;
  host: string;
  /** The domain's address pattern; "last.f" and "f-last" are ones the finder does not generate. */
  pattern: string;
  behaviour: FinderBehaviour;
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
const LAST = [
  "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Anderson",
  "Moore", "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
  "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Evans",
  "Müller", "Schröder", "O'Brien", "O'Connor", "van der Berg", "de la Cruz", "García-López", "Smith-Jones",
  "Núñez", "Kowalski", "Dvořák", "Østergaard", "Weiß", "D'Angelo", "MacDonald", "Nakamura", "von Braun", "Le Blanc",
];

// How an admin types a name into an address: accents dropped, German umlauts as "ae" or as the
// bare vowel (one choice per company), ß as ss, spaces, hyphens and apostrophes left out.
const ACCENTS: Record<string, string> = {
  á: "a", à: "a", â: "a", å: "a", é: "e", è: "e", ê: "e", ë: "e", í: "i", î: "i", ó: "o", ô: "o",
  ú: "u", ñ: "n", ç: "c", ø: "o", ł: "l", ř: "r", ß: "ss",
};
const UMLAUTS: Record<string, [e: string, bare: string]> = { ä: ["ae", "a"], ö: ["oe", "o"], ü: ["ue", "u"] };

export function adminSpelling(name: string, umlautE: boolean): string {
  return [...name.toLowerCase()]
    .map((c) => (UMLAUTS[c] ? UMLAUTS[c][umlautE ? 0 : 1] : (ACCENTS[c] ?? c)))
    .join("")
    .replace(/[^a-z0-9]/g, "");
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
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const world: FinderWorld = { domains: [], people: [] };
  for (let d = 0; d < opts.domains; d++) {
    const name = `co${d}-${Math.floor(rand() * 1e6).toString(36)}.test`;
    let w = rand() * TOTAL_WEIGHT;
    const [pattern, , make] = WORLD_PATTERNS.find((p) => (w -= p[1]) < 0) ?? WORLD_PATTERNS[0]!;
    const r = rand();
    const behaviour: FinderBehaviour = r < catchAll ? "catch_all" : r < catchAll + grey ? "greylisting" : "refuses";
    const umlautE = rand() < 0.7;
    const staff = minStaff + Math.floor(rand() * (maxStaff - minStaff + 1));
    const boxes = new Set<string>();
    for (let tries = 0; boxes.size < staff && tries < staff * 20; tries++) {
      const first = pick(FIRST);
      const last = pick(LAST);
      const local = make(adminSpelling(first, umlautE), adminSpelling(last, umlautE));
      if (boxes.has(local)) continue; // two Johns on a "first" domain: the admin gives the second another address
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
    world.domains.push({ name, host: host.name, pattern, behaviour });
  }
  return world;
}
