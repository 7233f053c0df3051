// The campaign's lifecycle: every write of campaigns.status is one function here.
//
//   draft ─start─► verifying ──begin (its job completed)──► sending ─complete─► completed
//            │         └──begin (… and send_at is ahead)──► scheduled ──begin (send_at came)──► sending
//            ├───► scheduled (the job is done, send_at is ahead)
//            └───► sending (the job is done and send_at is not ahead)
//   verifying | scheduled | sending ─pause─► paused ─resume─► sending (or back to verifying | scheduled, never begun)
//   draft | verifying | scheduled | sending | paused ─cancel─► canceled
//   verifying | scheduled | sending | paused ─fail (its job failed, was canceled or deleted)─► failed
//
// As for jobs (edge/jobs/lifecycle.ts), each function gives the statements for its caller's write,
// which runs them in one `batch`, and reads what they did from their results. A move into
// completed writes, right after the status, the `campaign.completed` outbox row (only for an
// account with an enabled endpoint for it; edge/webhooks fans it out and fills its data). Ending a
// campaign (cancel, fail) cancels its queued recipients and pending send batches in the same write;
// recipients a probe already claimed keep their outcome when it comes. What must follow the commit
// comes back as effects (edge/effects.ts), the campaign's hub told of every move (each moving
// statement RETURNs its progress, edge/campaigns/progress.ts).
import type { InStatement, ResultSet, Row } from "@libsql/client/web";
import type { CampaignStatus } from "../../core/enums.ts";
import { newId } from "../../core/ids.ts";
import type { Effects } from "../effects.ts";
import type { Transition } from "../jobs/lifecycle.ts";
import { progressOf, PROGRESS_COLUMNS } from "./progress.ts";

export type { Transition };

const sqlList = (statuses: readonly CampaignStatus[]) => statuses.map((s) => `'${s}'`).join(", ");

/** Statuses a campaign leaves only by ending. */
export const OPEN_STATUSES: readonly CampaignStatus[] = ["draft", "verifying", "scheduled", "sending", "paused"];
/** Statuses a campaign may be paused (and failed) from. */
const PAUSABLE: readonly CampaignStatus[] = ["verifying", "scheduled", "sending"];

/** The campaign's job is completed and not deleted: its rows are final. */
const JOB_COMPLETED = "EXISTS (SELECT 1 FROM jobs j WHERE j.id = campaigns.job_id AND j.status = 'completed' AND j.deleted_at IS NULL)";

/**
 * Where a campaign that has not begun goes (?2 is now): it waits for its job (verifying), then for
 * send_at (scheduled), else it begins.
 */
const ENTRY = `(CASE WHEN NOT ${JOB_COMPLETED} THEN 'verifying' WHEN coalesce(campaigns.send_at, 0) > ?2 THEN 'scheduled' ELSE 'sending' END)`;

/** A move that begins sending (RETURNING status says where it went) has the audience materialised next. */
const began = (campaignId: string) => (rows: Row[]): Effects => (rows[0]?.status === "sending" ? { materialize: campaignId, sendDispatch: true } : {});

/** Whether the moving statement moved the campaign; if it did, its hub's news (what it RETURNed) beside `more`. */
const moves = (result: ResultSet, more: Effects = {}): { moved: boolean; effects: Effects } =>
  result.rowsAffected > 0 ? { moved: true, effects: { campaign: progressOf(result.rows[0]), ...more } } : { moved: false, effects: more };

/**
 * draft → verifying | scheduled | sending (ENTRY). The snapshot (sender, relays, template: JSON,
 * edge/campaigns/snapshot.ts) is kept only when sending begins now; otherwise begin takes it.
 */
export function start(campaignId: string, accountId: string, snapshot: string, now: number): Transition {
  return {
    statements: [
      {
        sql: `UPDATE campaigns SET status = ${ENTRY},
                snapshot = CASE WHEN ${ENTRY} = 'sending' THEN ?3 ELSE NULL END,
                started_at = CASE WHEN ${ENTRY} = 'sending' THEN ?2 ELSE NULL END,
                status_reason = NULL, updated_at = ?2
              WHERE id = ?1 AND account_id = ?4 AND status = 'draft'
              RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now, snapshot, accountId],
      },
    ],
    read: ([moved]) => moves(moved!, began(campaignId)(moved!.rows)),
  };
}

/**
 * Once its job completed: verifying → sending, or → scheduled while send_at is ahead; scheduled →
 * sending once send_at came. The snapshot is taken now (null: the caller did not take one, and the
 * campaign may only go on to scheduled).
 */
export function begin(campaignId: string, snapshot: string | null, now: number): Transition {
  const ahead = "coalesce(send_at, 0) > ?2";
  return {
    statements: [
      {
        sql: `UPDATE campaigns SET status = CASE WHEN ${ahead} THEN 'scheduled' ELSE 'sending' END,
                snapshot = CASE WHEN ${ahead} THEN NULL ELSE ?3 END,
                started_at = CASE WHEN ${ahead} THEN NULL ELSE ?2 END,
                status_reason = NULL, updated_at = ?2
              WHERE id = ?1 AND ${JOB_COMPLETED} AND (?3 IS NOT NULL OR ${ahead})
                AND (status = 'verifying' OR (status = 'scheduled' AND NOT ${ahead}))
              RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now, snapshot],
      },
    ],
    read: ([moved]) => moves(moved!, began(campaignId)(moved!.rows)),
  };
}

/**
 * verifying | scheduled | sending → paused, with why: its owner, or a probe that could not go on
 * (`relay_auth_failed: …`). Pending send batches wait; a probe's next claim is answered `stop`.
 */
