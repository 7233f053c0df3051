// Recording what became of claimed recipients (POST /internal/probes/sends/results): a probe's
// send chunk, through its durable outbox, applied in one round trip as one `batch`. Each outcome
// moves a recipient only from where it may come (sending; or unknown_outcome, which a late true
// answer replaces), and the campaign's counter moves right after by changes(), the rows that just
// moved, so a chunk delivered twice counts nothing twice. A chunk may pause its campaign (a relay
// refused the login, or no relay of the pool was left). A final chunk closes the batch: done, or
// back to pending while it still has queued recipients (released: deferred, or stopped), and the
// campaign completes when nothing is left. The sweeper closes a batch whose lease ran out the same
// way (closeSendBatch). Whatever moved, the campaign's hub hears of it with the counts the write
// left. Takes the database, not services, so a benchmark can measure it bare.
import type { InStatement, ResultSet } from "@libsql/client/web";
import type { SendChunk, SendOutcome } from "../../core/contracts.ts";
import type { EdgeDb } from "../db.ts";
import type { Effects } from "../effects.ts";
import { complete, pause } from "./lifecycle.ts";
import { progressOf, PROGRESS_COLUMNS, readProgress } from "./progress.ts";

/** Dispatches of one send batch before what it still has queued is given up as failed. */
export const MAX_SEND_ATTEMPTS = 5;
/** A batch released with recipients still queued goes out again after this long. */
export const RELEASED_BATCH_DELAY_MS = 60_000;

/** Who may close a batch: its probe's final chunk (of its current attempt, when named), or the sweeper once its lease ran out. */
export type CloseBy = { probeId: string; attempt: number | null } | { lapsedAt: number };

type Arg = string | number | null;

/**
 * `sql` with GUARD standing for "the batch ?1 of campaign ?2 is still out, and `by` may close it";
 * ?3 is now, then `extra` (?4, …), then the guard's own parameters: each statement binds exactly
 * the parameters it names (sqld refuses more).
 */
function guarded(by: CloseBy, sql: string, batchId: string, campaignId: string, now: number, extra: Arg[] = []): InStatement {
  const at = 4 + extra.length;
  const guard =
    "lapsedAt" in by
      ? `EXISTS (SELECT 1 FROM send_batches b WHERE b.id = ?1 AND b.campaign_id = ?2 AND b.status = 'dispatched'
           AND (b.lease_expires_at < ?${at} OR b.probe_id IN (SELECT p.id FROM probes p WHERE p.status = 'dead')))`
      : `EXISTS (SELECT 1 FROM send_batches b WHERE b.id = ?1 AND b.campaign_id = ?2 AND b.status = 'dispatched'
           AND b.probe_id = ?${at} AND (?${at + 1} IS NULL OR b.attempts = ?${at + 1}))`;
  const own = !sql.includes("GUARD") ? [] : "lapsedAt" in by ? [by.lapsedAt] : [by.probeId, by.attempt];
  return { sql: sql.replace("GUARD", guard), args: [batchId, campaignId, now, ...extra, ...own] };
}

/**
 * Closes a send batch that is still out, if `by` may: recipients it left `sending` (the probe
 * died, or never reported them) become unknown_outcome, never sent again; after
 * MAX_SEND_ATTEMPTS dispatches what is still queued fails; then the batch is done, or pending
 * again while it has queued recipients (after RELEASED_BATCH_DELAY_MS when its probe released
 * them; at once when its lease lapsed); then the campaign
 * completes if nothing is left. Counters move by changes(), in the same write.
 */
export function closeSendBatch(batchId: string, campaignId: string, by: CloseBy, now: number): { statements: InStatement[]; read(results: ResultSet[]): { closed: boolean; effects: Effects } } {
  const ending = complete(campaignId, now);
  const statements: InStatement[] = [
    guarded(by, "UPDATE campaign_recipients SET status = 'unknown_outcome', updated_at = ?3 WHERE batch_id = ?1 AND campaign_id = ?2 AND status = 'sending' AND GUARD", batchId, campaignId, now),
    { sql: "UPDATE campaigns SET unknown_outcome = unknown_outcome + changes() WHERE id = ?", args: [campaignId] },
    guarded(
      by,
      `UPDATE campaign_recipients SET status = 'failed', updated_at = ?3 WHERE batch_id = ?1 AND campaign_id = ?2 AND status = 'queued' AND GUARD
         AND (SELECT b.attempts FROM send_batches b WHERE b.id = ?1) >= ?4`,
      batchId,
      campaignId,
      now,
      [MAX_SEND_ATTEMPTS],
    ),
    { sql: "UPDATE campaigns SET failed = failed + changes() WHERE id = ?", args: [campaignId] },
    guarded(
      by,
      `UPDATE send_batches SET
         status = CASE WHEN EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.batch_id = ?1 AND r.status = 'queued') THEN 'pending' ELSE 'done' END,
         not_before = max(not_before, ?4), lease_expires_at = NULL, updated_at = ?3
       WHERE id = ?1 AND GUARD`,
      batchId,
      campaignId,
      now,
      // Taken back from a probe that died or went silent, it is due at once: its lease was the wait.
      ["lapsedAt" in by ? now : now + RELEASED_BATCH_DELAY_MS],
    ),
    ...ending.statements,
    { sql: `SELECT ${PROGRESS_COLUMNS}, materialized FROM campaigns WHERE id = ?`, args: [campaignId] },
  ];
  return {
    statements,
    read(results) {
      const closed = results[4]!.rowsAffected > 0;
      const completed = ending.read(results.slice(5, 5 + ending.statements.length));
      const campaign = results.at(-1)!.rows[0];
      // A sending campaign whose audience is still being prepared goes on with it (each finished batch carries it).
      const more = campaign?.status === "sending" && Number(campaign.materialized) === 0;
      // Not closed: nothing of this batch moved, though the campaign may have completed (told by complete).
      const told = closed ? { campaign: progressOf(campaign) } : {};
      return { closed, effects: { ...completed.effects, ...told, sendDispatch: closed, ...(more ? { materialize: campaignId } : {}) } };
    },
  };
}

