// One-click unsubscribe (RFC 8058, issue 23): a recipient's token (core/unsubscribe.ts) names its
// row, and its MAC binds the row to the account and campaign; a token that does not check out is
// "not found", with no word on why. Unsubscribing suppresses the address for the whole account
// (edge/suppressions), marks the recipient, counts it on its campaign and writes its
// `recipient.unsubscribed` event, all in one write; a second click changes and counts nothing.
// The campaign's hub hears of the count.
import type { InStatement } from "@libsql/client/web";
import { newId } from "../../core/ids.ts";
import type { RecipientUnsubscribed } from "../../core/samples.ts";
import { checkRecipientToken, tokenRecipientId } from "../../core/unsubscribe.ts";
import { afterCommit } from "../aftercommit.ts";
import { sessionSecrets } from "../config.ts";
import type { Services } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { suppressStatements } from "../suppressions/suppressions.ts";
import { progressOf, readProgress } from "./progress.ts";

interface TokenRecipient {
  id: number;
  email: string;
  normalized: string;
  unsubscribedAt: number | null;
  campaignId: string;
  accountId: string;
}

/** The recipient a token names, once its MAC checks out against the row's account and campaign. */
async function tokenRecipient(s: Services, token: string): Promise<TokenRecipient> {
  const notFound = () => new ServiceError("not_found", "No such unsubscribe link");
  const id = tokenRecipientId(token);
  if (id === null) throw notFound();
  const { rows } = await s.db.$client.execute({
    sql: `SELECT r.id, r.email, r.normalized, r.unsubscribed_at, c.id AS campaign_id, c.account_id
          FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = ?`,
    args: [id],
  });
  const row = rows[0];
  if (!row) throw notFound();
  const recipient: TokenRecipient = {
    id: Number(row.id),
    email: String(row.email),
    normalized: String(row.normalized),
    unsubscribedAt: row.unsubscribed_at === null ? null : Number(row.unsubscribed_at),
    campaignId: String(row.campaign_id),
    accountId: String(row.account_id),
  };
  const ref = { accountId: recipient.accountId, campaignId: recipient.campaignId, recipientId: recipient.id };
  if (!(await checkRecipientToken(sessionSecrets(s.config), token, ref))) throw notFound();
  return recipient;
}

/** What the unsubscribe page shows before anything is done (GET never unsubscribes: link scanners fetch it). */
export async function unsubscribeTarget(s: Services, token: string): Promise<{ email: string; unsubscribed: boolean }> {
  const r = await tokenRecipient(s, token);
  return { email: r.email, unsubscribed: r.unsubscribedAt !== null };
}

/**
 * The recipient's `recipient.unsubscribed` outbox row: only when the statement before it counted
 * this click (changes() > 0), and only for an account with an enabled endpoint for the event.
 * Its id is the delivery key (`msg_…`): each endpoint gets it once, retries included.
 */
const recordEvent = (r: TokenRecipient, data: RecipientUnsubscribed, now: number): InStatement => ({
  sql: `INSERT INTO webhook_events (id, account_id, type, subject_id, data, created_at)
        SELECT ?1, ?2, 'recipient.unsubscribed', ?3, ?4, ?5
        WHERE changes() > 0
          AND EXISTS (SELECT 1 FROM webhook_endpoints w, json_each(w.events) e WHERE w.account_id = ?2 AND w.enabled = 1 AND e.value = 'recipient.unsubscribed')`,
  args: [newId("msg"), r.accountId, String(r.id), JSON.stringify(data), now],
});

/**
 * Suppresses the token's address for its account and marks its recipient unsubscribed. Answers
 * whether this call did it (false: an earlier click had). The statements chain by changes(), so
 * nothing may run between them: the campaign counts the recipient only if its row changed now,
 * and the event is written only if the campaign counted it.
 */
export async function unsubscribe(s: Services, token: string, now = Date.now()): Promise<{ email: string; changed: boolean }> {
  const r = await tokenRecipient(s, token);
  const data: RecipientUnsubscribed = { email: r.email, campaign_id: r.campaignId, recipient_id: r.id, unsubscribed_at: new Date(now).toISOString() };
  const suppress = suppressStatements(r.accountId, r.normalized, "unsubscribed", { campaignId: r.campaignId, source: "recipient" }, now);
  const results = await s.db.$client.batch(
    [
      ...suppress,
      { sql: "UPDATE campaign_recipients SET unsubscribed_at = ?1, updated_at = ?1 WHERE id = ?2 AND unsubscribed_at IS NULL", args: [now, r.id] },
      { sql: "UPDATE campaigns SET unsubscribed = unsubscribed + 1, updated_at = ?1 WHERE id = ?2 AND changes() > 0", args: [now, r.campaignId] },
      recordEvent(r, data, now),
      readProgress(r.campaignId),
    ],
    "write",
  );
  const [marked, , told, progress] = results.slice(suppress.length);
  afterCommit(s, { webhooks: told!.rowsAffected > 0, campaign: marked!.rowsAffected > 0 ? progressOf(progress!.rows[0]) : undefined });
  return { email: r.email, changed: marked!.rowsAffected > 0 };
}
