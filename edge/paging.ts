// Cursor pages for every list of the API: newest first on (created_at, id), the cursor is the last
// row's `<created_at>_<id>`, and one row more than the page says whether a next one exists.
import { and, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { ServiceError } from "./errors.ts";

export type Cursor = { at: number; id: string };

/** Decodes a cursor whose id part matches `id`; anything else is `validation_failed`. */
export function decodeCursor(cursor: string | undefined, id: RegExp): Cursor | null {
  if (!cursor) return null;
  const m = new RegExp(`^(\\d+)_(${id.source})$`).exec(cursor);
  if (!m) throw new ServiceError("validation_failed", "cursor: not a cursor from this API");
  return { at: Number(m[1]), id: m[2]! };
}

/** Rows after the cursor in (created_at, id) descending order; the id breaks ties on time. */
export function afterCursor(createdAt: SQLiteColumn, id: SQLiteColumn, after: { at: number; id: string | number } | null): SQL | undefined {
  return after ? or(lt(createdAt, after.at), and(eq(createdAt, after.at), lt(id, after.id))) : undefined;
}

/** The page shown from the `limit + 1` rows read. */
export function toPage<R extends { createdAt: number; id: string | number }, V>(rows: R[], limit: number, view: (row: R) => V) {
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return { data: shown.map(view), next_cursor: rows.length > limit && last ? `${last.createdAt}_${last.id}` : null };
}
