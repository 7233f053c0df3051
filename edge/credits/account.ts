// An account's own use of its credits, as the API and the app ask for it: one credit for a single
// check or find (a movement of ./ledger.ts), and its ledger newest first, in the same cursor pages
// as the jobs list (edge/paging.ts). Both act for someone: `(services, who, input)`.
import { and, desc, eq, getTableColumns, isNull } from "drizzle-orm";
import { USE_SAMPLE_LIMIT, WEEK_MS, type BalanceStanding } from "../../core/billing.ts";
import { creditLedger, jobs } from "../../db/schema.ts";
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
export function ledgerEntryView(e: LedgerRow, jobName: string | null = null) {
  return {
    id: e.id,
    delta: e.delta,
    reason: e.reason,
    kind: e.kind,
    actor: e.actor,
    job_id: e.jobId,
    job_name: jobName,
    created_at: new Date(e.createdAt).toISOString(),
  };
}
export type LedgerEntryView = ReturnType<typeof ledgerEntryView>;

/**
 * The account's entries, newest first; the cursor is the last entry's `created_at` and id. Each
 * with its list's name, read in the same query (issue 26): null once the list is deleted.
 */
export async function listLedger(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /\d+/);
  const rows = await s.db
    .select({ ...getTableColumns(creditLedger), jobName: jobs.name })
    .from(creditLedger)
    .leftJoin(jobs, and(eq(jobs.id, creditLedger.jobId), eq(jobs.accountId, creditLedger.accountId), isNull(jobs.deletedAt)))
    .where(and(eq(creditLedger.accountId, who.accountId), afterCursor(creditLedger.createdAt, creditLedger.id, after && { at: after.at, id: Number(after.id) })))
    .orderBy(desc(creditLedger.createdAt), desc(creditLedger.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (r) => ledgerEntryView(r, r.jobName));
}

/** Ledger reasons that spend credits, or give back what a job did not use. */
const SPENDING = "'job_reserve', 'refund_unknowns', 'single_check', 'single_find'";
/** Ledger reasons that mean the account paid for credits. */
const PAID = "'purchase', 'plan_grant', 'auto_topup'";

/**
 * What the low-balance notice is decided from (core/billing.ts balanceNotice), in one query of
 * bounded cost, since every page of the app asks: the week's use reads at most USE_SAMPLE_LIMIT
 * entries, and whether the account ever paid stops at its first payment.
 */
export async function balanceStanding(s: Services, who: Who, now = Date.now()): Promise<BalanceStanding> {
  const res = await s.db.$client.execute({
    sql: `WITH spent AS (
            SELECT delta, created_at FROM credit_ledger
            WHERE account_id = ?1 AND created_at >= ?2 AND reason IN (${SPENDING})
            ORDER BY created_at DESC LIMIT ?3)
          SELECT a.credit_balance AS balance,
                 EXISTS (SELECT 1 FROM credit_ledger WHERE account_id = ?1 AND reason IN (${PAID})) AS bought,
                 (SELECT unique_count FROM jobs WHERE account_id = ?1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1) AS last_job,
                 (SELECT count(*) FROM spent) AS entries, (SELECT coalesce(-sum(delta), 0) FROM spent) AS used, (SELECT min(created_at) FROM spent) AS since,
                 CASE WHEN b.auto_topup_enabled = 1 THEN b.auto_topup_threshold END AS auto_topup_below
          FROM accounts a LEFT JOIN billing b ON b.account_id = a.id
          WHERE a.id = ?1`,
    args: [who.accountId, now - WEEK_MS, USE_SAMPLE_LIMIT],
  });
  const row = res.rows[0];
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    balance: Number(row?.balance ?? 0),
    bought: Number(row?.bought ?? 0) === 1,
    lastJob: n(row?.last_job),
    week: { entries: Number(row?.entries ?? 0), used: Number(row?.used ?? 0), since: n(row?.since) },
    autoTopUpBelow: n(row?.auto_topup_below),
  };
}
