// The campaigns' part of the scheduled sweeper (edge/worker.ts scheduled(), every minute; the
// local stack fires it too): campaigns waiting for their job or their time begin (or fail with
// their job), audiences still being prepared take their next steps, send batches whose lease ran
// out (their probe died or went silent) are taken back, their claimed recipients reported
// unknown_outcome, and due send batches go out. Fleet-wide: `(services, now)`. Every write is one
// statement or one batch; what follows goes through afterCommit.
import type { Services } from "../context.ts";
import type { Effects } from "../effects.ts";
import { afterCommit } from "../aftercommit.ts";
import { writeParts } from "../jobs/lifecycle.ts";
import { materializeCampaign } from "./audience.ts";
import { dispatchSends } from "./dispatch.ts";
import { begin, complete, fail, pause, type Transition } from "./lifecycle.ts";
import { closeSendBatch } from "./records.ts";
import { takeSnapshot } from "./snapshot.ts";

/** Lapsed send batches taken back per sweep; the next sweep takes the rest. */
const LAPSED_PER_SWEEP = 200;

export interface CampaignSweep {
  begun: number;
  failed: number;
  /** Could not begin: their sender or template is no longer usable (status_reason says why). */
  paused: number;
  /** Lapsed send batches taken back (pending again, or closed when out of attempts). */
  reclaimed: number;
  completed: number;
  dispatched: number;
}

/**
 * What of a write's effects the sweep hands on: a completion's event and the hub's news. The sweep
 * itself prepares the audiences and dispatches below, in turn, rather than beside itself.
 */
const handedOn = ({ webhooks, campaign }: Effects): Effects => ({ webhooks, campaign });

/** Runs a transition. */
async function run(s: Services, t: Transition): Promise<boolean> {
  const [results] = await writeParts(s.db, [t.statements]);
  const { moved, effects } = t.read(results);
  afterCommit(s, handedOn(effects));
  return moved;
}

export async function sweepCampaigns(s: Services, now = Date.now()): Promise<CampaignSweep> {
  const { db } = s;
  const outcome: CampaignSweep = { begun: 0, failed: 0, paused: 0, reclaimed: 0, completed: 0, dispatched: 0 };

  // Waiting campaigns, and open ones whose job is gone.
  const waiting = await db.$client.execute({
    sql: `SELECT c.id, c.account_id, c.sender_id, c.template_id, c.job_id, c.status, c.send_at, j.status AS job_status, j.deleted_at AS job_deleted_at
          FROM campaigns c LEFT JOIN jobs j ON j.id = c.job_id
          WHERE c.status IN ('verifying', 'scheduled')
             OR (c.status IN ('sending', 'paused') AND (j.id IS NULL OR j.deleted_at IS NOT NULL))`,
    args: [],
  });
  for (const c of waiting.rows) {
    const id = String(c.id);
    if (c.job_status === null || c.job_deleted_at !== null) {
      if (await run(s, fail(id, `job ${String(c.job_id)} was deleted`, now))) outcome.failed++;
      continue;
    }
    if (c.job_status === "failed" || c.job_status === "canceled") {
      if (await run(s, fail(id, `job ${String(c.job_id)} ${String(c.job_status)}`, now))) outcome.failed++;
      continue;
    }
    if (c.job_status !== "completed") continue;
    const due = c.send_at === null || Number(c.send_at) <= now;
    if (c.status === "scheduled" && !due) continue;
    // The snapshot is taken only when sending begins (a verifying campaign may move on to scheduled).
    let snapshot: string | null = null;
    if (due) {
      const read = await takeSnapshot(db, { accountId: String(c.account_id), senderId: String(c.sender_id), templateId: String(c.template_id) });
      if (!read.ok) {
        if (await run(s, pause(id, `${read.code}: ${read.message}`, now))) outcome.paused++;
        continue;
      }
      snapshot = JSON.stringify(read.snapshot);
    }
    if (await run(s, begin(id, snapshot, now))) outcome.begun++;
  }

  // Audiences still being prepared: a few steps each (a finished send batch also carries them on).
  const preparing = await db.$client.execute("SELECT id FROM campaigns WHERE status = 'sending' AND materialized = 0");
  for (const c of preparing.rows) afterCommit(s, handedOn(await materializeCampaign(s, String(c.id), undefined, now)));

  // Send batches whose lease ran out, or whose probe died: taken back in one write.
  const lapsed = await db.$client.execute({
    sql: `SELECT id, campaign_id FROM send_batches
          WHERE status = 'dispatched' AND (lease_expires_at < ?1 OR probe_id IN (SELECT id FROM probes WHERE status = 'dead')) LIMIT ?2`,
    args: [now, LAPSED_PER_SWEEP],
  });
  if (lapsed.rows.length > 0) {
    const closing = lapsed.rows.map((b) => closeSendBatch(String(b.id), String(b.campaign_id), { lapsedAt: now }, now));
    const results = await writeParts(db, closing.map((c) => c.statements));
    for (const [i, c] of closing.entries()) {
      const { closed, effects } = c.read(results[i]!);
      if (closed) outcome.reclaimed++;
      afterCommit(s, handedOn(effects));
    }
  }

  // A sending campaign with nothing left completes (each path that empties one completes it too;
  // this is the net under them).
  const finished = await db.$client.execute(`SELECT c.id FROM campaigns c WHERE c.status = 'sending' AND c.materialized = 1
      AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status IN ('queued', 'sending'))
      AND NOT EXISTS (SELECT 1 FROM send_batches b WHERE b.campaign_id = c.id AND b.status IN ('pending', 'dispatched'))`);
  for (const c of finished.rows) if (await run(s, complete(String(c.id), now))) outcome.completed++;

  outcome.dispatched = await dispatchSends(s, now);
  return outcome;
}
