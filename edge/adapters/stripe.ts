// Stripe behind the one interface billing calls (issue 11): prices by lookup key, one customer per
// account, hosted Checkout and the Customer Portal, and off-session charges for auto top-up. The
// real `stripe` client talks to Stripe, or to the local stand-in (e2e/standin-stripe.ts) when
// STRIPE_API_URL points it there by host, port and protocol. Every request is counted here.
import Stripe from "stripe";
import { ServiceError } from "../errors.ts";
import { meter } from "../meter.ts";

export interface PriceInfo {
  lookupKey: string;
  priceId: string;
  /** In the currency's smallest unit. */
  unitAmount: number;
  currency: string;
  recurring: boolean;
}

export interface CheckoutRequest {
  mode: "payment" | "subscription";
  /**
   * The account's Price, or one given inline (price_data) when it has none under the lookup key;
   * an inline price has no lookup key, so its product carries ours (INLINE_LOOKUP_KEY_METADATA).
   */
  price: { id: string } | { unitAmount: number; currency: string; productName: string; lookupKey: string };
  customer: string;
  accountId: string;
  /** The session's and its payment's (packs), or the subscription's (plans, whose session keeps all but the credits: invoices grant them). */
  metadata: Record<string, string>;
  successUrl: string;
  cancelUrl: string;
}

export type OffSessionCharge =
  | { ok: true; paymentIntent: string }
  | { ok: false; paymentIntent: string | null; code: string; message: string };

/** The product metadata key that names the lookup key of a price given inline at Checkout. */
export const INLINE_LOOKUP_KEY_METADATA = "mxray_lookup_key";

/**
 * What a webhook's event does not carry and only Stripe can tell (issue 21): an invoice line names
 * its price by id only (events are never expanded), and an invoice's payment is includable only.
 */
export interface StripeLookups {
  /** A price's lookup key: its own, else, for a price given inline at Checkout, the one its product names; null if neither. */
  priceLookupKey(priceId: string): Promise<string | null>;
  /** The payment intent that paid an invoice, if one did. */
  invoicePaymentIntent(invoiceId: string): Promise<string | null>;
}

export interface PaymentGateway extends StripeLookups {
  prices(lookupKeys: readonly string[]): Promise<PriceInfo[]>;
  /** Creates the account's customer; the key makes a repeated call return the same one. */
  createCustomer(p: { accountId: string; name: string; idempotencyKey: string }): Promise<string>;
  createCheckout(p: CheckoutRequest): Promise<{ id: string; url: string }>;
  createPortal(customer: string, returnUrl: string): Promise<string>;
  /** The card to charge off-session: the customer's default, else the newest card saved. */
  savedCard(customer: string): Promise<string | null>;
  chargeOffSession(p: { customer: string; paymentMethod: string; amount: number; currency: string; metadata: Record<string, string>; description: string; idempotencyKey: string }): Promise<OffSessionCharge>;
}

/** Stripe unreachable or refusing our key: nothing was bought, try again later. */
function unavailable(err: unknown): ServiceError {
  const message = err instanceof Error ? err.message : String(err);
  return new ServiceError("payments_unavailable", `Payments are unavailable right now (${message.slice(0, 200)})`, 30, { cause: err });
}

