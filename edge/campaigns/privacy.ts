// The campaigns' part of retention and erasure (issue 25, docs/data-protection.md).
//
// Erasure: the address's recipient rows leave every campaign of the account (the rows retention
// left as its tombstone too). One still queued is counted suppressed first, as a claim that
// found it suppressed would count it, so its campaign's counts still add up; its message never
// goes (a probe may send only the ids its claim is answered, and a deleted row is never claimed).
// A message already handed to a relay cannot be called back.
//
// Retention: a finished campaign's recipients keep their rows, statuses and counts, but their
// address becomes its tombstone (core/tombstone.ts) and the relay's reply goes: the unsubscribe
// link of a message sent then still works, and suppresses the tombstone, which every campaign
// honours. The work goes in steps of RECIPIENT_MASK_STEP rows, each one short write.
import { tombstoneOf } from "../../core/tombstone.ts";
import type { EdgeDb } from "../db.ts";

/** Recipients turned into tombstones per write. */
export const RECIPIENT_MASK_STEP = 1_000;

/** Removes the address's recipient rows (and those of its tombstone) from the account's campaigns; answers how many. */
export async function eraseRecipients(db: EdgeDb, accountId: string, address: string, tombstone: string, now: number): Promise<number> {
  const mine = "SELECT id FROM campaigns WHERE account_id = ?1";
  const [, removed] = await db.$client.batch(
    [
      {
        sql: `UPDATE campaigns SET suppressed = suppressed + (SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = campaigns.id AND r.normalized = ?2 AND r.status = 'queued'),
                updated_at = ?4
              WHERE account_id = ?1 AND EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = campaigns.id AND r.normalized = ?2 AND r.status = 'queued')`,
        args: [accountId, address, tombstone, now],
      },
      { sql: `DELETE FROM campaign_recipients WHERE campaign_id IN (${mine}) AND normalized IN (?2, ?3)`, args: [accountId, address, tombstone] },
    ],
    "write",
  );
  return removed!.rowsAffected;
}

/**
 * One step of retention over the finished campaigns of a job whose results expired: up to `rows`
 * recipients still in clear become tombstones. Answers how many it found; fewer than `rows` means
 * none is left. Tombstones sort between "sha256:" and "sha256;", so the two ranges around them are read
 * by the campaign_recipients_key index, and no step reads rows an earlier one masked.
 */
export async function maskRecipientsStep(db: EdgeDb, jobId: string, now: number, rows = RECIPIENT_MASK_STEP): Promise<number> {
  const finished = "SELECT id FROM campaigns WHERE job_id = ?1 AND status IN ('completed', 'canceled', 'failed')";
  const { rows: found } = await db.$client.execute({
    sql: `SELECT id, normalized FROM campaign_recipients WHERE campaign_id IN (${finished}) AND normalized < 'sha256:'
          UNION ALL
          SELECT id, normalized FROM campaign_recipients WHERE campaign_id IN (${finished}) AND normalized >= 'sha256;'
          LIMIT ?2`,
    args: [jobId, rows],
  });
  if (found.length === 0) return 0;
  const pairs = await Promise.all(found.map(async (r) => [Number(r.id), await tombstoneOf(String(r.normalized))] as const));
  await db.$client.execute({
    // Only rows still in clear: a step run twice at once masks each row once.
    sql: `UPDATE campaign_recipients SET normalized = p.value ->> 1, email = p.value ->> 1, reply = NULL, queue_id = NULL, updated_at = ?2
          FROM json_each(?1) p WHERE campaign_recipients.id = p.value ->> 0 AND campaign_recipients.normalized <> p.value ->> 1`,
    args: [JSON.stringify(pairs), now],
  });
  return found.length;
}
