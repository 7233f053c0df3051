// The credit ledger as the account sees it: its entries, newest first, in the same cursor pages
// as the jobs list (edge/paging.ts).
import { and, desc, eq } from "drizzle-orm";
import { creditLedger } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";

type LedgerRow = typeof creditLedger.$inferSelect;

// No running balance: an entry's balance after it would be a sum over every newer entry (single
// checks add one each), so deep pages would cost a scan of the whole ledger.
export function ledgerEntryView(e: LedgerRow) {
  return {
    id: e.id,
    delta: e.delta,
    reason: e.reason,
    kind: e.kind,
    actor: e.actor,
    job_id: e.jobId,
    created_at: new Date(e.createdAt).toISOString(),
  };
}
export type LedgerEntryView = ReturnType<typeof ledgerEntryView>;

/** Newest first; the cursor is the last entry's `created_at` and id. */
export async function listLedger(db: EdgeDb, accountId: string, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /\d+/);
  const rows = await db
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.accountId, accountId), afterCursor(creditLedger.createdAt, creditLedger.id, after && { at: after.at, id: Number(after.id) })))
    .orderBy(desc(creditLedger.createdAt), desc(creditLedger.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, ledgerEntryView);
}
