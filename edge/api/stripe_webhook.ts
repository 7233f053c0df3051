// POST /webhooks/stripe: Stripe's signed events (issue 11). Verified with the `stripe` package on
// Web Crypto (its workerd build), then applied once (edge/billing/payments.ts). Stripe retries
// anything but 2xx for days, so 2xx means "nothing more to do with this event": applied, applied
// before, recorded for later, ignored, or held for an operator because no retry could change it.
// Stripe unreachable while an event needs it answers 503, and Stripe delivers the event again.
// A bad signature or a delivery signed over 5 minutes ago answers 400.
import type { Hono } from "hono";
import Stripe from "stripe";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { applyStripeEvent } from "../billing/payments.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

/** Stripe's events are a few KiB; a checkout session with many line items stays far below this. */
export const MAX_STRIPE_EVENT_BYTES = 256 * 1024;
/** Seconds a signature stays valid (Stripe's own default). */
export const STRIPE_TOLERANCE_S = 300;

const cryptoProvider = Stripe.createSubtleCryptoProvider();

export function registerStripeWebhook(app: Hono<AppEnv>): void {
  app.post("/webhooks/stripe", async (c) => {
    const s = c.var.services;
    const secret = s.config.STRIPE_WEBHOOK_SECRET;
    if (!secret) throw new ApiError("not_configured", "Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET)");
    const read = await readRequestLimited(c.req.raw, MAX_STRIPE_EVENT_BYTES);
    if (!read.ok) throw new ApiError("payload_too_large", `At most ${MAX_STRIPE_EVENT_BYTES} bytes`);
    const raw = new TextDecoder().decode(read.bytes);
    let event: Stripe.Event;
    try {
      event = await Stripe.webhooks.constructEventAsync(raw, c.req.header("stripe-signature") ?? "", secret, STRIPE_TOLERANCE_S, cryptoProvider);
    } catch (err) {
      if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw new ApiError("invalid_json", "The body is not a Stripe event");
      if (/tolerance/i.test(err.message)) throw new ApiError("webhook_timestamp_stale", `Signed more than ${STRIPE_TOLERANCE_S} s ago; a replay is refused`);
      throw new ApiError("webhook_signature_invalid", "The Stripe-Signature header does not match this body and STRIPE_WEBHOOK_SECRET");
    }
    // Kept alive if Stripe hangs up: a write the database started always finishes.
    // Stripe itself is asked what an event cannot carry (an invoice line's price, its payment).
    const applying = applyStripeEvent(s, { event, raw });
    s.waitUntil(applying.catch(() => undefined));
    const outcome = await applying;
    if (outcome.outcome === "held") console.error(JSON.stringify({ msg: "stripe event held", id: event.id, type: event.type, code: outcome.code }));
    return c.json({ received: true, id: event.id, ...outcome });
  });
}
