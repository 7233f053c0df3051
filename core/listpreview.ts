// What an upload will become, worked out in the browser before it is sent: the first rows, the
// columns, and the counts the edge's ingest will reach (rows, unique addresses, bad syntax), so
// the credit cost is known before confirming. Same reader and the same dedupe key as core/ingest.
import { parseAddress } from "./address.ts";
import type { RejectCounts } from "./contracts.ts";
import { AddressListReader, type ListRow } from "./emailfile.ts";
import { PeopleIngest, type IngestedAddress } from "./ingest.ts";

export const PREVIEW_ROWS = 8;

export interface ListPreview {
  /** The header, or null for plain lists and headerless tables. */
  header: string[] | null;
  /** Columns in the widest of the first rows. */
  width: number;
  /** The column the reader chose (header name), when it has a header. */
  column: string | null;
  firstRows: string[][];
  rows: number;
  unique: number;
  duplicates: number;
  invalid: number;
  /** Rows that will get no result, by reason (an empty email cell, an overlong one). */
  rejects: RejectCounts;
  /** One credit per unique address. */
  cost: number;
  /** A people list (bulk finding) that lacks a name or a domain column. */
  missing?: "name" | "domain" | null;
}

/** Reads the whole text in slices, as the edge's streaming ingest does. */
export function previewList(text: string, column?: string, sliceChars = 1 << 20): ListPreview {
  const reader = new AddressListReader({ column });
  const seen = new Set<string>();
  const firstRows: string[][] = [];
  let rows = 0;
  let invalid = 0;
  const take = (got: ListRow[]) => {
    for (const row of got) {
      rows++;
      if (firstRows.length < PREVIEW_ROWS) firstRows.push(row.fields);
      const parsed = parseAddress(row.email);
      const key = parsed.ok ? parsed.normalized : row.email.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      if (!parsed.ok) invalid++;
    }
  };
  for (let i = 0; i < text.length; i += sliceChars) take(reader.push(text.slice(i, i + sliceChars)));
  take(reader.end());
  const width = Math.max(0, ...firstRows.map((r) => r.length), reader.header?.length ?? 0);
  return { header: reader.header, width, column: reader.column, firstRows, rows, unique: seen.size, duplicates: rows - seen.size, invalid, rejects: reader.rejects, cost: seen.size };
}

/** The same for a people list (a job of kind `find`): rows naming a person, unique people, rejects. */
export function previewPeople(text: string, sliceChars = 1 << 20): ListPreview {
  const ingest = new PeopleIngest();
  const firstRows: string[][] = [];
  const take = (got: IngestedAddress[]) => {
    for (const a of got) if (firstRows.length < PREVIEW_ROWS) firstRows.push(a.fields);
  };
  for (let i = 0; i < text.length; i += sliceChars) take(ingest.push(text.slice(i, i + sliceChars)));
  take(ingest.end());
  const header = ingest.reader.header;
  const width = Math.max(0, ...firstRows.map((r) => r.length), header?.length ?? 0);
  const { total, unique } = ingest;
  return { header, width, column: null, firstRows, rows: total, unique, duplicates: total - unique, invalid: 0, rejects: ingest.rejects, cost: unique, missing: ingest.missing };
}
