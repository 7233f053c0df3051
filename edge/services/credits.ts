// Credits: a job reserves one credit per unique address when its ingest ends; when it completes
// or is canceled, what was not verified (unknowns, and anything never answered) comes back.
// Every ledger entry has an idempotency key, and the cached balance moves in the same transaction.
import { and, eq, gte, sql } from "drizzle-orm";
import { accounts, creditLedger, jobs } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { meter } from "../meter.ts";

/** Takes `amount` credits if the balance allows; false (nothing written) if it does not. */
export async function reserveCredits(db: EdgeDb, accountId: string, jobId: string, amount: number): Promise<boolean> {
  if (amount === 0) return true;
  return db.transaction(async (tx) => {
    const taken = await tx
      .update(accounts)
      .set({ creditBalance: sql`${accounts.creditBalance} - ${amount}` })
      .where(and(eq(accounts.id, accountId), gte(accounts.creditBalance, amount)))
      .returning({ id: accounts.id });
    if (taken.length === 0) return false;
    await tx.insert(creditLedger).values({ accountId, delta: -amount, kind: "reserve", jobId, idempotencyKey: `reserve:${jobId}` });
    await tx.update(jobs).set({ creditsReserved: amount }).where(eq(jobs.id, jobId));
    meter.dbRowsWritten += 3;
    return true;
  });
}

/** Refunds what a finished or canceled job did not use; once per job. */
export async function settleJob(db: EdgeDb, jobId: string): Promise<number> {
  return db.transaction(async (tx) => {
    const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId));
    if (!job) return 0;
    const used = job.deliverable + job.undeliverable + job.risky;
    const refund = Math.max(0, job.creditsReserved - used);
    if (refund === 0) return 0;
    const entry = await tx
      .insert(creditLedger)
      .values({ accountId: job.accountId, delta: refund, kind: "refund", jobId, idempotencyKey: `settle:${jobId}` })
      .onConflictDoNothing()
      .returning({ id: creditLedger.id });
    if (entry.length === 0) return 0;
    await tx.update(accounts).set({ creditBalance: sql`${accounts.creditBalance} + ${refund}` }).where(eq(accounts.id, job.accountId));
    meter.dbRowsWritten += 2;
    return refund;
  });
}

/** Charges one credit for a single check; keyed by request so a retry is charged once. */
export async function chargeCheck(db: EdgeDb, accountId: string, requestId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const entry = await tx
      .insert(creditLedger)
      .values({ accountId, delta: -1, kind: "settle", idempotencyKey: `verify:${requestId}` })
      .onConflictDoNothing()
      .returning({ id: creditLedger.id });
    if (entry.length > 0) await tx.update(accounts).set({ creditBalance: sql`${accounts.creditBalance} - 1` }).where(eq(accounts.id, accountId));
  });
}

export async function creditBalance(db: EdgeDb, accountId: string): Promise<number> {
  const [acc] = await db.select({ balance: accounts.creditBalance }).from(accounts).where(eq(accounts.id, accountId));
  return acc?.balance ?? 0;
}
