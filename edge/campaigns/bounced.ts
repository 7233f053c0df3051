// A campaign's side of a bounce (issue 24): edge/bounces applies a hard bounce or a complaint and
// asks here for what it does to the recipient and its campaign, inside its own write. The recipient
// keeps the first one (bounced_at, bounce_kind), and the campaign counts it only then, so a
// second report of the same message, by IMAP or through the API, counts nothing.
import type { InStatement, ResultSet } from "@libsql/client/web";
import type { BounceKind } from "../../core/enums.ts";
import type { CampaignProgress } from "../../core/live.ts";
import type { StatementCondition } from "../suppressions/suppressions.ts";
import { progressOf, readProgress } from "./progress.ts";

/**
 * Marks the recipient bounced (only if it was not, and only if `when` holds) and counts it on its
 * campaign right after (changes()), then reads the campaign's progress: three statements, in this
 * order with nothing between them.
 */
export function recipientBouncedStatements(campaignId: string, recipientId: number, kind: BounceKind, occurredAt: number, now: number, when: StatementCondition): InStatement[] {
  return [
    {
      sql: `UPDATE campaign_recipients SET bounced_at = ?, bounce_kind = ?, updated_at = ? WHERE id = ? AND campaign_id = ? AND bounced_at IS NULL AND ${when.sql}`,
      args: [occurredAt, kind, now, recipientId, campaignId, ...when.args],
    },
    { sql: "UPDATE campaigns SET bounced = bounced + 1, updated_at = ? WHERE id = ? AND changes() > 0", args: [now, campaignId] },
    readProgress(campaignId),
  ];
}

/** What those statements did: the campaign's progress when it counted the recipient now, else undefined. */
export function recipientBouncedRead(results: ResultSet[]): CampaignProgress | undefined {
  const [, counted, progress] = results;
  return counted!.rowsAffected > 0 ? progressOf(progress!.rows[0]) : undefined;
}
