// An account's own use of its credits, as the API and the app ask for it: one credit for a single
// check or find (a movement of ./ledger.ts), and its ledger newest first, in the same cursor pages
// as the jobs list (edge/paging.ts). Both act for someone: `(services, who, input)`.
import { and, desc, eq } from "drizzle-orm";
import { creditLedger } from "../../db/schema.ts";
import type { Services, Who } from "../context.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { autoTopUpDueStatement } from "./credits.ts";
import { entryWrittenStatement, moveStatements } from "./ledger.ts";

export interface CheckCharge {
  /** The request id, or the account-scoped Idempotency-Key: a retry under it is charged once. */
  key: string;
  what?: "verify" | "find";
}

/**
 * Charges one credit for a single check or find if the balance holds one, keyed so a retry is
 * charged once. One conditional write: parallel checks can never take the balance below zero.
 * `paid` when the check is paid for (now, or earlier under the same key); `topUpDue` when auto
 * top-up should run now.
 */
export async function chargeCheck(s: Services, who: Who, charge: CheckCharge, now = Date.now()): Promise<{ paid: boolean; topUpDue: boolean }> {
  const what = charge.what ?? "verify";
  const key = `${what}:${charge.key}`;
  const reason = what === "find" ? "single_find" : "single_check";
  const [, , paid, due] = await s.db.$client.batch(
    [
      ...moveStatements({ accountId: who.accountId, delta: -1, kind: "settle", reason, actor: who.actor, key }, now, { covered: true }),
      entryWrittenStatement(key),
      autoTopUpDueStatement(who.accountId),
    ],
    "write",
  );
  return { paid: Number(paid!.rows[0]!.written) === 1, topUpDue: Number(due!.rows[0]!.due) > 0 };
}

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

/** The account's entries, newest first; the cursor is the last entry's `created_at` and id. */
export async function listLedger(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /\d+/);
  const rows = await s.db
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.accountId, who.accountId), afterCursor(creditLedger.createdAt, creditLedger.id, after && { at: after.at, id: Number(after.id) })))
    .orderBy(desc(creditLedger.createdAt), desc(creditLedger.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, ledgerEntryView);
}
