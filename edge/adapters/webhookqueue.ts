// How a webhook delivery's attempts are scheduled, behind one interface. With QStash, each
// delivery is a message to OUR Worker (POST /internal/webhooks/deliver), deduplicated by the
// delivery id and retried by QStash while our route answers 5xx; a failure callback records a
// delivery QStash gave up on. Without QSTASH_TOKEN, the direct stand-in runs the attempt in the
// background here and the minute sweeper runs the retries on our schedule. Either way every
// attempt is made, signed afresh and logged by edge/services/webhooks.ts.
import { Client } from "@upstash/qstash";

export interface WebhookQueue {
  readonly kind: "qstash" | "direct";
  /**
   * Makes the delivery's next attempt happen; false when it could not be handed over.
   * `attemptsSoFar` tells a replay's message from the first (QStash deduplicates by id).
   */
  enqueue(deliveryId: string, attemptsSoFar: number): Promise<boolean>;
}

export function createQstashWebhookQueue(opts: { token: string; baseUrl?: string; origin: string; retries: number }): WebhookQueue {
  const client = new Client({ token: opts.token, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
  return {
    kind: "qstash",
    async enqueue(deliveryId, attemptsSoFar) {
      try {
        await client.publishJSON({
          url: `${opts.origin}/internal/webhooks/deliver`,
          body: { delivery_id: deliveryId },
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
export function createDirectWebhookQueue(opts: { attempt: (deliveryId: string) => Promise<unknown>; waitUntil: (p: Promise<unknown>) => void }): WebhookQueue {
  return {
    kind: "direct",
    async enqueue(deliveryId) {
      opts.waitUntil(
        opts.attempt(deliveryId).catch((e: unknown) => console.log(JSON.stringify({ msg: "webhook attempt failed", delivery_id: deliveryId, error: e instanceof Error ? e.message : String(e) }))),
      );
      return true;
    },
  };
}
