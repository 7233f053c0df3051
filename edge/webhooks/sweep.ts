// The webhooks' part of the minute sweeper (edge/worker.ts scheduled): what a request left undone.
import type { Services } from "../context.ts";
import { vaultOf } from "../secrets/secrets.ts";
import { attemptDelivery, handOver } from "./delivery.ts";
import { fanOut } from "./outbox.ts";
import { sealClearWebhookSecrets } from "./secrets.ts";

/** Deliveries the sweeper attempts per run; the rest wait for the next minute. */
const SWEEP_BATCH = 50;
/** Events (with their deliveries and attempts) are kept this long, past the last retry. */
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60_000;

export interface WebhookSweep {
  fannedOut: number;
  attempted: number;
  purgedEvents: number;
  /** Secrets from before migration 0012 sealed in this run. */
  sealedSecrets: number;
}

/**
 * The sweeper's part: fan out what a request did not, hand due deliveries (and lost claims) to
 * the transport (attempted here under the direct stand-in), and drop events past retention.
 */
export async function sweepWebhooks(s: Services, now = Date.now()): Promise<WebhookSweep> {
  const fannedOut = await fanOut(s, now);
  const due = await s.db.$client.execute({
    sql: `SELECT id, attempts FROM webhook_deliveries
          WHERE (status = 'pending' AND next_attempt_at <= ?1) OR (status = 'delivering' AND claimed_until < ?1)
          ORDER BY next_attempt_at LIMIT ?2`,
    args: [now, SWEEP_BATCH],
  });
  const ids = due.rows.map((r) => ({ id: String(r.id), attempts: Number(r.attempts) }));
  if (s.webhookQueue.kind === "direct") await Promise.all(ids.map((d) => attemptDelivery(s, d.id, now)));
  else for (const d of ids) await handOver(s, d.id, d.attempts);
  // The same 500 in each statement (ordered), so deliveries and attempts go with their event.
  const old = "SELECT id FROM webhook_events WHERE created_at < ?1 ORDER BY created_at, id LIMIT 500";
  const [, , purged] = await s.db.$client.batch(
    [
      { sql: `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id IN (${old}))`, args: [now - EVENT_RETENTION_MS] },
      { sql: `DELETE FROM webhook_deliveries WHERE event_id IN (${old})`, args: [now - EVENT_RETENTION_MS] },
      { sql: `DELETE FROM webhook_events WHERE id IN (${old})`, args: [now - EVENT_RETENTION_MS] },
    ],
    "write",
  );
  const sealedSecrets = await sealClearWebhookSecrets(await vaultOf(s));
  return { fannedOut, attempted: ids.length, purgedEvents: purged!.rowsAffected, sealedSecrets };
}