export function createStripeGateway(opts: { secretKey: string; apiUrl?: string }): PaymentGateway {
  const target = opts.apiUrl ? new URL(opts.apiUrl) : null;
  // Made at the first call, not per request: most requests never pay, and a Stripe client costs
  // milliseconds of CPU to build (issue 22: 1,000 WebSocket upgrades at once each built one).
  let client: Stripe | undefined;
  const stripe = () =>
    (client ??= new Stripe(opts.secretKey, {
      httpClient: Stripe.createFetchHttpClient(),
      maxNetworkRetries: 2,
      timeout: 15_000,
      ...(target
        ? { host: target.hostname, port: Number(target.port || (target.protocol === "https:" ? 443 : 80)), protocol: target.protocol === "http:" ? ("http" as const) : ("https" as const) }
        : {}),
    }));
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    meter.stripeRequests++;
    try {
      return await run();
    } catch (err) {
      throw unavailable(err);
    }
  };
  return {
    async prices(lookupKeys) {
      const list = await call(() => stripe().prices.list({ lookup_keys: [...lookupKeys], active: true, limit: 100 }));
      return list.data
        .filter((p) => p.lookup_key && p.unit_amount !== null)
        .map((p) => ({ lookupKey: p.lookup_key!, priceId: p.id, unitAmount: p.unit_amount!, currency: p.currency, recurring: p.type === "recurring" }));
    },
    async priceLookupKey(priceId) {
      const price = await call(() => stripe().prices.retrieve(priceId, { expand: ["product"] }));
      if (price.lookup_key) return price.lookup_key;
      const product = typeof price.product === "object" && !price.product.deleted ? price.product : null;
      return product?.metadata?.[INLINE_LOOKUP_KEY_METADATA] ?? null;
    },
    async invoicePaymentIntent(invoiceId) {
      const list = await call(() => stripe().invoicePayments.list({ invoice: invoiceId, status: "paid", limit: 10 }));
      const paid = list.data.find((p) => p.payment.type === "payment_intent" && p.payment.payment_intent);
      const pi = paid?.payment.payment_intent;
      return pi ? (typeof pi === "string" ? pi : pi.id) : null;
    },
    async createCustomer({ accountId, name, idempotencyKey }) {
      const customer = await call(() => stripe().customers.create({ name, metadata: { account_id: accountId } }, { idempotencyKey }));
      return customer.id;
    },
    async createCheckout(p) {
      const session = await call(() =>
        stripe().checkout.sessions.create(
          {
            mode: p.mode,
            customer: p.customer,
            client_reference_id: p.accountId,
            line_items: [
              "id" in p.price
                ? { price: p.price.id, quantity: 1 }
                : {
                    price_data: {
                      currency: p.price.currency,
                      unit_amount: p.price.unitAmount,
                      product_data: { name: p.price.productName, metadata: { [INLINE_LOOKUP_KEY_METADATA]: p.price.lookupKey } },
                      ...(p.mode === "subscription" ? { recurring: { interval: "month" as const } } : {}),
                    },
                    quantity: 1,
                  },
            ],
            metadata: p.mode === "payment" ? p.metadata : Object.fromEntries(Object.entries(p.metadata).filter(([k]) => k !== "credits")),
            success_url: p.successUrl,
            cancel_url: p.cancelUrl,
            ...(p.mode === "payment"
              ? { payment_intent_data: { setup_future_usage: "off_session" as const, metadata: p.metadata } }
              : { subscription_data: { metadata: p.metadata } }),
          },
        ),
      );
      if (!session.url) throw unavailable(new Error("Stripe returned a checkout session without a url"));
      return { id: session.id, url: session.url };
    },
    async createPortal(customer, returnUrl) {
      const session = await call(() => stripe().billingPortal.sessions.create({ customer, return_url: returnUrl }));
      return session.url;
    },
    async savedCard(customer) {
      const c = await call(() => stripe().customers.retrieve(customer));
      const preferred = !c.deleted ? c.invoice_settings?.default_payment_method : null;
      if (preferred) return typeof preferred === "string" ? preferred : preferred.id;
      const cards = await call(() => stripe().paymentMethods.list({ customer, type: "card", limit: 10 }));
      return cards.data.sort((a, b) => b.created - a.created)[0]?.id ?? null;
    },
    async chargeOffSession(p) {
      meter.stripeRequests++;
      try {
        const pi = await stripe().paymentIntents.create(
          { amount: p.amount, currency: p.currency, customer: p.customer, payment_method: p.paymentMethod, off_session: true, confirm: true, metadata: p.metadata, description: p.description },
          { idempotencyKey: p.idempotencyKey },
        );
        if (pi.status === "succeeded") return { ok: true, paymentIntent: pi.id };
        // requires_action (3-D Secure) and the like: the owner has to pay on-session.
        return { ok: false, paymentIntent: pi.id, code: pi.status, message: `The payment needs the card holder (${pi.status})` };
      } catch (err) {
        if (err instanceof Stripe.errors.StripeCardError) {
          const raw = err.raw as { payment_intent?: { id?: string } } | undefined;
          return { ok: false, paymentIntent: raw?.payment_intent?.id ?? null, code: err.decline_code ?? err.code ?? "card_declined", message: err.message };
        }
        throw unavailable(err);
      }
    },
  };
}
