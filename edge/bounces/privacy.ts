// The bounces' part of retention and erasure (issue 25, docs/data-protection.md). A bounce row
// holds the address, the DSN's diagnostic and the returned message as read; a soft-bounce score
// holds the address. Erasure removes the address's rows of the account; retention removes
// bounces older than the account's days, and scores once they are older than both those days and
// the soft-bounce reset days (a score that old starts over at the next bounce anyway, so the
// setting never changes what gets suppressed). Suppressions are the suppression list's own
// (edge/suppressions): a bounce that suppressed an address leaves it suppressed.
import type { EdgeDb } from "../db.ts";

const DAY_MS = 86_400_000;

/** Bounce rows and scores retention removes per statement. */
export const BOUNCE_PURGE_ROWS = 5_000;

/** Removes the address's bounces and soft-bounce score (and those kept under its tombstone) from the account. */
export async function eraseBounces(db: EdgeDb, accountId: string, address: string, tombstone: string): Promise<{ bounces: number; soft_bounce_scores: number }> {
  const [bounces, scores] = await db.$client.batch(
    [
      { sql: "DELETE FROM bounces WHERE account_id = ? AND email IN (?, ?)", args: [accountId, address, tombstone] },
      { sql: "DELETE FROM soft_bounce_scores WHERE account_id = ? AND email IN (?, ?)", args: [accountId, address, tombstone] },
    ],
    "write",
  );
  return { bounces: bounces!.rowsAffected, soft_bounce_scores: scores!.rowsAffected };
}

/** One statement each of retention over every account with a setting: bounces and scores past it, at most `rows` of each. */
export async function purgeExpiredBounces(db: EdgeDb, now: number, rows = BOUNCE_PURGE_ROWS): Promise<{ bounces: number; soft_bounce_scores: number }> {
  const [bounces, scores] = await db.$client.batch(
    [
      {
        // bounces_account_created serves each account's range.
        sql: `DELETE FROM bounces WHERE rowid IN (
                SELECT b.rowid FROM accounts a JOIN bounces b ON b.account_id = a.id AND b.created_at < ?1 - a.retention_days * ${DAY_MS}
                WHERE a.retention_days IS NOT NULL LIMIT ?2)`,
        args: [now, rows],
      },
      {
        sql: `DELETE FROM soft_bounce_scores WHERE rowid IN (
                SELECT s.rowid FROM accounts a JOIN soft_bounce_scores s ON s.account_id = a.id
                WHERE a.retention_days IS NOT NULL AND s.last_day < ?1 / ${DAY_MS} - max(a.retention_days, a.soft_bounce_reset_days) LIMIT ?2)`,
        args: [now, rows],
      },
    ],
    "write",
  );
  return { bounces: bounces!.rowsAffected, soft_bounce_scores: scores!.rowsAffected };
}
