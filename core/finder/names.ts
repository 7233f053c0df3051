// People's names as mail systems spell them (issue 14): split a full name, then fold each part to
// the ASCII letters and digits a corporate local part is made of, with the variants an admin may
// have chosen (Müller as mueller or muller, Garcia-Lopez as garcialopez, garcia or lopez).

/** A person's name as given, honorifics and suffixes removed. `middle` is "" when there is none. */
export type Person = { first: string; middle: string; last: string };

/** The name folded for local parts; index 0 of each list is the main form, the rest are variants. */
export type MailName = { first: string[]; middle: string; last: string[] };

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

/** One spelling in ASCII: German umlauts as "ae" (`umlautE`) or as the bare vowel. */
function fold(s: string, umlautE: boolean): string {
  // Most names are ASCII already, and for them every step below but the last two is the identity.
  if (ASCII.test(s)) return s.toLowerCase().replace(/[^a-z0-9]/g, "");
  let t = s.normalize("NFC").toLowerCase();
  if (umlautE) t = t.replace(/[äöü]/g, (c) => UMLAUT_E[c]!);
  t = t.replace(/[ßæœøłđðþı]/g, (c) => LETTERS[c]!);
  return t
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[^a-z0-9]/g, "");
}

const ASCII = /^[\x00-\x7f]*$/;

const unique = (xs: string[]) => [...new Set(xs.filter((x) => x !== ""))];

/** The ASCII spellings of a name: "ae" umlauts first (German mail convention), then bare vowels. */
export const spellings = (s: string) => unique([fold(s, true), fold(s, false)]);

/** Surname spellings: the whole name joined, then each part that is not a particle. */
function surnames(last: string): string[] {
  const tokens = last.split(/[\s\-\u2010\u2013]+/).filter((w) => w !== "");
  const parts = tokens.length > 1 ? tokens.filter((w) => !PARTICLES.has(w.toLowerCase())) : [];
  return unique([last, ...parts].flatMap(spellings));
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
  return { first: spellings(p.first), middle: spellings(p.middle)[0] ?? "", last: surnames(p.last) };
}
