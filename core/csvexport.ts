// CSV export that spreadsheets cannot turn into formulas (OWASP "CSV injection"): a cell that
// starts with = + - @, a tab or a carriage return gets a leading apostrophe, and every cell that
// needs it is quoted per RFC 4180.
const FORMULA_START = /^[=+\-@\t\r]/;

export function safeCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (typeof value === "string" && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(cells: (string | number | boolean | null | undefined)[]): string {
  return `${cells.map(safeCell).join(",")}\r\n`;
}
