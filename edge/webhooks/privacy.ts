// The webhooks' part of retention and erasure (issue 25, docs/data-protection.md). The outbox keeps
// each event, its deliveries and their attempts EVENT_RETENTION_MS (edge/webhooks/sweep.ts); the
// events that name an address are a single check's result, a domain's decision makers, and a
// campaign recipient's unsubscribe, bounce or complaint. Erasure removes the account's events that
// name the address (a delivery not made yet is then never made); an account that keeps results
// fewer days than the outbox has its events go after those days. What reached the customer's
// endpoint is the customer's.
import type { EdgeDb } from "../db.ts";

/** The event types whose data names addresses (edge/webhooks/outbox.ts, edge/bounces/apply.ts, edge/campaigns/unsubscribe.ts). */
const ADDRESS_EVENTS = "('verification.completed', 'dm.enriched', 'recipient.unsubscribed', 'recipient.bounced', 'recipient.complained')";
/** Events (with their deliveries and attempts) removed per statement. */
export const EVENT_PURGE_ROWS = 500;

/** The three statements that remove the events `ids` selects (its SQL and args), deliveries and attempts first. */
function dropEvents(ids: string, args: (string | number)[]) {
  return [
    { sql: `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id IN (${ids}))`, args },
    { sql: `DELETE FROM webhook_deliveries WHERE event_id IN (${ids})`, args },
    { sql: `DELETE FROM webhook_events WHERE id IN (${ids})`, args },
  ];
}

/** Removes the account's events whose data names the address (its JSON string, in any ASCII case); answers how many. */
export async function eraseEvents(db: EdgeDb, accountId: string, address: string): Promise<number> {
  // Read first, then delete by id: the search reads every such event of the account, and holds no lock while it does.
  const { rows } = await db.$client.execute({
    sql: `SELECT id FROM webhook_events WHERE account_id = ? AND type IN ${ADDRESS_EVENTS} AND instr(lower(data), ?) > 0`,
    args: [accountId, JSON.stringify(address)],
  });
  if (rows.length === 0) return 0;
  const [, , events] = await db.$client.batch(dropEvents("SELECT value FROM json_each(?)", [JSON.stringify(rows.map((r) => String(r.id)))]), "write");
  return events!.rowsAffected;
}

/** Retention over every account with a setting: events older than its days, at most `rows` of them. */
export async function purgeExpiredEvents(db: EdgeDb, now: number, rows = EVENT_PURGE_ROWS): Promise<number> {
  // The same ids in each statement (ordered), so deliveries and attempts go with their event.
  const old = `SELECT e.id FROM accounts a JOIN webhook_events e ON e.account_id = a.id AND e.created_at < ?1 - a.retention_days * 86400000
               WHERE a.retention_days IS NOT NULL ORDER BY e.id LIMIT ?2`;
  const [, , events] = await db.$client.batch(dropEvents(old, [now, rows]), "write");
  return events!.rowsAffected;
}
