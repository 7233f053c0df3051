// Claiming recipients before their messages go (POST /internal/probes/sends/claim): a probe asks
// for a group of its batch's recipients just before handing them to a relay, and may send only the
// ids it is answered. One atomic write: the group's recipients whose address was suppressed since
// the campaign started are marked suppressed (and counted), then one conditional UPDATE moves the
// rest from queued to sending, only while the campaign is sending and the batch is out to this
// probe at this attempt. A recipient leaves `queued` once, so each id is claimed once, ever, however
// often a batch is delivered or re-dispatched (docs/decisions/009-campaigns.md). A claim that
// found suppressed addresses moved the campaign's counts: its hub hears of them. Takes the
// database, not services, so a benchmark can measure it bare.
import type { SendClaim, SendClaimAnswer } from "../../core/contracts.ts";
import type { EdgeDb } from "../db.ts";
import type { Effects } from "../effects.ts";
import { progressOf, readProgress } from "./progress.ts";

/** The claim's ids (?3) of its batch (?1) and campaign (?2), still queued. */
const QUEUED = "id IN (SELECT value FROM json_each(?3)) AND batch_id = ?1 AND campaign_id = ?2 AND status = 'queued'";

export async function claimSends(db: EdgeDb, claim: SendClaim, now = Date.now()): Promise<{ answer: SendClaimAnswer; effects: Effects }> {
  const ids = JSON.stringify(claim.ids);
  const [suppressed, , claimed, state, progress] = await db.$client.batch(
    [
      {
        sql: `UPDATE campaign_recipients SET status = 'suppressed', updated_at = ?4
              WHERE ${QUEUED} AND EXISTS (SELECT 1 FROM campaigns c JOIN suppressions x ON x.account_id = c.account_id WHERE c.id = ?2 AND x.email = campaign_recipients.normalized)`,
        args: [claim.batch_id, claim.campaign_id, ids, now],
      },
      { sql: "UPDATE campaigns SET suppressed = suppressed + changes() WHERE id = ?", args: [claim.campaign_id] },
      {
        sql: `UPDATE campaign_recipients SET status = 'sending', updated_at = ?4
              WHERE ${QUEUED}
                AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = ?2 AND c.status = 'sending')
                AND EXISTS (SELECT 1 FROM send_batches b WHERE b.id = ?1 AND b.campaign_id = ?2 AND b.status = 'dispatched' AND b.probe_id = ?5 AND b.attempts = ?6)
              RETURNING id`,
        args: [claim.batch_id, claim.campaign_id, ids, now, claim.probe_id, claim.attempt],
      },
      {
        sql: `SELECT c.status, c.status_reason, b.status AS batch_status, b.attempts, b.probe_id
              FROM campaigns c LEFT JOIN send_batches b ON b.id = ?1 AND b.campaign_id = c.id WHERE c.id = ?2`,
        args: [claim.batch_id, claim.campaign_id],
      },
      readProgress(claim.campaign_id),
    ],
    "write",
  );
  return {
    answer: { claimed: claimed!.rows.map((r) => Number(r.id)).sort((a, b) => a - b), stop: stopReason(claim, state!.rows[0]) },
    effects: suppressed!.rowsAffected > 0 ? { campaign: progressOf(progress!.rows[0]) } : {},
  };
}

/** Why the probe must send nothing more of this batch, or null: it still holds it. */
function stopReason(claim: SendClaim, row: Record<string, unknown> | undefined): string | null {
  if (!row) return `unknown campaign ${claim.campaign_id}`;
  if (row.status !== "sending") return row.status_reason ? `${String(row.status)}: ${String(row.status_reason)}` : String(row.status);
  if (row.batch_status === null) return `unknown batch ${claim.batch_id}`;
  if (row.batch_status !== "dispatched" || Number(row.attempts) !== claim.attempt || row.probe_id !== claim.probe_id) {
    return `superseded: batch ${claim.batch_id} is ${String(row.batch_status)}, at attempt ${Number(row.attempts)}`;
  }
  return null;
}
