// Dispatch of send batches, as edge/dispatch/dispatch.ts dispatches verification batches: pending
// batches of sending campaigns whose time came (not_before) are claimed (status, probe, lease,
// attempts + 1) by one conditional UPDATE … RETURNING, so concurrent dispatchers never send one
// twice, then built and handed to the Dispatcher with no database write in flight. Each carries its
// campaign's snapshot (sender, template), its queued recipients with their row of the list as the
// template's variables and their signed token, and the sender's relays read fresh, each password
// opened from the account's data key and sealed again under the probe transport key, so QStash
// never holds one in clear. A claimed batch is not yet a claimed recipient: the probe claims each
// group before it sends (edge/campaigns/claims.ts). Fleet-wide: `(services, now)`.
//
// Fairness is simple: each account's batches oldest first (not_before, then the order they were
// made), accounts taking turns (one batch each per round), up to the room live probes have; no plan
// weights. A probe's room counts its verification batches too, while verification's dispatch does
// not count send batches: sending yields to verification, whose lists people wait on.
import type { RelayWire, SendBatch } from "../../core/contracts.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import { UNKNOWN_ORIGIN, type Services } from "../context.ts";
import { liveProbes } from "../dispatch/dispatch.ts";
import { ServiceError } from "../errors.ts";
import { wireRelays } from "../relays/relays.ts";
import { rowVariables } from "../templates/variables.ts";
import { fanOut } from "../webhooks/outbox.ts";
import { pause } from "./lifecycle.ts";
import { closeSendBatch } from "./records.ts";
import { tellCampaignHub } from "./progress.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";

type Claimed = { id: string; campaignId: string; accountId: string; probeId: string; attempts: number };

