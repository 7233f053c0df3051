// A bundle's text with every non-ASCII character written as a \u escape. V8 keeps a script's
// source in memory for as long as it runs, one byte per character only if every character fits in
// Latin-1: a single "—" in a comment or "ä" in a regular expression (esbuild's ASCII charset
// escapes strings and identifiers, not those) doubles it, 6 MB of bundle becoming 12 MB of heap.
// A \u escape means the same character in a string, a template's cooked text and a regular
// expression, with or without the u flag (an escaped surrogate pair is one code point there), and
// nothing in a comment. Characters are escaped one UTF-16 unit at a time.

/** `text` with each character past U+007F as `\uXXXX`. */
export function escapeNonAscii(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
