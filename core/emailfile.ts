// Reads a list of addresses from a file's text: one per line, or CSV/TSV with or without a
// header, the email column found by its name or else by its content.
import Papa from "papaparse";

const EMAIL_HEADERS = new Set([
  "email", "e-mail", "e_mail", "email address", "email_address", "emailaddress", "e-mail address",
  "mail", "email id", "correo", "correo electronico", "courriel", "adresse email", "emails",
]);

const looksLikeEmail = (v: string) => /^[^@\s]+@[^@\s]+$/.test(v.trim());

export function readAddressList(text: string): { emails: string[]; column: string | null } {
  const body = text.replace(/^\uFEFF/, "");
  const parsed = Papa.parse<string[]>(body, { skipEmptyLines: "greedy", delimitersToGuess: [",", "\t", ";", "|"] });
  const rows = parsed.data.filter((r) => r.some((c) => c.trim() !== ""));
  if (rows.length === 0) return { emails: [], column: null };
  const width = Math.max(...rows.map((r) => r.length));
  if (width === 1) {
    // Plain text: one address per line (a lone header such as "email" is dropped).
    const values = rows.map((r) => r[0]!.trim()).filter(Boolean);
    if (values[0] && EMAIL_HEADERS.has(values[0].toLowerCase())) {
      return { emails: values.slice(1), column: values[0] };
    }
    return { emails: values, column: null };
  }
  const header = rows[0]!.map((h) => h.trim());
  const named = header.findIndex((h) => EMAIL_HEADERS.has(h.toLowerCase()));
  if (named >= 0) return { emails: columnValues(rows.slice(1), named), column: header[named]! };
  // No named column: the one whose cells most often look like addresses.
  const hasHeader = !header.some(looksLikeEmail);
  const data = hasHeader ? rows.slice(1) : rows;
  let best = -1;
  let bestCount = 0;
  for (let c = 0; c < width; c++) {
    const count = data.filter((r) => looksLikeEmail(r[c] ?? "")).length;
    if (count > bestCount) [best, bestCount] = [c, count];
  }
  if (best < 0) return { emails: [], column: null };
  return { emails: columnValues(data, best), column: hasHeader ? header[best] ?? null : null };
}

function columnValues(rows: string[][], index: number): string[] {
  return rows.map((r) => (r[index] ?? "").trim()).filter(Boolean);
}
