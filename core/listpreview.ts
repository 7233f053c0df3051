// What an upload will become, worked out in the browser before it is sent: the first rows, the
// columns, and the counts the edge's ingest will reach (rows, unique addresses, bad syntax), so
// the credit cost is known before confirming. Same reader and the same dedupe key as core/ingest.
import { parseAddress } from "./address.ts";
import type { RejectCounts } from "./contracts.ts";
import { AddressListReader, type ListRow, type RejectedRow } from "./emailfile.ts";
import { PeopleIngest, type IngestedAddress } from "./ingest.ts";

export const PREVIEW_ROWS = 8;
/** Rejected rows listed by the preview (issue 26: "Rejected 2" said nothing of which); the rest are counted. */
export const PREVIEW_REJECTS = 10;
/** A listed rejected row's text is cut to this many characters (an overlong row can be megabytes). */
export const PREVIEW_REJECT_CHARS = 200;

/** The first rejected rows, by line, and how many more there are. */
export interface RejectedSample {
  rows: RejectedRow[];
  more: number;
}

/** Collects the first PREVIEW_REJECTS rows the reader rejects; `more` is set from the reject counts at the end. */
function rejectedSample(): { onReject: (row: RejectedRow) => void; finish: (rejects: RejectCounts) => RejectedSample } {
  const rows: RejectedRow[] = [];
  return {
    onReject: (row) => {
      if (rows.length < PREVIEW_REJECTS) rows.push({ ...row, raw: row.raw.slice(0, PREVIEW_REJECT_CHARS) });
    },
    // Counted, not listed: rows past the first ten, and a people list's rows naming no usable
    // person (core/ingest.ts counts those after the reader, without telling onReject).
    finish: (rejects) => ({ rows, more: Object.values(rejects).reduce((a, b) => a + b, 0) - rows.length }),
  };
}

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
  /** The first rejected rows with their line and reason (a text list's; an archive's are only counted). */
  rejected?: RejectedSample;
  /** One credit per unique address. */
  cost: number;
  /** A people list (bulk finding) that lacks a name or a domain column. */
  missing?: "name" | "domain" | null;
}

/** Reads the whole text in slices, as the edge's streaming ingest does. */
export function previewList(text: string, column?: string, sliceChars = 1 << 20): ListPreview {
  const rejected = rejectedSample();
  const reader = new AddressListReader({ column, onReject: rejected.onReject });
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
  return { header: reader.header, width, column: reader.column, firstRows, rows, unique: seen.size, duplicates: rows - seen.size, invalid, rejects: reader.rejects, rejected: rejected.finish(reader.rejects), cost: seen.size };
}

/** The same for a people list (a job of kind `find`): rows naming a person, unique people, rejects. */
export function previewPeople(text: string, sliceChars = 1 << 20): ListPreview {
  const rejected = rejectedSample();
  const ingest = new PeopleIngest({ onReject: rejected.onReject });
  const firstRows: string[][] = [];
  const take = (got: IngestedAddress[]) => {
    for (const a of got) if (firstRows.length < PREVIEW_ROWS) firstRows.push(a.fields);
  };
  for (let i = 0; i < text.length; i += sliceChars) take(ingest.push(text.slice(i, i + sliceChars)));
  take(ingest.end());
  const header = ingest.reader.header;
  const width = Math.max(0, ...firstRows.map((r) => r.length), header?.length ?? 0);
  const { total, unique } = ingest;
  return { header, width, column: null, firstRows, rows: total, unique, duplicates: total - unique, invalid: 0, rejects: ingest.rejects, rejected: rejected.finish(ingest.rejects), cost: unique, missing: ingest.missing };
}
