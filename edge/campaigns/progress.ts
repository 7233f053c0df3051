// A campaign's live progress (core/live.ts CampaignProgress) as the writes that move it read it:
// each write that moves a campaign (a lifecycle transition, an audience step, a claim that found
// suppressed addresses, a send chunk, an unsubscribe) reads these columns in the same batch, so the
// progress it hands on as an effect (`campaign`, edge/effects.ts) is what that write left, never a
// later read racing another write. The CampaignHub orders such reads (compareCampaignProgress).
import type { InStatement, Row } from "@libsql/client/web";
import type { CampaignProgress } from "../../core/live.ts";
import type { Services } from "../context.ts";
import type { CampaignRow } from "./views.ts";

/** The columns a progress is made of, for a SELECT or a RETURNING on `campaigns`. */
export const PROGRESS_COLUMNS = "id, status, status_reason, audience, sent, failed, suppressed, skipped_unverified, unsubscribed, bounced, unknown_outcome, updated_at";

/** The campaign's progress, read in a write's batch (after the statements it reports on). */
export const readProgress = (campaignId: string): InStatement => ({ sql: `SELECT ${PROGRESS_COLUMNS} FROM campaigns WHERE id = ?`, args: [campaignId] });

/** A row of PROGRESS_COLUMNS; undefined when there is none (the campaign is gone). */
export function progressOf(row: Row | undefined): CampaignProgress | undefined {
  if (!row) return undefined;
  const n = (column: string) => Number(row[column]);
  return {
    id: String(row.id),
    status: String(row.status) as CampaignProgress["status"],
    status_reason: row.status_reason === null ? null : String(row.status_reason),
    counts: {
      audience: n("audience"),
      sent: n("sent"),
      failed: n("failed"),
      suppressed: n("suppressed"),
      skipped_unverified: n("skipped_unverified"),
      unsubscribed: n("unsubscribed"),
      bounced: n("bounced"),
      unknown_outcome: n("unknown_outcome"),
    },
    updated_at: new Date(n("updated_at")).toISOString(),
  };
}

/** The progress of a campaign read whole (drizzle). */
export function campaignProgress(row: CampaignRow): CampaignProgress {
  return {
    id: row.id,
    status: row.status,
    status_reason: row.statusReason,
    counts: {
      audience: row.audience,
      sent: row.sent,
      failed: row.failed,
      suppressed: row.suppressed,
      skipped_unverified: row.skippedUnverified,
      unsubscribed: row.unsubscribed,
      bounced: row.bounced,
      unknown_outcome: row.unknownOutcome,
    },
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

/**
 * Tells the campaign's hub (its WebSockets), in the background. afterCommit's `campaign` effect;
 * also called by send dispatch, which afterCommit itself runs (as it calls fanOut).
 */
export function tellCampaignHub(s: Pick<Services, "campaignHub" | "waitUntil">, progress: CampaignProgress): void {
  s.waitUntil(s.campaignHub(progress.id).update(progress));
}
