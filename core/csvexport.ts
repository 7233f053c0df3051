// CSV export that spreadsheets cannot turn into formulas (OWASP "CSV injection"): a cell that
// starts with = + - @ (or their full-width forms, which some spreadsheets take as the same),
// after white space or not, or with a tab, CR or LF, gets a leading apostrophe, and every cell
// that needs it is quoted per RFC 4180. Cells come from uploads and from remote mail servers'
// replies alike.
const FORMULA_START = /^\s*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]/;

/**
 * Whether a cell gets the apostrophe: it starts like a formula, or it would once apostrophes of
 * its own are taken off, so that unescapeCell can tell our apostrophe from the cell's.
 */
const defusable = (s: string) => FORMULA_START.test(s.replace(/^'+/, ""));

export function safeCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (typeof value === "string" && defusable(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(cells: (string | number | boolean | null | undefined)[]): string {
  return `${cells.map(safeCell).join(",")}\r\n`;
}

/**
 * A cell of a file we exported, as it was before safeCell defused it (its exact inverse), so an
 * exported list imports back as the same values.
 */
export const unescapeCell = (cell: string): string => (cell.startsWith("'") && defusable(cell) ? cell.slice(1) : cell);
