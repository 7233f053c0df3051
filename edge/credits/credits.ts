// Credits: a job reserves one credit per unique address when its ingest ends; when it completes
// or is canceled, what was not verified (unknowns, and anything never answered) comes back. A job
// of kind `find` is charged only for the people it found an address for (deliverable or risky).
// (A single check or find costs one credit when it answers: ./account.ts.) Each is a movement of
// the ledger (./ledger.ts, the one writer): a conditional entry under an idempotency key with the
// balance beside it, in one atomic `batch`, never an interactive transaction
// (docs/decisions/004-write-path.md). Node benchmarks compile this module: no Worker types here.
import { eq } from "drizzle-orm";
import { accounts } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";
import { computedMoveStatements, moveStatements, type Statement } from "./ledger.ts";

/**
 * Takes `amount` credits if the balance allows, with its ledger entry (two statements). A
 * statement after these in the same batch guarded with `changes() = 1` runs only if the credits
 * were taken (ingestJob queues the job that way).
 */
export function reserveStatements(accountId: string, actor: string, jobId: string, amount: number, now: number): Statement[] {
  return moveStatements({ accountId, delta: -amount, kind: "reserve", reason: "job_reserve", actor, jobId, key: `reserve:${jobId}` }, now, { covered: true, repeat: "fail" });
}

/**
 * Reads, in a write's batch, whether this account's auto top-up is due (enabled, idle, and the
 * balance below its threshold): the write that spent credits learns it with no extra round trip.
 */
export function autoTopUpDueStatement(accountId: string): Statement {
  return {
    sql: `SELECT count(*) AS due FROM billing b JOIN accounts a ON a.id = b.account_id
          WHERE b.account_id = ? AND b.auto_topup_enabled = 1 AND b.auto_topup_state = 'idle' AND a.credit_balance < b.auto_topup_threshold`,
    args: [accountId],
  };
}

/** What a job has used: every answered address, or in a find job every address found. */
const USED = "(deliverable + risky + CASE WHEN kind = 'find' THEN 0 ELSE undeliverable END)";

/**
 * Refunds what a finished or canceled job did not use, once per job (the ledger's key decides);
 * two statements. Safe to append to any write that may end a job: it does nothing while the job runs.
 */
export function settleStatements(jobId: string, now: number): Statement[] {
  return computedMoveStatements({
    sql: `SELECT account_id, credits_reserved - ${USED}, 'refund', 'refund_unknowns', 'system', id, 'settle:' || id, ?
          FROM jobs
          WHERE id = ? AND status IN ('completed', 'canceled', 'failed') AND credits_reserved > ${USED}`,
    args: [now, jobId],
  });
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

export async function creditBalance(db: EdgeDb, accountId: string): Promise<number> {
  const [acc] = await db.select({ balance: accounts.creditBalance }).from(accounts).where(eq(accounts.id, accountId));
  return acc?.balance ?? 0;
}
