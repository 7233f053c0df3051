// Webhook signing secrets at rest (issue 21): `webhook_endpoints.secret` holds the `whsec_…`
// sealed under the account's data key for that endpoint (edge/secrets/secrets.ts), so a database
// dump cannot forge our deliveries. Rows from before migration 0012 hold the secret in clear:
// those still sign, and the sweeper (and `npm run secrets:rotate`) seal them in place.
// Part of the webhooks capability; it needs no Services, so the Node command can load it.
import { isSealed } from "../../core/secrets.ts";
import { openSecret, sealSecret, type Vault } from "../secrets/secrets.ts";

export const WEBHOOK_SECRET_PURPOSE = "webhook_endpoint.secret";

const ref = (endpointId: string) => ({ purpose: WEBHOOK_SECRET_PURPOSE, recordId: endpointId });

/** Standard Webhooks' secret format: `whsec_` and the base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

/** The value to store for an endpoint's secret. */
export const sealWebhookSecret = (v: Vault, accountId: string, endpointId: string, secret: string): Promise<string> =>
  sealSecret(v, accountId, ref(endpointId), secret);

/** The `whsec_…` that signs the endpoint's deliveries; throws SecretError when it cannot be opened. */
export async function webhookSigningSecret(v: Vault, endpoint: { id: string; accountId: string; secret: string }): Promise<string> {
  if (!isSealed(endpoint.secret)) return endpoint.secret; // from before 0012, until sealed
  return openSecret(v, endpoint.accountId, ref(endpoint.id), endpoint.secret);
}

/**
 * Seals up to `limit` secrets still stored in clear, in one write; each update is conditional on
 * the clear value read, so a rotation in between wins. Answers how many were sealed.
 */
export async function sealClearWebhookSecrets(v: Vault, limit = 200): Promise<number> {
  const clear = await v.db.$client.execute({
    sql: "SELECT id, account_id, secret FROM webhook_endpoints WHERE substr(secret, 1, 3) <> 'v1.' LIMIT ?1",
    args: [limit],
  });
  if (clear.rows.length === 0) return 0;
  const updates = [];
  for (const row of clear.rows) {
    const [id, accountId, secret] = [String(row.id), String(row.account_id), String(row.secret)];
    updates.push({ sql: "UPDATE webhook_endpoints SET secret = ?1 WHERE id = ?2 AND secret = ?3", args: [await sealWebhookSecret(v, accountId, id, secret), id, secret] });
  }
  const done = await v.db.$client.batch(updates, "write");
  return done.reduce((n, r) => n + r.rowsAffected, 0);
}