export function pause(campaignId: string, reason: string, now: number): Transition {
  return {
    statements: [
      {
        sql: `UPDATE campaigns SET status = 'paused', status_reason = ?3, updated_at = ?2 WHERE id = ?1 AND status IN (${sqlList(PAUSABLE)}) RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now, reason.slice(0, 1_024)],
      },
    ],
    read: ([moved]) => moves(moved!),
  };
}

/**
 * paused → sending, or, for a campaign that never began, where start would send it (ENTRY; the
 * snapshot is then needed, as for start: without one it waits, verifying or scheduled, for the
 * sweeper's begin). The clock of its pending send batches stops while it is paused: their
 * not_before moves on by the pause's length (updated_at is when it paused), so rate_per_hour
 * holds across a pause instead of releasing a backlog at once.
 */
export function resume(campaignId: string, snapshot: string | null, now: number): Transition {
  return {
    statements: [
      {
        sql: `UPDATE send_batches SET not_before = not_before + max(0, ?2 - (SELECT c.updated_at FROM campaigns c WHERE c.id = ?1)), updated_at = ?2
              WHERE campaign_id = ?1 AND status = 'pending'
                AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = ?1 AND c.status = 'paused' AND c.started_at IS NOT NULL)`,
        args: [campaignId, now],
      },
      {
        sql: `UPDATE campaigns SET
                status = CASE WHEN started_at IS NOT NULL THEN 'sending'
                  WHEN ?3 IS NULL THEN (CASE WHEN ${ENTRY} = 'verifying' THEN 'verifying' ELSE 'scheduled' END) ELSE ${ENTRY} END,
                snapshot = CASE WHEN started_at IS NULL AND ?3 IS NOT NULL AND ${ENTRY} = 'sending' THEN ?3 ELSE snapshot END,
                started_at = CASE WHEN started_at IS NULL AND ?3 IS NOT NULL AND ${ENTRY} = 'sending' THEN ?2 ELSE started_at END,
                status_reason = NULL, updated_at = ?2
              WHERE id = ?1 AND status = 'paused'
              RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now, snapshot],
      },
    ],
    read: ([, moved]) => moves(moved!, began(campaignId)(moved!.rows)),
  };
}

/** After an ending: what would still go out does not (only if the campaign is now `status`). */
function closeOut(campaignId: string, status: CampaignStatus, now: number): InStatement[] {
  const ended = `EXISTS (SELECT 1 FROM campaigns WHERE id = ?1 AND status = '${status}')`;
  return [
    { sql: `UPDATE campaign_recipients SET status = 'canceled', updated_at = ?2 WHERE campaign_id = ?1 AND status = 'queued' AND ${ended}`, args: [campaignId, now] },
    { sql: `UPDATE send_batches SET status = 'canceled', updated_at = ?2 WHERE campaign_id = ?1 AND status = 'pending' AND ${ended}`, args: [campaignId, now] },
  ];
}

/** Any open campaign → canceled, with its queued recipients and pending send batches. */
export function cancel(campaignId: string, accountId: string, now: number): Transition {
  return {
    statements: [
      {
        sql: `UPDATE campaigns SET status = 'canceled', status_reason = NULL, finished_at = ?2, updated_at = ?2
              WHERE id = ?1 AND account_id = ?3 AND status IN (${sqlList(OPEN_STATUSES)})
              RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now, accountId],
      },
      ...closeOut(campaignId, "canceled", now),
    ],
    read: ([moved]) => moves(moved!),
  };
}

/** verifying | scheduled | sending | paused → failed, with why (its job failed, was canceled or deleted). */
export function fail(campaignId: string, reason: string, now: number): Transition {
  return {
    statements: [
      {
        sql: `UPDATE campaigns SET status = 'failed', status_reason = ?3, finished_at = ?2, updated_at = ?2
              WHERE id = ?1 AND status IN (${sqlList([...PAUSABLE, "paused"])}) RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now, reason.slice(0, 1_024)],
      },
      ...closeOut(campaignId, "failed", now),
    ],
    read: ([moved]) => moves(moved!),
  };
}

/**
 * sending → completed, once its audience is materialised and nothing is left to send: no
 * recipient queued or being sent, no send batch pending or out. Right after it, the outbox row of
 * `campaign.completed` (only if the campaign completed now, by changes()); its id is the delivery key.
 */
export function complete(campaignId: string, now: number): Transition {
  return {
    statements: [
      {
        sql: `UPDATE campaigns SET status = 'completed', finished_at = ?2, updated_at = ?2
              WHERE id = ?1 AND status = 'sending' AND materialized = 1
                AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = ?1 AND r.status IN ('queued', 'sending'))
                AND NOT EXISTS (SELECT 1 FROM send_batches b WHERE b.campaign_id = ?1 AND b.status IN ('pending', 'dispatched'))
              RETURNING ${PROGRESS_COLUMNS}`,
        args: [campaignId, now],
      },
      {
        sql: `INSERT INTO webhook_events (id, account_id, type, subject_id, created_at)
              SELECT ?1, c.account_id, 'campaign.completed', c.id, ?3 FROM campaigns c
              WHERE c.id = ?2 AND changes() > 0 AND c.status = 'completed'
                AND EXISTS (SELECT 1 FROM webhook_endpoints w, json_each(w.events) e WHERE w.account_id = c.account_id AND w.enabled = 1 AND e.value = 'campaign.completed')`,
        args: [newId("msg"), campaignId, now],
      },
    ],
    read: ([moved, told]) => moves(moved!, { webhooks: told!.rowsAffected > 0 }),
  };
}
