// The credit ledger, and its one writer. Every movement of credits (the sign-up and dev grants,
// purchases, plan grants and auto top-ups, job reservations and settlements, single checks and
// finds, Stripe's refunds and disputes, operators' adjustments) is written by the statements built
// here, and so is the balance cached beside it (accounts.credit_balance): an entry under an
// idempotency key, then the balance by the same delta only if that entry was written (changes()),
// in the caller's `batch`, one round trip (docs/decisions/004-write-path.md). So "balance = sum of
// entries" holds by construction; `ledgerDrift` checks it. Node benchmarks compile this module
// (through edge/jobs/results.ts), so it uses no Worker types: the services are in ./account.ts.
import type { InValue } from "@libsql/client/web";
import { eq, inArray, sql } from "drizzle-orm";
import type { LedgerReason } from "../../core/enums.ts";
import { accounts, creditLedger } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";

/** A statement for a caller's `batch`. */
export interface Statement {
  sql: string;
  args: InValue[];
}

export type LedgerKind = (typeof creditLedger.kind.enumValues)[number];

export interface Movement {
  accountId: string;
  /** Credits added (positive) or taken (negative). */
  delta: number;
  kind: LedgerKind;
  reason: LedgerReason;
  /** Who moved them: a user id, an API key id, `dev_key`, `stripe` or `system`. */
  actor: string;
  jobId?: string | null;
  /** The entry's idempotency key: a movement under a key already written moves nothing. */
  key: string;
}

export interface MoveRules {
  /** Only if the balance covers the debit: spending never takes the balance below zero. */
  covered?: boolean;
  /** A key already written: "skip" (the default) moves nothing; "fail" fails the caller's whole batch (a key that must be new). */
  repeat?: "skip" | "fail";
}

const ENTRY_COLUMNS = "account_id, delta, kind, reason, actor, job_id, idempotency_key, created_at";

/** The balance follows the entry the statement before wrote, and only if it wrote one. */
const BALANCE_FOLLOWS_WRITTEN_ENTRY: Statement = {
  sql: `UPDATE accounts SET credit_balance = credit_balance + (SELECT delta FROM credit_ledger WHERE id = last_insert_rowid())
        WHERE changes() = 1 AND id = (SELECT account_id FROM credit_ledger WHERE id = last_insert_rowid())`,
  args: [],
};

/**
 * One movement, as two statements for the caller's batch: the entry (into an existing account,
 * once per key), then the balance by its delta if the entry was written. The first statement's
 * rowsAffected says whether it was, and so does `changes() = 1` in a statement right after these.
 */
export function moveStatements(m: Movement, now: number, rules: MoveRules = {}): Statement[] {
  return [
    {
      sql: `INSERT INTO credit_ledger (${ENTRY_COLUMNS})
            SELECT id, ?, ?, ?, ?, ?, ?, ? FROM accounts WHERE id = ?${rules.covered ? " AND credit_balance >= ?" : ""}${rules.repeat === "fail" ? "" : " ON CONFLICT DO NOTHING"}`,
      args: [m.delta, m.kind, m.reason, m.actor, m.jobId ?? null, m.key, now, m.accountId, ...(rules.covered ? [-m.delta] : [])],
    },
    { sql: "UPDATE accounts SET credit_balance = credit_balance + ? WHERE changes() = 1 AND id = ?", args: [m.delta, m.accountId] },
  ];
}

/**
 * A movement the batch computes from other rows (a finished job's unused credits, a payment's
 * refunded share). `source` is a SELECT, with a WHERE clause, of at most one row of (account_id,
 * delta, kind, reason, actor, job_id, idempotency_key, created_at) in that order. As
 * moveStatements, once per key; the first statement also returns the entry written (account_id,
 * delta), if one was.
 */
export function computedMoveStatements(source: Statement): Statement[] {
  return [
    { sql: `INSERT INTO credit_ledger (${ENTRY_COLUMNS}) ${source.sql} ON CONFLICT DO NOTHING RETURNING account_id, delta`, args: source.args },
    BALANCE_FOLLOWS_WRITTEN_ENTRY,
  ];
}

/**
 * Erasure (issue 25): the one key that names an address, a bounce refund's
 * (`bounce_refund:{job}:{address}`, edge/bounces/apply.ts), names its tombstone instead. No amount
 * moves, and the key stays one per refunded verification.
 */
export function eraseAddressFromKeysStatement(accountId: string, address: string, tombstone: string): Statement {
  return {
    sql: `UPDATE credit_ledger SET idempotency_key = 'bounce_refund:' || job_id || ':' || ?3
          WHERE account_id = ?1 AND reason = 'bounce_refund' AND idempotency_key = 'bounce_refund:' || job_id || ':' || ?2`,
    args: [accountId, address, tombstone],
  };
}

/** Whether an entry under this key was ever written: one row, `written` 0 or 1. */
export function entryWrittenStatement(key: string): Statement {
  return { sql: "SELECT EXISTS (SELECT 1 FROM credit_ledger WHERE idempotency_key = ?) AS written", args: [key] };
}

/**
 * SQL counting an account's entries of one reason written in [from, to): it binds two `?`, from
 * and to. `accountIdExpr` is a column or `?` of the caller's statement.
 */
export function entriesOfReasonSql(accountIdExpr: string, reason: LedgerReason): string {
  return `(SELECT count(*) FROM credit_ledger WHERE account_id = ${accountIdExpr} AND reason = '${reason}' AND created_at >= ? AND created_at < ?)`;
}

/**
 * Accounts whose cached balance differs from the sum of their ledger entries: none, as every
 * movement is written here. Tests run it after each scenario; an operator may too.
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
