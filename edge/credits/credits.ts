// Credits: a job reserves one credit per unique address when its ingest ends; when it completes
// or is canceled, what was not verified (unknowns, and anything never answered) comes back. A job
// of kind `find` is charged only for the people it found an address for (deliverable or risky).
// Every ledger entry has an idempotency key, and the cached balance moves in the same atomic
// write: a `batch` of conditional statements chained by changes(), one round trip, never an
// interactive transaction (docs/decisions/004-write-path.md).
import type { InStatement } from "@libsql/client/web";
import { eq, inArray, sql } from "drizzle-orm";
import { accounts, creditLedger } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";

/**
 * Takes `amount` credits if the balance allows, with its ledger entry. A statement after these in
 * the same batch guarded with `changes() = 1` runs only if the credits were taken (ingestJob
 * queues the job that way).
 */
export function reserveStatements(accountId: string, actor: string, jobId: string, amount: number, now: number): InStatement[] {
  return [
    {
      sql: "UPDATE accounts SET credit_balance = credit_balance - ? WHERE id = ? AND credit_balance >= ?",
      args: [amount, accountId, amount],
    },
    {
      sql: `INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, job_id, idempotency_key, created_at)
            SELECT ?, ?, 'reserve', 'job_reserve', ?, ?, ?, ? WHERE changes() = 1`,
      args: [accountId, -amount, actor, jobId, `reserve:${jobId}`, now],
    },
  ];
}

/**
 * Reads, in a write's batch, whether this account's auto top-up is due (enabled, idle, and the
 * balance below its threshold): the write that spent credits learns it with no extra round trip.
 */
export function autoTopUpDueStatement(accountId: string): InStatement {
  return {
    sql: `SELECT count(*) AS due FROM billing b JOIN accounts a ON a.id = b.account_id
          WHERE b.account_id = ? AND b.auto_topup_enabled = 1 AND b.auto_topup_state = 'idle' AND a.credit_balance < b.auto_topup_threshold`,
    args: [accountId],
  };
}

/** What a job has used: every answered address, or in a find job every address found. */
const USED = "(deliverable + risky + CASE WHEN kind = 'find' THEN 0 ELSE undeliverable END)";

/**
 * Refunds what a finished or canceled job did not use, once per job (the ledger's key decides).
 * Safe to append to any write that may end a job: it does nothing while the job runs.
 */
export function settleStatements(jobId: string, now: number): InStatement[] {
  return [
    {
      sql: `INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, job_id, idempotency_key, created_at)
            SELECT account_id, credits_reserved - ${USED}, 'refund', 'refund_unknowns', 'system', id, 'settle:' || id, ?
            FROM jobs
            WHERE id = ? AND status IN ('completed', 'canceled', 'failed') AND credits_reserved > ${USED}
            ON CONFLICT DO NOTHING`,
      args: [now, jobId],
    },
    {
      sql: `UPDATE accounts SET credit_balance = credit_balance + (SELECT delta FROM credit_ledger WHERE idempotency_key = 'settle:' || ?)
            WHERE changes() = 1 AND id = (SELECT account_id FROM jobs WHERE id = ?)`,
      args: [jobId, jobId],
    },
  ];
}

/**
 * Charges one credit for a single check if the balance holds one, keyed so a retry is charged
 * once. One conditional write: parallel checks can never take the balance below zero. `paid` when
 * the check is paid for (now, or earlier under the same key); `topUpDue` when auto top-up should
 * run now.
 */
export async function chargeCheck(
  db: EdgeDb,
  accountId: string,
  actor: string,
  idempotencyKey: string,
  now = Date.now(),
  what: "verify" | "find" = "verify",
): Promise<{ paid: boolean; topUpDue: boolean }> {
  const key = `${what}:${idempotencyKey}`;
  const [, , paid, due] = await db.$client.batch(
    [
      {
        sql: `UPDATE accounts SET credit_balance = credit_balance - 1
              WHERE id = ? AND credit_balance >= 1 AND NOT EXISTS (SELECT 1 FROM credit_ledger WHERE idempotency_key = ?)`,
        args: [accountId, key],
      },
      {
        sql: "INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, idempotency_key, created_at) SELECT ?, -1, 'settle', ?, ?, ?, ? WHERE changes() = 1",
        args: [accountId, what === "find" ? "single_find" : "single_check", actor, key, now],
      },
      { sql: "SELECT EXISTS (SELECT 1 FROM credit_ledger WHERE idempotency_key = ?) AS paid", args: [key] },
      autoTopUpDueStatement(accountId),
    ],
    "write",
  );
  return { paid: Number(paid!.rows[0]!.paid) === 1, topUpDue: Number(due!.rows[0]!.due) > 0 };
}

/**
 * Refusal for work the balance cannot cover. A balance below zero (a refund or dispute took back
 * credits already spent) refuses everything until a purchase brings it above zero again.
 */
export async function insufficientCredits(db: EdgeDb, accountId: string, needed: number, what: string): Promise<ServiceError> {
  const balance = await creditBalance(db, accountId);
  if (balance < 0) {
    return new ServiceError("insufficient_credits", `The balance is ${balance} credits after a refund or dispute; buy credits to bring it above zero`);
  }
  return new ServiceError("insufficient_credits", `${what} needs ${needed} credit${needed === 1 ? "" : "s"} and the balance is ${balance}; buy more`);
}

/**
 * Accounts whose cached balance differs from the sum of their ledger entries (none, when every
 * write moved both together). Tests run it after each scenario; an operator may too.
 */
export async function ledgerDrift(db: EdgeDb, accountIds: string[]): Promise<{ accountId: string; balance: number; ledger: number }[]> {
  if (accountIds.length === 0) return [];
  const rows = await db
    .select({ accountId: accounts.id, balance: accounts.creditBalance, ledger: sql<number>`coalesce(sum(${creditLedger.delta}), 0)` })
    .from(accounts)
    .leftJoin(creditLedger, eq(creditLedger.accountId, accounts.id))
    .where(inArray(accounts.id, accountIds))
    .groupBy(accounts.id);
  return rows.map((r) => ({ ...r, ledger: Number(r.ledger) })).filter((r) => r.balance !== r.ledger);
}

export async function creditBalance(db: EdgeDb, accountId: string): Promise<number> {
  const [acc] = await db.select({ balance: accounts.creditBalance }).from(accounts).where(eq(accounts.id, accountId));
  return acc?.balance ?? 0;
}
