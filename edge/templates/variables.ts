// A list row as a template's variables: each column under its header as written and under its
// snake_case form ("First Name" → first_name), so `{{ first_name }}` reads a column headed
// "First Name"; `email` is the row's address unless a column is called that. Values are strings,
// as the upload had them. Campaigns give each recipient's message the same variables.

/** "First Name" → "first_name": letters and digits, words joined by one underscore. */
export function variableName(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "_")
    .replace(/^_+|_+$/g, "");
}

export function rowVariables(columns: readonly string[] | null, row: readonly unknown[] | null, email: string): Record<string, string> {
  const vars: Record<string, string> = {};
  (columns ?? []).forEach((header, i) => {
    const value = row?.[i] == null ? "" : String(row[i]);
    for (const name of [header, variableName(header)]) if (name && !(name in vars)) vars[name] = value;
  });
  if (!("email" in vars)) vars.email = email;
  return vars;
}

/** What a preview shows when it is given no row: a person every template can greet. */
export const SAMPLE_VARIABLES: Readonly<Record<string, string>> = { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", company: "Analytical Engines" };
