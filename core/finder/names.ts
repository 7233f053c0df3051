// People's names as mail systems spell them (issue 14): split a full name, then fold each part to
// the ASCII letters and digits a corporate local part is made of, with the variants an admin may
// have chosen (Müller as mueller or muller, Garcia-Lopez as garcialopez, garcia or lopez), and a
// compound name's hyphens kept beside each spelling (Jean-Pierre as jeanpierre or jean-pierre;
// a hyphen is an atext character, so it may stand in a dot-atom local part, RFC 5322 §3.2.3).

/** A person's name as given, honorifics and suffixes removed. `middle` is "" when there is none. */
export type Person = { first: string; middle: string; last: string };

/**
 * The name folded for local parts; index 0 of each list is the main form, the rest are variants.
 * `hyphened`, only for a name with a hyphen, holds each spelling with its hyphens kept, index for
 * index (the same as the joined one where that spelling has none).
 */
export type MailName = { first: string[]; middle: string; last: string[]; hyphened?: { first: string[]; last: string[] } };

// Surname particles: "Ludwig van Beethoven" is Beethoven's first name Ludwig, not Ludwig van's.
const PARTICLES = new Set(["van", "von", "der", "den", "de", "da", "das", "di", "do", "dos", "du", "del", "della", "la", "le", "ten", "ter", "bin", "al"]);
const HONORIFICS = /^(mr|mrs|ms|miss|mx|dr|prof)\.?$/i;
const SUFFIXES = /^(jr|sr|ii|iii|iv|ph\.?d|esq)\.?$/i;

const words = (s: string) => s.split(/\s+/).filter((w) => w !== "");

/** Drops leading honorifics and any suffix token ("Dr. Jane A. Doe Jr." → Jane A. Doe). */
function cleanTokens(tokens: string[]): string[] {
  let start = 0;
  while (start < tokens.length - 1 && HONORIFICS.test(tokens[start]!)) start++;
  return tokens.slice(start).filter((t) => !SUFFIXES.test(t));
}

/** A field given on its own (first_name or last_name), cleaned the same way as a full name's parts. */
export const cleanPart = (s: string) => cleanTokens(words(s.normalize("NFC"))).join(" ");

/**
 * "Jane A. Doe", "Doe, Jane A." or "Ludwig van Beethoven" → first / middle / last. The surname is
 * the last word plus the particles just before it; null when fewer than two names remain.
 */
export function splitFullName(full: string): Person | null {
  // A comma after a suffix ("John Smith, Jr.") is not "Last, First": drop suffixes first.
  const segments = full
    .normalize("NFC")
    .split(",")
    .map((seg) => cleanTokens(words(seg)))
    .filter((seg) => seg.length > 0);
  if (segments.length === 2) {
    const [last, given] = segments as [string[], string[]];
    return { first: given[0]!, middle: given.slice(1).join(" "), last: last.join(" ") };
  }
  const tokens = segments.flat();
  if (tokens.length < 2) return null;
  let lastStart = tokens.length - 1;
  while (lastStart > 1 && PARTICLES.has(tokens[lastStart - 1]!.toLowerCase())) lastStart--;
  return { first: tokens[0]!, middle: tokens.slice(1, lastStart).join(" "), last: tokens.slice(lastStart).join(" ") };
}

// Letters NFKD does not decompose into a base letter and a mark.
const LETTERS: Record<string, string> = { ß: "ss", æ: "ae", œ: "oe", ø: "o", ł: "l", đ: "d", ð: "d", þ: "th", ı: "i" };
const UMLAUT_E: Record<string, string> = { ä: "ae", ö: "oe", ü: "ue" };

/** A spelling's hyphens, one between two letters at most, none at either end. */
const tidyHyphens = (s: string) => s.replace(/-{2,}/g, "-").replace(/^-|-$/g, "");

/** One spelling in ASCII: German umlauts as "ae" (`umlautE`) or as the bare vowel; with `hyphens`, the name's own hyphens kept. */
function fold(s: string, umlautE: boolean, hyphens = false): string {
  // Most names are ASCII already, and for them every step below but the last two is the identity.
  if (ASCII.test(s)) return hyphens ? tidyHyphens(s.toLowerCase().replace(/[^a-z0-9-]/g, "")) : s.toLowerCase().replace(/[^a-z0-9]/g, "");
  let t = s.normalize("NFC").toLowerCase();
  if (hyphens) t = t.replace(/[\u2010\u2011\u2013]/g, "-");
  if (umlautE) t = t.replace(/[äöü]/g, (c) => UMLAUT_E[c]!);
  t = t.replace(/[ßæœøłđðþı]/g, (c) => LETTERS[c]!);
  t = t.normalize("NFKD").replace(/\p{M}/gu, "");
  return hyphens ? tidyHyphens(t.replace(/[^a-z0-9-]/g, "")) : t.replace(/[^a-z0-9]/g, "");
}

const ASCII = /^[\x00-\x7f]*$/;
const HYPHEN = /[-\u2010\u2011\u2013]/;

/** A spelling, joined, beside the same with the name's hyphens kept. */
type Spelled = [joined: string, hyphened: string];

/** The ASCII spellings of a name: "ae" umlauts first (German mail convention), then bare vowels. */
function spelled(s: string): Spelled[] {
  const hyphens = HYPHEN.test(s);
  const all = [true, false].map((umlautE): Spelled => {
    const joined = fold(s, umlautE);
    return [joined, hyphens ? fold(s, umlautE, true) : joined];
  });
  return all.filter(([joined], i) => joined !== "" && all.findIndex(([other]) => other === joined) === i);
}

const spellings = (s: string) => spelled(s).map(([joined]) => joined);

/** Surname spellings: the whole name joined, then each part that is not a particle. */
function surnames(last: string): Spelled[] {
  const tokens = last.split(/[\s\-\u2010\u2013]+/).filter((w) => w !== "");
  const parts = tokens.length > 1 ? tokens.filter((w) => !PARTICLES.has(w.toLowerCase())) : [];
  const all = [last, ...parts].flatMap(spelled);
  return all.filter(([joined], i) => all.findIndex(([other]) => other === joined) === i);
}

export type NameProblem = "no_letters" | "not_latin";

/**
 * Whether a name part can make a local part: it needs letters, and some must survive folding
 * (李小龍 or Ελένη have no ASCII spelling here; we refuse them rather than guess a romanisation).
 */
export function nameProblem(part: string): NameProblem | null {
  if (!/\p{L}/u.test(part)) return "no_letters";
  return /[a-z]/.test(fold(part, true)) ? null : "not_latin";
}

export function mailName(p: Person): MailName {
  const first = spelled(p.first);
  const last = surnames(p.last);
  const name: MailName = { first: first.map(([j]) => j), middle: spellings(p.middle)[0] ?? "", last: last.map(([j]) => j) };
  if ([...first, ...last].some(([j, h]) => j !== h)) name.hyphened = { first: first.map(([, h]) => h), last: last.map(([, h]) => h) };
  return name;
}
