// How a webhook delivery's attempts are scheduled, behind one interface. With QStash, each
// delivery is a message to OUR Worker (POST /internal/webhooks/deliver), deduplicated by the
// delivery id and retried by QStash while our route answers 5xx; a failure callback records a
// delivery QStash gave up on. Without QSTASH_TOKEN, the direct stand-in runs the attempt in the
// background here and the minute sweeper runs the retries on our schedule. Either way every
// attempt is made, signed afresh and logged by edge/webhooks/delivery.ts.
//
// QStash's signing keys are one pair per QStash account, and every probe holds them to check its
// batches: a QStash signature alone only says "QStash or a probe". So each message also carries a
// token only the Worker can make (SESSION_SECRET, purpose-keyed), naming its delivery.
import { Client } from "@upstash/qstash";
import { readToken, signToken } from "../../core/signedtoken.ts";

const CALLBACK_PURPOSE = "webhook-callback";

/** The Worker's own proof that it published this delivery's message. */
export const deliveryCallbackToken = (secret: string, deliveryId: string): Promise<string> => signToken(secret, CALLBACK_PURPOSE, { d: deliveryId });

/** True when `token` was made by the Worker (any of its current or former secrets) for this delivery. */
export async function checkDeliveryCallbackToken(secrets: string[], deliveryId: string, token: string): Promise<boolean> {
  for (const secret of secrets) {
    const claims = await readToken<{ d?: unknown }>(secret, CALLBACK_PURPOSE, token);
    if (claims) return claims.d === deliveryId;
  }
  return false;
}

export interface WebhookQueue {
  readonly kind: "qstash" | "direct";
  /**
   * Makes the delivery's next attempt happen; false when it could not be handed over.
   * `attemptsSoFar` tells a replay's message from the first (QStash deduplicates by id).
   * `attempt` runs it here and now: the direct stand-in calls it, QStash calls our route instead.
   */
  enqueue(deliveryId: string, attemptsSoFar: number, attempt: () => Promise<unknown>): Promise<boolean>;
}

export function createQstashWebhookQueue(opts: { token: string; baseUrl?: string; origin: string; retries: number; callbackSecret: string }): WebhookQueue {
  const client = new Client({ token: opts.token, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
  return {
    kind: "qstash",
    async enqueue(deliveryId, attemptsSoFar) {
      try {
        await client.publishJSON({
          url: `${opts.origin}/internal/webhooks/deliver`,
          body: { delivery_id: deliveryId, token: await deliveryCallbackToken(opts.callbackSecret, deliveryId) },
          deduplicationId: `${deliveryId}_${attemptsSoFar}`,
          retries: opts.retries,
          failureCallback: `${opts.origin}/internal/webhooks/failed`,
        });
        return true;
      } catch (e) {
        console.log(JSON.stringify({ msg: "webhook publish failed", delivery_id: deliveryId, error: e instanceof Error ? e.message : String(e) }));
        return false;
      }
    },
  };
}

/** The local stand-in: the attempt runs after the answer (waitUntil), as QStash would call back. */
export function createDirectWebhookQueue(opts: { waitUntil: (p: Promise<unknown>) => void }): WebhookQueue {
  return {
    kind: "direct",
    async enqueue(deliveryId, _attemptsSoFar, attempt) {
      opts.waitUntil(
        attempt().catch((e: unknown) => console.log(JSON.stringify({ msg: "webhook attempt failed", delivery_id: deliveryId, error: e instanceof Error ? e.message : String(e) }))),
      );
      return true;
    },
  };
}