/**
 * Where an outcome may come from, and the counters it moves: a recipient still `sending` (its
 * answer), or `unknown_outcome` (a late true answer replaces the guess; its count moves back).
 */
const MOVES: Record<SendOutcome["status"], { from: "sending" | "unknown_outcome"; counters: string | null }[]> = {
  sent: [
    { from: "sending", counters: "sent = sent + changes()" },
    { from: "unknown_outcome", counters: "sent = sent + changes(), unknown_outcome = unknown_outcome - changes()" },
  ],
  failed: [
    { from: "sending", counters: "failed = failed + changes()" },
    { from: "unknown_outcome", counters: "failed = failed + changes(), unknown_outcome = unknown_outcome - changes()" },
  ],
  unknown_outcome: [{ from: "sending", counters: "unknown_outcome = unknown_outcome + changes()" }],
  // Released unsent: queued again, only by the batch's current dispatch (see SendChunkSchema.attempt).
  queued: [{ from: "sending", counters: null }],
};

export interface AppliedSends {
  /** Recipients that moved; 0 for a repeated chunk. */
  applied: number;
  paused: boolean;
  /** The final chunk closed the batch. */
  closed: boolean;
  effects: Effects;
}

export async function applySendChunk(db: EdgeDb, chunk: SendChunk, now = Date.now()): Promise<AppliedSends> {
  const { batch_id: batchId, campaign_id: campaignId } = chunk;
  const by: CloseBy = { probeId: chunk.probe_id, attempt: chunk.attempt ?? null };
  // Each move, then its counter (by changes(): nothing may run between them).
  const statements: InStatement[] = [];
  const moves: number[] = [];
  for (const status of ["sent", "failed", "unknown_outcome", "queued"] as const) {
    const rows = chunk.outcomes.filter((o) => o.status === status).map((o) => [o.id, o.relay_id, o.queue_id, o.reply ? JSON.stringify(o.reply) : null]);
    if (rows.length === 0) continue;
    for (const { from, counters } of MOVES[status]) {
      moves.push(statements.length);
      statements.push(
        guarded(
          by,
          `UPDATE campaign_recipients SET status = ?4, relay_id = o.relay_id, queue_id = o.queue_id, reply = o.reply, updated_at = ?3
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS relay_id, value ->> 2 AS queue_id, value ->> 3 AS reply FROM json_each(?5)) AS o
           WHERE campaign_recipients.id = o.id AND campaign_recipients.batch_id = ?1 AND campaign_recipients.campaign_id = ?2
             AND campaign_recipients.status = '${from}' ${status === "queued" ? "AND GUARD" : ""}`,
          batchId,
          campaignId,
          now,
          [status, JSON.stringify(rows)],
        ),
      );
      if (counters) statements.push({ sql: `UPDATE campaigns SET ${counters} WHERE id = ?`, args: [campaignId] });
    }
  }
  const pausing = chunk.pause ? pause(campaignId, `${chunk.pause.reason}: ${chunk.pause.detail}`, now) : null;
  const closing = chunk.final ? closeSendBatch(batchId, campaignId, by, now) : null;
  // Last, the campaign as the whole write left it, for its hub.
  const results = await db.$client.batch([...statements, ...(pausing?.statements ?? []), ...(closing?.statements ?? []), readProgress(campaignId)], "write");
  const applied = moves.reduce((n, at) => n + results[at]!.rowsAffected, 0);
  const rest = results.slice(statements.length, -1);
  const paused = pausing?.read(rest.slice(0, pausing.statements.length)).moved ?? false;
  const closed = closing?.read(rest.slice(pausing?.statements.length ?? 0)) ?? { closed: false, effects: {} };
  // A repeated chunk moved nothing: the hub has heard it all.
  const told = applied > 0 || paused || closed.closed ? { campaign: progressOf(results.at(-1)!.rows[0]) } : {};
  return { applied, paused, closed: closed.closed, effects: { ...closed.effects, ...told } };
}