/** Sends as many due send batches as live probes have room for; returns how many went. */
export async function dispatchSends(s: Services, now = Date.now()): Promise<number> {
  const { db, dispatcher, config } = s;
  if (!dispatcher) return 0; // dispatchPending says why, once per pass
  if (s.origin === UNKNOWN_ORIGIN) {
    // Every message carries our unsubscribe URL: a scheduled run that cannot name us sends none;
    // the batches wait for a request's pass, or for MXRAY_PUBLIC_URL (docs/configuration.md).
    console.log(JSON.stringify({ msg: "send batches wait: set MXRAY_PUBLIC_URL so scheduled runs can write unsubscribe links" }));
    return 0;
  }
  const alive = await liveProbes(s, now);
  if (alive.length === 0) return 0;
  const busy = await db.$client.execute(
    `SELECT probe_id, count(*) AS n FROM (SELECT probe_id FROM batches WHERE status = 'dispatched' UNION ALL SELECT probe_id FROM send_batches WHERE status = 'dispatched')
     GROUP BY probe_id`,
  );
  const room = new Map(alive.map((p) => [p.id, Math.max(1, p.capacity) - Number(busy.rows.find((r) => r.probe_id === p.id)?.n ?? 0)]));
  const free = [...room.values()].reduce((a, b) => a + Math.max(0, b), 0);
  if (free === 0) return 0;
  const due = await db.$client.execute({
    sql: `WITH ranked AS (
            SELECT b.id, b.probe_id, b.not_before, b.rowid AS made,
              row_number() OVER (PARTITION BY b.account_id ORDER BY b.not_before, b.rowid) AS turn
            FROM send_batches b
            JOIN campaigns c ON c.id = b.campaign_id
            JOIN accounts a ON a.id = b.account_id
            WHERE b.status = 'pending' AND b.not_before <= ?1 AND c.status = 'sending' AND a.disabled_at IS NULL)
          SELECT id, probe_id FROM ranked WHERE turn <= ?2 ORDER BY turn, not_before, made LIMIT ?2`,
    args: [now, free],
  });
  // Each to the probe with the most room, preferring one that did not just drop it (a batch taken
  // back from a probe that died goes elsewhere while the dead one's heartbeat still looks fresh).
  const plan: [string, string][] = [];
  for (const { id, probe_id: last } of due.rows) {
    const [probeId, n] = [...room.entries()].filter(([, n]) => n > 0).sort((a, b) => Number(a[0] === last) - Number(b[0] === last) || b[1] - a[1])[0] ?? ["", 0];
    if (n <= 0) break;
    plan.push([String(id), probeId]);
    room.set(probeId, n - 1);
  }
  if (plan.length === 0) return 0;
  const claimedRows = await db.$client.execute({
    sql: `UPDATE send_batches SET status = 'dispatched', probe_id = (SELECT p.value ->> 1 FROM json_each(?1) p WHERE p.value ->> 0 = send_batches.id),
            lease_expires_at = ?2, attempts = attempts + 1, updated_at = ?3
          WHERE id IN (SELECT p.value ->> 0 FROM json_each(?1) p) AND status = 'pending'
            AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = send_batches.campaign_id AND c.status = 'sending')
          RETURNING id, campaign_id, account_id, probe_id, attempts`,
    args: [JSON.stringify(plan), now + config.MXRAY_SEND_LEASE_MS, now],
  });
  const claimed: Claimed[] = claimedRows.rows.map((r) => ({ id: String(r.id), campaignId: String(r.campaign_id), accountId: String(r.account_id), probeId: String(r.probe_id), attempts: Number(r.attempts) }));
  if (claimed.length === 0) return 0;

  // Read after the claim (reads: no lock held while the batches travel).
  const batchIds = JSON.stringify(claimed.map((b) => b.id));
  const campaignIds = JSON.stringify([...new Set(claimed.map((b) => b.campaignId))]);
  const [campaignRows, recipientRows] = await db.$client.batch(
    [
      {
        sql: `SELECT c.id, c.snapshot, j.columns FROM campaigns c LEFT JOIN jobs j ON j.id = c.job_id WHERE c.id IN (SELECT value FROM json_each(?1))`,
        args: [campaignIds],
      },
      {
        sql: `SELECT r.id, r.batch_id, r.email, e.row FROM campaign_recipients r
              JOIN campaigns c ON c.id = r.campaign_id
              LEFT JOIN job_emails e ON e.job_id = c.job_id AND e.normalized = r.normalized
              WHERE r.batch_id IN (SELECT value FROM json_each(?1)) AND r.status = 'queued' ORDER BY r.id`,
        args: [batchIds],
      },
    ],
    "read",
  );
  const campaignsById = new Map(campaignRows!.rows.map((c) => [String(c.id), c]));
  const relaysOf = relayReader(s);

  let sent = 0;
  const released: Claimed[] = [];
  for (const batch of claimed) {
    const recipients = recipientRows!.rows.filter((r) => r.batch_id === batch.id);
    const campaign = campaignsById.get(batch.campaignId);
    if (recipients.length === 0 || !campaign?.snapshot) {
      // Nothing queued is left (claimed and answered in an earlier attempt): it closes now.
      const closing = closeSendBatch(batch.id, batch.campaignId, { probeId: batch.probeId, attempt: batch.attempts }, now);
      // Its campaign may complete with it (its event goes out, its hub hears); the rest follows the next pass.
      const { effects } = closing.read(await db.$client.batch(closing.statements, "write"));
      if (effects.webhooks) s.waitUntil(fanOut(s));
      if (effects.campaign) tellCampaignHub(s, effects.campaign);
      continue;
    }
    const snapshot = parseSnapshot(String(campaign.snapshot));
    const relays = await relaysOf(batch.accountId, snapshot);
    if (!relays.ok) {
      // The sender's pool cannot be used as it stands: the campaign pauses with why, and the batch
      // waits, this dispatch not counted, until its owner resumes it.
      const pausing = pause(batch.campaignId, relays.reason, now);
      const { effects } = pausing.read(await db.$client.batch(pausing.statements, "write"));
      if (effects.campaign) tellCampaignHub(s, effects.campaign);
      released.push(batch);
      continue;
    }
    const probe = alive.find((p) => p.id === batch.probeId)!;
    const columns = campaign.columns ? (JSON.parse(String(campaign.columns)) as string[]) : null;
    const send: SendBatch = {
      batch_id: batch.id,
      campaign_id: batch.campaignId,
      attempt: batch.attempts,
      sender: snapshot.sender,
      bounce_domain: snapshot.bounce_domain,
      relays: relays.wire,
      template: snapshot.template,
      unsubscribe_base: `${s.origin}/u/`,
      recipients: await Promise.all(
        recipients.map(async (r) => ({
          id: Number(r.id),
          email: String(r.email),
          token: await recipientToken(config.SESSION_SECRET, { accountId: batch.accountId, campaignId: batch.campaignId, recipientId: Number(r.id) }),
          vars: rowVariables(columns, r.row === null ? null : (JSON.parse(String(r.row)) as unknown[]), String(r.email)),
        })),
      ),
      budget_ms: config.MXRAY_SEND_BUDGET_MS,
      // Probes post to their configured EDGE_URL unless we know our public URL.
      ...(config.MXRAY_PUBLIC_URL ? { callback_url: `${s.origin}/internal/probes/sends/results` } : {}),
    };
    const outcome = await dispatcher.dispatch({ probeUrl: probe.url, probeId: probe.id, send });
    if (outcome.ok) sent++;
    else {
      console.log(JSON.stringify({ msg: "send dispatch failed", batch_id: batch.id, probe_id: probe.id, error: outcome.error }));
      // Not sent: back in the queue for the next pass; the attempt counts, so an unreachable
      // probe cannot keep a batch cycling for ever (MAX_SEND_ATTEMPTS).
      await db.$client.execute({
        sql: "UPDATE send_batches SET status = 'pending', lease_expires_at = NULL, updated_at = ?2 WHERE id = ?1 AND status = 'dispatched' AND attempts = ?3",
        args: [batch.id, now, batch.attempts],
      });
    }
  }
  if (released.length > 0) {
    await db.$client.execute({
      sql: `UPDATE send_batches SET status = 'pending', lease_expires_at = NULL, attempts = attempts - 1, updated_at = ?2
            WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'dispatched'`,
      args: [JSON.stringify(released.map((b) => b.id)), now],
    });
  }
  return sent;
}

type RelaysRead = { ok: true; wire: RelayWire[] } | { ok: false; reason: string };

/**
 * The snapshot's relays as a probe needs them, in failover order, read fresh (their limits and
 * passwords may have changed); once per account and pool within a dispatch pass. A pool that
 * cannot be used (a relay gone, a password that no longer opens) pauses the campaign with why.
 */
function relayReader(s: Services): (accountId: string, snapshot: Snapshot) => Promise<RelaysRead> {
  const read = new Map<string, Promise<RelaysRead>>();
  return (accountId, snapshot) => {
    const key = `${accountId}:${snapshot.relay_ids.join(",")}`;
    let relays = read.get(key);
    if (!relays) {
      relays = wireRelays(s, accountId, snapshot.relay_ids).then(
        (wire): RelaysRead => ({ ok: true, wire }),
        (e: unknown): RelaysRead => {
          if (!(e instanceof ServiceError)) throw e;
          return { ok: false, reason: `${e.code === "not_found" ? "relays_exhausted" : "relay_unreadable"}: ${e.message}` };
        },
      );
      read.set(key, relays);
    }
    return relays;
  };
}
