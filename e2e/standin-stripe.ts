// A loopback stand-in for the part of Stripe's API that mxray's billing calls (issue 11), for
// `npm start` without a Stripe account and for tests. The real `stripe` client talks to it when
// pointed at it by host, port and protocol:
//   new Stripe(standin.secretKey, { host: standin.host, port: standin.port, protocol: "http" })
// It keeps Stripe's wire format: form-encoded bodies (a[b]=…, line_items[0][price]=…), Bearer auth,
// Idempotency-Key replay, prefixed ids, list objects and errors as { error: { type, code, message } }.
// Its hosted checkout page completes a payment and sends signed webhooks as Stripe does
// (Stripe-Signature: t=…,v1=HMAC-SHA256(secret, `${t}.${body}`)), retried with backoff on non-2xx.
// Test hooks, on the handle and over HTTP under /_standin/, refund, dispute, renew, change (as the
// Customer Portal does) and cancel plans, make a customer's card decline, and shape delivery: a
// duplicate (the same event id twice) or a late delivery (held back and sent after later events).
// Events carry what Stripe's do at this API version and no more: an invoice line names its price
// by id (pricing.price_details.price) and an invoice has no `payments` (includable only), so the
// edge asks for those (GET /v1/prices/:id, GET /v1/invoice_payments) as it must ask Stripe.
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { PRODUCTS } from "../core/billing.ts";

/** One product of the catalog: a one-time pack, or a monthly plan when `interval` is set. */
export interface CatalogItem {
  lookupKey: string;
  name: string;
  credits: number;
  /** Price in the currency's smallest unit (cents). */
  unitAmount: number;
  currency?: string;
  interval?: "month";
}

/** What mxray sells, each at its default price (core/billing.ts), as an operator would set it up. */
export const DEFAULT_CATALOG: CatalogItem[] = PRODUCTS.map((p) => ({
  lookupKey: p.lookupKey,
  name: p.name,
  credits: p.credits,
  unitAmount: p.defaultCents,
  ...(p.kind === "plan" ? { interval: "month" as const } : {}),
}));

/**
 * How the events of one action reach the webhook: `duplicate` sends each event twice with the same
 * id (one after the other, or both at once); `late` holds them back until releaseLate() or
 * LATE_DELIVERY_MS, so events of later actions arrive first.
 */
export interface Delivery {
  duplicate?: "sequential" | "concurrent";
  late?: boolean;
}

/** Stripe's retry schedule is hours long; this keeps its shape (a few attempts, growing gaps). */
export const RETRY_DELAYS_MS = [60_000, 600_000, 3_600_000] as const;
export const LATE_DELIVERY_MS = 5_000;
/** Stripe gives an endpoint about this long to answer. */
const WEBHOOK_TIMEOUT_MS = 10_000;

export interface StartStandInStripeOptions {
  webhookUrl: string;
  /** whsec_…, the endpoint's signing secret. */
  webhookSecret: string;
  /** What the account sells by lookup key (DEFAULT_CATALOG); [] for an account with no Prices set up. */
  catalog?: CatalogItem[];
  secretKey?: string;
  /** Milliseconds since the epoch; `created` fields and signature timestamps come from it. */
  now?: () => number;
  /** Runs fn after ms (retries, late deliveries); tests pass a fake and fire it by hand. */
  schedule?: (fn: () => void, ms: number) => void;
}

export interface DeliveryAttempt {
  eventId: string;
  type: string;
  attempt: number;
  /** The endpoint's HTTP status, or 0 when it could not be reached. */
  status: number;
}

type Obj = Record<string, unknown>;
type Param = string | Param[] | { [k: string]: Param };
type Params = { [k: string]: Param };

export interface StandInEvent {
  id: string;
  object: "event";
  type: string;
  api_version: string;
  created: number;
  data: { object: Obj; previous_attributes?: Obj };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

export interface StandInStripe {
  url: string;
  host: string;
  port: number;
  secretKey: string;
  /** Every event made so far, in order. */
  events(): StandInEvent[];
  /** Every webhook delivery attempt so far, in order. */
  attempts(): DeliveryAttempt[];
  /** Refunds a charge (by ch_ or pi_ id), all that is left of it unless amount is given → charge.refunded. */
  refund(id: string, amount?: number, delivery?: Delivery): Promise<Obj>;
  /** Opens a dispute over a charge (by ch_ or pi_ id) → charge.dispute.created. */
  dispute(id: string, delivery?: Delivery): Promise<Obj>;
  /** Bills a plan's next period → invoice.paid (billing_reason subscription_cycle). */
  renew(subscriptionId: string, delivery?: Delivery): Promise<Obj>;
  /**
   * Moves a plan to the catalog's price under another lookup key, as the Customer Portal does:
   * → customer.subscription.updated, then the prorations invoiced at once (billing_reason
   * subscription_update; a downgrade's credit goes to the customer's balance, so that invoice is $0).
   * The subscription's metadata is left as it was, as Stripe leaves it.
   */
  changePlan(subscriptionId: string, lookupKey: string, delivery?: Delivery): Promise<{ subscription: Obj; invoice: Obj }>;
  /** Ends a plan now → customer.subscription.deleted. */
  cancelSubscription(subscriptionId: string, delivery?: Delivery): Promise<Obj>;
  /** From now on this customer's card is declined (auto top-up, checkout). */
  setDecline(customerId: string, decline: boolean): void;
  /** Sends the events held back for a late delivery, oldest first. */
  releaseLate(): Promise<void>;
  /** Resolves when no delivery is in flight (scheduled retries and held events do not count). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Obj = {},
  ) {
    super(message);
  }
  body(): Obj {
    return { error: { type: this.type, message: this.message, ...this.extra } };
  }
}

const invalid = (message: string, extra: Obj = {}) => new ApiError(400, "invalid_request_error", message, extra);
const missing = (what: string, id: string, param?: string) =>
  new ApiError(404, "invalid_request_error", `No such ${what}: '${id}'`, { code: "resource_missing", ...(param ? { param } : {}) });

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const newId = (prefix: string) => `${prefix}_${Array.from(randomBytes(24), (b) => BASE62[b % 62]).join("")}`;

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Stripe's form encoding: `a[b][c]=v` nests, `a[]=v` and `a[0]=v` make arrays. */
export function parseForm(text: string): Params {
  const root: Params = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!m) throw invalid(`Invalid parameter name: ${key}`);
    const path = [m[1]!, ...Array.from(m[2]!.matchAll(/\[([^[\]]*)\]/g), (x) => x[1]!)];
    if (path.some((p) => FORBIDDEN_KEYS.has(p))) throw invalid(`Invalid parameter name: ${key}`);
    let node: { [k: string]: Param } = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] === "" ? String(Object.keys(node).length) : path[i]!;
      if (i === path.length - 1) {
        node[seg] = value;
        break;
      }
      const next = node[seg] ?? {};
      if (typeof next !== "object" || Array.isArray(next)) throw invalid(`Invalid parameter: ${key}`);
      node[seg] = next;
      node = next;
    }
  }
  return arraysFromIndexes(root) as Params;
}

function arraysFromIndexes(p: Param): Param {
  if (typeof p === "string" || Array.isArray(p)) return p;
  const keys = Object.keys(p);
  const out: Params = {};
  for (const k of keys) out[k] = arraysFromIndexes(p[k]!);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) return keys.sort((a, b) => Number(a) - Number(b)).map((k) => out[k]!);
  return out;
}

function optString(p: Params, name: string): string | null {
  const v = p[name];
  if (v === undefined) return null;
  if (typeof v !== "string") throw invalid(`Invalid string: ${name}`, { param: name });
  return v;
}

function reqString(p: Params, name: string): string {
  const v = optString(p, name);
  if (v === null || v === "") throw invalid(`Missing required param: ${name}.`, { code: "parameter_missing", param: name });
  return v;
}

function optBool(p: Params, name: string): boolean {
  const v = optString(p, name);
  if (v === null) return false;
  if (v !== "true" && v !== "false") throw invalid(`Invalid boolean: ${v}`, { param: name });
  return v === "true";
}

function optInt(p: Params, name: string): number | null {
  const v = optString(p, name);
  if (v === null) return null;
  if (!/^\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, { param: name });
  return Number(v);
}

function metadataOf(v: Param | undefined, param = "metadata"): Record<string, string> {
  if (v === undefined || v === "") return {};
  if (typeof v !== "object" || Array.isArray(v)) throw invalid("Invalid object", { param });
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") throw invalid(`Invalid metadata value for key ${k}: must be a string`, { param: `${param}[${k}]` });
    if (k.length > 40 || val.length > 500) throw invalid("Metadata keys take at most 40 characters and values at most 500", { param: `${param}[${k}]` });
    if (val !== "") out[k] = val; // Stripe: an empty value unsets the key
  }
  return out;
}

function objectParam(p: Params, name: string): Params {
  const v = p[name];
  if (v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw invalid("Invalid object", { param: name });
  return v;
}

/** Stripe refuses parameters it does not know; so does the stand-in, so a typo fails here too. */
function onlyParams(p: Params, allowed: string[]): void {
  for (const k of Object.keys(p)) if (k !== "expand" && !allowed.includes(k)) throw invalid(`Received unknown parameter: ${k}`, { param: k });
}

function expandsOf(p: Params): string[] {
  const v = p.expand;
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalid("Invalid array", { param: "expand" });
  return v as string[];
}

function rejectExpands(p: Params, allowed: string[]): string[] {
  const expands = expandsOf(p);
  for (const e of expands) if (!allowed.includes(e)) throw invalid(`This property cannot be expanded (${e}).`, { param: "expand" });
  return expands;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<link rel="icon" href="data:,"><!-- no /favicon.ico request, whose 404 a browser logs as an error -->
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}.note{color:#666;font-size:.9rem}</style>
</head><body><p class="note">Stripe stand-in (local, no real money)</p><h1>${esc(title)}</h1>${body}</body></html>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

interface StoredEvent {
  event: StandInEvent;
  /** Sent byte for byte on every attempt, as Stripe resends the same payload. */
  payload: string;
}

interface IdempotentResult {
  request: string;
  status: number;
  body: Obj;
}

export async function startStandInStripe(opts: StartStandInStripeOptions): Promise<StandInStripe> {
  const secretKey = opts.secretKey ?? "sk_test_standin";
  const now = opts.now ?? Date.now;
  const timers = new Set<NodeJS.Timeout>();
  const schedule =
    opts.schedule ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      t.unref();
      timers.add(t);
    });
  const seconds = () => Math.floor(now() / 1000);
  let stopped = false;
  let base = "";

  const products = new Map<string, Obj>();
  const prices = new Map<string, Obj>();
  const customers = new Map<string, Obj>();
  const declining = new Set<string>();
  const paymentMethods = new Map<string, Obj>();
  const sessions = new Map<string, Obj>();
  const paymentIntents = new Map<string, Obj>();
  const charges = new Map<string, Obj>();
  const subscriptions = new Map<string, Obj>();
  const invoices = new Map<string, Obj>();
  /** Invoice Payments by invoice: includable on an invoice, never in its events. */
  const invoicePayments = new Map<string, Obj[]>();
  const portalSessions = new Map<string, Obj>();
  const idempotent = new Map<string, IdempotentResult>();
  const idempotentInFlight = new Set<string>();

  for (const item of opts.catalog ?? DEFAULT_CATALOG) {
    const product = { id: newId("prod"), object: "product", active: true, name: item.name, description: null, metadata: {}, created: seconds(), livemode: false };
    products.set(product.id, product);
    const price = {
      id: newId("price"),
      object: "price",
      active: true,
      billing_scheme: "per_unit",
      created: seconds(),
      currency: item.currency ?? "usd",
      livemode: false,
      lookup_key: item.lookupKey,
      metadata: { credits: String(item.credits) },
      nickname: null,
      product: product.id,
      recurring: item.interval ? { interval: item.interval, interval_count: 1, usage_type: "licensed" } : null,
      tax_behavior: "unspecified",
      type: item.interval ? "recurring" : "one_time",
      unit_amount: item.unitAmount,
      unit_amount_decimal: String(item.unitAmount),
    };
    prices.set(price.id, price);
  }

  // ---- webhooks ---------------------------------------------------------------------------

  const stored: StoredEvent[] = [];
  const attemptLog: DeliveryAttempt[] = [];
  const held: StoredEvent[] = [];
  const inFlight = new Set<Promise<unknown>>();

  function makeEvent(type: string, object: Obj, previous?: Obj, request?: { id: string; key: string | null }): StoredEvent {
    const event: StandInEvent = {
      id: newId("evt"),
      object: "event",
      type,
      api_version: Stripe.API_VERSION,
      created: seconds(),
      data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: request?.id ?? null, idempotency_key: request?.key ?? null },
    };
    const s = { event, payload: JSON.stringify(event, null, 2) };
    stored.push(s);
    return s;
  }

  function signature(payload: string): string {
    const t = seconds();
    return `t=${t},v1=${createHmac("sha256", opts.webhookSecret).update(`${t}.${payload}`, "utf8").digest("hex")}`;
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  }

  /** One attempt; a non-2xx or unreachable endpoint gets the next attempt after RETRY_DELAYS_MS. */
  function attempt(s: StoredEvent, n: number): Promise<void> {
    return track(
      (async () => {
        if (stopped) return;
        let status = 0;
        try {
          const res = await fetch(opts.webhookUrl, {
            method: "POST",
            headers: { "content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "stripe-signature": signature(s.payload) },
            body: s.payload,
            signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
          });
          status = res.status;
          await res.body?.cancel();
        } catch {
          status = 0;
        }
        attemptLog.push({ eventId: s.event.id, type: s.event.type, attempt: n, status });
        const delay = RETRY_DELAYS_MS[n - 1];
        if ((status < 200 || status > 299) && delay !== undefined && !stopped) schedule(() => void attempt(s, n + 1), delay);
      })(),
    );
  }

  async function deliver(s: StoredEvent, delivery: Delivery): Promise<void> {
    if (delivery.duplicate === "concurrent") await Promise.all([attempt(s, 1), attempt(s, 1)]);
    else {
      await attempt(s, 1);
      if (delivery.duplicate === "sequential") await attempt(s, 1);
    }
  }

  /** Sends an action's events in order; a late delivery holds them all back. */
  async function send(events: StoredEvent[], delivery: Delivery = {}): Promise<void> {
    if (delivery.late) {
      held.push(...events);
      schedule(() => void releaseLate(), LATE_DELIVERY_MS);
      return;
    }
    for (const s of events) await deliver(s, delivery);
  }

  async function releaseLate(): Promise<void> {
    for (const s of held.splice(0)) await attempt(s, 1);
  }

  // ---- objects ------------------------------------------------------------------------------

  function createCustomer(p: { email: string | null; name: string | null; description: string | null; metadata: Record<string, string> }): Obj {
    const customer = {
      id: newId("cus"),
      object: "customer",
      balance: 0,
      created: seconds(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: p.description,
      email: p.email,
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: p.metadata,
      name: p.name,
    };
    customers.set(customer.id, customer);
    return customer;
  }

  function customerOf(id: string, param?: string): Obj {
    const c = customers.get(id);
    if (!c) throw missing("customer", id, param);
    return c;
  }

  function chargeOf(id: string): Obj {
    const pi = paymentIntents.get(id);
    const c = charges.get(id.startsWith("pi_") && pi ? String(pi.latest_charge) : id);
    if (!c) throw missing("charge", id);
    return c;
  }

  function declineError(customer: string | null): ApiError | null {
    if (!customer || !declining.has(customer)) return null;
    return new ApiError(402, "card_error", "Your card was declined.", { code: "card_declined", decline_code: "generic_decline", doc_url: "https://stripe.com/docs/error-codes/card-declined" });
  }

  function newPaymentMethod(customer: string | null): Obj {
    const pm = {
      id: newId("pm"),
      object: "payment_method",
      billing_details: { address: null, email: null, name: null, phone: null },
      card: { brand: "visa", country: "US", exp_month: 12, exp_year: new Date(now()).getUTCFullYear() + 3, funding: "credit", last4: "4242" },
      created: seconds(),
      customer,
      livemode: false,
      metadata: {},
      type: "card",
    };
    paymentMethods.set(pm.id, pm);
    return pm;
  }

  /** A succeeded PaymentIntent and its charge, as a completed card payment leaves them. */
  function succeededPayment(p: { amount: number; currency: string; customer: string | null; paymentMethod: string; metadata: Record<string, string>; setupFutureUsage: string | null; description?: string | null }): { pi: Obj; charge: Obj } {
    const piId = newId("pi");
    const charge = {
      id: newId("ch"),
      object: "charge",
      amount: p.amount,
      amount_captured: p.amount,
      amount_refunded: 0,
      captured: true,
      created: seconds(),
      currency: p.currency,
      customer: p.customer,
      description: p.description ?? null,
      disputed: false,
      livemode: false,
      metadata: p.metadata,
      paid: true,
      payment_intent: piId,
      payment_method: p.paymentMethod,
      refunded: false,
      status: "succeeded",
    };
    const pi = {
      id: piId,
      object: "payment_intent",
      amount: p.amount,
      amount_received: p.amount,
      created: seconds(),
      currency: p.currency,
      customer: p.customer,
      description: p.description ?? null,
      last_payment_error: null,
      latest_charge: charge.id,
      livemode: false,
      metadata: p.metadata,
      payment_method: p.paymentMethod,
      setup_future_usage: p.setupFutureUsage,
      status: "succeeded",
    };
    charges.set(charge.id, charge);
    paymentIntents.set(pi.id, pi);
    return { pi, charge };
  }

  type Payment = { pi: Obj; charge?: Obj };

  interface InvoiceLine {
    price: Obj;
    quantity: number;
    /** In the currency's smallest unit; negative for a proration's credit. */
    amount: number;
    proration: boolean;
    period: { start: number; end: number };
  }

  /**
   * A paid subscription invoice. The customer's balance (a downgrade's credit) pays first; what is
   * left is charged to the subscription's card, and that payment is kept as an Invoice Payment.
   */
  function newInvoice(sub: Obj, reason: "subscription_create" | "subscription_cycle" | "subscription_update", lines: InvoiceLine[], charge: (amount: number) => Payment): { invoice: Obj; payment: Payment | null } {
    const item = (sub.items as { data: Obj[] }).data[0]!;
    const currency = String((item.price as Obj).currency);
    const customer = customers.get(String(sub.customer));
    const total = lines.reduce((sum, l) => sum + l.amount, 0);
    const startingBalance = Number(customer?.balance ?? 0);
    const due = Math.max(0, total + startingBalance);
    if (customer) customer.balance = Math.min(0, total + startingBalance);
    const payment = due > 0 ? charge(due) : null;
    const id = newId("in");
    const invoice = {
      id,
      object: "invoice",
      amount_due: due,
      amount_paid: due,
      amount_remaining: 0,
      billing_reason: reason,
      created: seconds(),
      currency,
      customer: sub.customer,
      ending_balance: customer ? customer.balance : 0,
      lines: {
        object: "list",
        data: lines.map((l) => ({
          id: newId("il"),
          object: "line_item",
          amount: l.amount,
          currency,
          description: null,
          invoice: id,
          livemode: false,
          metadata: sub.metadata,
          parent: { type: "subscription_item_details", invoice_item_details: null, subscription_item_details: { invoice_item: null, proration: l.proration, subscription: sub.id, subscription_item: item.id } },
          period: l.period,
          // Stripe names the price by id here (expandable, never expanded in an event).
          pricing: { type: "price_details", price_details: { price: l.price.id, product: l.price.product }, unit_amount_decimal: l.price.unit_amount_decimal },
          quantity: l.quantity,
          subtotal: l.amount,
        })),
        has_more: false,
        url: `/v1/invoices/${id}/lines`,
      },
      livemode: false,
      metadata: {},
      parent: { type: "subscription_details", quote_details: null, subscription_details: { metadata: sub.metadata, subscription: sub.id } },
      period_end: lines[0]!.period.end,
      period_start: lines[0]!.period.start,
      starting_balance: startingBalance,
      status: "paid",
      status_transitions: { finalized_at: seconds(), paid_at: seconds() },
      subtotal: total,
      total,
    };
    invoices.set(id, invoice);
    invoicePayments.set(
      id,
      payment
        ? [{ id: newId("inpay"), object: "invoice_payment", amount_paid: due, amount_requested: due, created: seconds(), currency, invoice: id, is_default: true, livemode: false, payment: { type: "payment_intent", payment_intent: payment.pi.id }, status: "paid", status_transitions: { canceled_at: null, paid_at: seconds() } }]
        : [],
    );
    sub.latest_invoice = id;
    return { invoice, payment };
  }

  /** An off-session charge of a subscription's card, as an invoice's payment leaves it. */
  const subscriptionCharge = (sub: Obj, currency: string) => (amount: number) =>
    succeededPayment({ amount, currency, customer: sub.customer as string, paymentMethod: String(sub.default_payment_method), metadata: {}, setupFutureUsage: "off_session" });

  /** A period's line for a subscription's item. */
  function periodLine(item: Obj, start: number, end: number): InvoiceLine {
    const price = item.price as Obj;
    return { price, quantity: Number(item.quantity), amount: Number(price.unit_amount) * Number(item.quantity), proration: false, period: { start, end } };
  }

  const MONTH_S = 30 * 24 * 3600;

  /** The hosted page's Pay: completes the session, then tells the webhook as Stripe would. */
  async function pay(sessionId: string, delivery: Delivery): Promise<string> {
    const session = sessions.get(sessionId);
    if (!session) throw missing("checkout session", sessionId);
    if (session.status !== "open") throw invalid("This Checkout Session is no longer open.", { code: "checkout_session_not_open" });
    const subscriptionMode = session.mode === "subscription";
    const sfu = ((session.payment_intent_data as Obj | null)?.setup_future_usage as string | undefined) ?? null;
    let customer = session.customer as string | null;
    if (!customer && (subscriptionMode || sfu || session.customer_creation === "always")) {
      customer = String(createCustomer({ email: session.customer_email as string | null, name: null, description: null, metadata: {} }).id);
    }
    const declined = declineError(customer);
    if (declined) throw declined;
    const pm = newPaymentMethod(subscriptionMode || sfu ? customer : null);
    const currency = String(session.currency);
    const { pi, charge } = succeededPayment({
      amount: Number(session.amount_total),
      currency,
      customer,
      paymentMethod: String(pm.id),
      metadata: subscriptionMode ? {} : ((session.payment_intent_data as Obj | null)?.metadata as Record<string, string> | undefined) ?? {},
      setupFutureUsage: subscriptionMode ? "off_session" : sfu,
    });
    const events: StoredEvent[] = [];
    Object.assign(session, {
      status: "complete",
      payment_status: "paid",
      customer,
      customer_details: { email: session.customer_email ?? (customer ? customers.get(customer)?.email : null) ?? null, name: null },
    });
    if (subscriptionMode) {
      const lineItem = (session.line_items_internal as { price: string; quantity: number }[])[0]!;
      const start = seconds();
      const sub: Obj = {
        id: newId("sub"),
        object: "subscription",
        cancel_at_period_end: false,
        canceled_at: null,
        created: start,
        customer,
        default_payment_method: pm.id,
        ended_at: null,
        items: {
          object: "list",
          data: [{ id: newId("si"), object: "subscription_item", current_period_start: start, current_period_end: start + MONTH_S, price: prices.get(lineItem.price), quantity: lineItem.quantity }],
          has_more: false,
          url: "/v1/subscription_items",
        },
        latest_invoice: null,
        livemode: false,
        // Stripe copies subscription_data[metadata] to the subscription, never the session's metadata.
        metadata: (session.subscription_data_metadata as Record<string, string> | undefined) ?? {},
        status: "active",
      };
      subscriptions.set(String(sub.id), sub);
      // The session's payment pays the first invoice.
      const item = (sub.items as { data: Obj[] }).data[0]!;
      const { invoice } = newInvoice(sub, "subscription_create", [periodLine(item, start, start + MONTH_S)], () => ({ pi }));
      Object.assign(session, { subscription: sub.id, invoice: invoice.id });
      events.push(makeEvent("charge.succeeded", charge), makeEvent("payment_intent.succeeded", pi), makeEvent("customer.subscription.created", sub), makeEvent("invoice.paid", invoice));
    } else {
      session.payment_intent = pi.id;
      events.push(makeEvent("charge.succeeded", charge), makeEvent("payment_intent.succeeded", pi));
    }
    events.push(makeEvent("checkout.session.completed", publicSession(session)));
    // The first attempts finish before the redirect, so the page the buyer returns to can already
    // show the credits; retries and late deliveries come after it, as they would from Stripe.
    await send(events, delivery);
    const success = session.success_url as string | null;
    return success ? success.replaceAll("{CHECKOUT_SESSION_ID}", sessionId) : `${base}/checkout/${sessionId}/done`;
  }

  function publicSession(s: Obj): Obj {
    // The stand-in's own bookkeeping; Stripe's session object has none of these.
    const { line_items_internal: _l, subscription_data_metadata: _m, payment_intent_data: _p, ...rest } = s;
    return rest;
  }

  async function refund(id: string, amount?: number, delivery: Delivery = {}): Promise<Obj> {
    const charge = chargeOf(id);
    const left = Number(charge.amount) - Number(charge.amount_refunded);
    const take = amount ?? left;
    if (!Number.isInteger(take) || take <= 0) throw invalid("Refund amount must be a positive integer.", { param: "amount" });
    if (take > left) throw invalid(`Refund amount (${money(take, String(charge.currency))}) is greater than unrefunded amount on charge (${money(left, String(charge.currency))})`, { code: "charge_already_refunded", param: "amount" });
    const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    charge.amount_refunded = Number(charge.amount_refunded) + take;
    charge.refunded = charge.amount_refunded === charge.amount;
    await send([makeEvent("charge.refunded", charge, previous)], delivery);
    return charge;
  }

  async function dispute(id: string, delivery: Delivery = {}): Promise<Obj> {
    const charge = chargeOf(id);
    charge.disputed = true;
    const d = {
      id: newId("du"),
      object: "dispute",
      amount: Number(charge.amount) - Number(charge.amount_refunded),
      charge: charge.id,
      created: seconds(),
      currency: charge.currency,
      evidence_details: { due_by: seconds() + 7 * 24 * 3600, has_evidence: false, past_due: false, submission_count: 0 },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: charge.payment_intent,
      reason: "fraudulent",
      status: "needs_response",
    };
    await send([makeEvent("charge.dispute.created", d)], delivery);
    return d;
  }

  function subscriptionOf(id: string): Obj {
    const sub = subscriptions.get(id);
    if (!sub) throw missing("subscription", id);
    return sub;
  }

  async function renew(id: string, delivery: Delivery = {}): Promise<Obj> {
    const sub = subscriptionOf(id);
    if (sub.status !== "active") throw invalid("This subscription is canceled.", { code: "resource_missing" });
    const item = (sub.items as { data: Obj[] }).data[0]!;
    const declined = declineError(sub.customer as string);
    if (declined) throw declined;
    const start = Number(item.current_period_end);
    Object.assign(item, { current_period_start: start, current_period_end: start + MONTH_S });
    const paid = newInvoice(sub, "subscription_cycle", [periodLine(item, start, start + MONTH_S)], subscriptionCharge(sub, String((item.price as Obj).currency)));
    await send([...paymentEvents(paid.payment), makeEvent("invoice.paid", paid.invoice)], delivery);
    return paid.invoice;
  }

  function paymentEvents(payment: Payment | null): StoredEvent[] {
    if (!payment) return [];
    return [...(payment.charge ? [makeEvent("charge.succeeded", payment.charge)] : []), makeEvent("payment_intent.succeeded", payment.pi)];
  }

  async function changePlan(id: string, lookupKey: string, delivery: Delivery = {}): Promise<{ subscription: Obj; invoice: Obj }> {
    const sub = subscriptionOf(id);
    if (sub.status !== "active") throw invalid("This subscription is canceled.", { code: "resource_missing" });
    const price = [...prices.values()].find((p) => p.lookup_key === lookupKey && p.active && p.type === "recurring");
    if (!price) throw invalid(`No active recurring price has the lookup key ${lookupKey}.`, { param: "lookup_key" });
    const item = (sub.items as { data: Obj[] }).data[0]!;
    const old = item.price as Obj;
    if (old.id === price.id) throw invalid("The subscription is already on this price.", { param: "lookup_key" });
    const declined = declineError(sub.customer as string);
    if (declined) throw declined;
    const previous = { items: structuredClone(sub.items) };
    const start = Number(item.current_period_start);
    const end = Number(item.current_period_end);
    const now = Math.min(Math.max(seconds(), start), end);
    const share = (end - now) / (end - start);
    const quantity = Number(item.quantity);
    item.price = price;
    const period = { start: now, end };
    const lines: InvoiceLine[] = [
      { price: old, quantity, amount: -Math.round(Number(old.unit_amount) * quantity * share), proration: true, period },
      { price, quantity, amount: Math.round(Number(price.unit_amount) * quantity * share), proration: true, period },
    ];
    const updated = makeEvent("customer.subscription.updated", sub, previous);
    const paid = newInvoice(sub, "subscription_update", lines, subscriptionCharge(sub, String(price.currency)));
    await send([updated, ...paymentEvents(paid.payment), makeEvent("invoice.paid", paid.invoice)], delivery);
    return { subscription: sub, invoice: paid.invoice };
  }

  async function cancelSubscription(id: string, delivery: Delivery = {}): Promise<Obj> {
    const sub = subscriptionOf(id);
    if (sub.status === "canceled") return sub;
    Object.assign(sub, { status: "canceled", canceled_at: seconds(), ended_at: seconds() });
    await send([makeEvent("customer.subscription.deleted", sub)], delivery);
    return sub;
  }

  // ---- the API ------------------------------------------------------------------------------

  const list = (url: string, data: Obj[]) => ({ object: "list", data, has_more: false, url });

  function listPrices(q: Params): Obj {
    onlyParams(q, ["lookup_keys", "active", "type", "limit", "product"]);
    const expand = rejectExpands(q, ["data.product"]);
    const keys = q.lookup_keys;
    if (keys !== undefined && (!Array.isArray(keys) || keys.some((k) => typeof k !== "string"))) throw invalid("Invalid array", { param: "lookup_keys" });
    const active = optString(q, "active");
    const type = optString(q, "type");
    const product = optString(q, "product");
    const limit = optInt(q, "limit") ?? 10;
    if (limit < 1 || limit > 100) throw invalid("Invalid integer: limit must be between 1 and 100", { param: "limit" });
    const all = [...prices.values()].filter(
      (p) =>
        (!keys || (keys as string[]).includes(String(p.lookup_key))) &&
        (active === null || String(p.active) === active) &&
        (type === null || p.type === type) &&
        (product === null || p.product === product),
    );
    const data = all.slice(0, limit).map((p) => (expand.includes("data.product") ? { ...p, product: products.get(String(p.product)) } : p));
    return { ...list("/v1/prices", data), has_more: all.length > limit };
  }

  function listInvoicePayments(q: Params): Obj {
    onlyParams(q, ["invoice", "status", "limit", "payment"]);
    rejectExpands(q, []);
    const invoice = optString(q, "invoice");
    if (invoice !== null && !invoices.has(invoice)) throw missing("invoice", invoice, "invoice");
    const status = optString(q, "status");
    const limit = optInt(q, "limit") ?? 10;
    if (limit < 1 || limit > 100) throw invalid("Invalid integer: limit must be between 1 and 100", { param: "limit" });
    const all = (invoice !== null ? (invoicePayments.get(invoice) ?? []) : [...invoicePayments.values()].flat()).filter((p) => status === null || p.status === status);
    return { ...list("/v1/invoice_payments", all.slice(0, limit)), has_more: all.length > limit };
  }

  /** A price given inline (price_data): made for this session, inactive, never found by lookup key. */
  function inlinePrice(pd: Params, param: string): Obj {
    onlyParams(pd, ["currency", "product", "product_data", "unit_amount", "recurring"]);
    const currency = reqString(pd, "currency").toLowerCase();
    const unitAmount = optInt(pd, "unit_amount");
    if (unitAmount === null) throw invalid(`Missing required param: ${param}[unit_amount].`, { code: "parameter_missing", param: `${param}[unit_amount]` });
    let productId = optString(pd, "product");
    if (productId) {
      if (!products.has(productId)) throw missing("product", productId, `${param}[product]`);
    } else {
      const data = objectParam(pd, "product_data");
      onlyParams(data, ["name", "description", "metadata"]);
      const product = { id: newId("prod"), object: "product", active: true, name: reqString(data, "name"), description: optString(data, "description"), metadata: metadataOf(data.metadata), created: seconds(), livemode: false };
      products.set(product.id, product);
      productId = product.id;
    }
    const recurring = objectParam(pd, "recurring");
    onlyParams(recurring, ["interval", "interval_count"]);
    const interval = optString(recurring, "interval");
    if (Object.keys(recurring).length && interval !== "month") throw invalid("The stand-in takes monthly recurring prices only.", { param: `${param}[recurring][interval]` });
    const price = {
      id: newId("price"), object: "price", active: false, billing_scheme: "per_unit", created: seconds(), currency, livemode: false, lookup_key: null, metadata: {}, nickname: null,
      product: productId, recurring: interval ? { interval, interval_count: 1, usage_type: "licensed" } : null, tax_behavior: "unspecified",
      type: interval ? "recurring" : "one_time", unit_amount: unitAmount, unit_amount_decimal: String(unitAmount),
    };
    prices.set(price.id, price);
    return price;
  }

  function createCheckoutSession(p: Params): Obj {
    onlyParams(p, ["mode", "line_items", "client_reference_id", "customer", "customer_email", "customer_creation", "metadata", "success_url", "cancel_url", "payment_intent_data", "subscription_data"]);
    const mode = reqString(p, "mode");
    if (mode !== "payment" && mode !== "subscription") throw invalid(`Invalid mode: must be one of payment or subscription (the stand-in does not do ${mode})`, { param: "mode" });
    const items = p.line_items;
    if (!Array.isArray(items) || items.length === 0) throw invalid("line_items is required in payment and subscription mode.", { code: "parameter_missing", param: "line_items" });
    const lineItems = items.map((raw, i) => {
      if (typeof raw !== "object" || Array.isArray(raw)) throw invalid("Invalid object", { param: `line_items[${i}]` });
      if (raw.price !== undefined && raw.price_data !== undefined) throw invalid("You may only specify one of these parameters: price, price_data.", { param: `line_items[${i}]` });
      const priceId = raw.price_data !== undefined ? String(inlinePrice(objectParam(raw, "price_data"), `line_items[${i}][price_data]`).id) : reqString(raw, "price");
      const price = prices.get(priceId);
      if (!price) throw missing("price", priceId, `line_items[${i}][price]`);
      const quantity = optInt(raw, "quantity");
      if (quantity === null) throw invalid(`Quantity is required. Add \`quantity\` to \`line_items[${i}]\``, { code: "parameter_missing", param: `line_items[${i}][quantity]` });
      if (quantity < 1) throw invalid("Quantity must be at least 1", { param: `line_items[${i}][quantity]` });
      if (mode === "payment" && price.type === "recurring") throw invalid("You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.", { param: `line_items[${i}][price]` });
      return { price: priceId, quantity, unit: Number(price.unit_amount), currency: String(price.currency) };
    });
    if (mode === "subscription" && !lineItems.some((l) => prices.get(l.price)?.type === "recurring")) throw invalid("You must provide at least one recurring price in `subscription` mode when using prices.", { param: "line_items" });
    if (mode === "subscription" && lineItems.length !== 1) throw invalid("The stand-in takes one plan per subscription checkout.", { param: "line_items" });
    if (new Set(lineItems.map((l) => l.currency)).size > 1) throw invalid("All prices must be in the same currency.", { param: "line_items" });
    const customer = optString(p, "customer");
    if (customer) customerOf(customer, "customer");
    const customerEmail = optString(p, "customer_email");
    if (customer && customerEmail) throw invalid("You may only specify one of these parameters: customer, customer_email.", { param: "customer_email" });
    const pid = objectParam(p, "payment_intent_data");
    if (mode !== "payment" && Object.keys(pid).length) throw invalid("You can not pass `payment_intent_data` in `subscription` mode.", { param: "payment_intent_data" });
    onlyParams(pid, ["setup_future_usage", "metadata"]);
    const sfu = optString(pid, "setup_future_usage");
    if (sfu !== null && sfu !== "on_session" && sfu !== "off_session") throw invalid(`Invalid payment_intent_data[setup_future_usage]: must be one of on_session or off_session`, { param: "payment_intent_data[setup_future_usage]" });
    const sd = objectParam(p, "subscription_data");
    if (mode !== "subscription" && Object.keys(sd).length) throw invalid("You can only pass `subscription_data` in `subscription` mode.", { param: "subscription_data" });
    onlyParams(sd, ["metadata"]);
    const clientReferenceId = optString(p, "client_reference_id");
    if (clientReferenceId !== null && clientReferenceId.length > 200) throw invalid("client_reference_id takes at most 200 characters", { param: "client_reference_id" });
    const total = lineItems.reduce((sum, l) => sum + l.unit * l.quantity, 0);
    const id = `cs_test_${newId("x").slice(2)}`;
    const created = seconds();
    const session: Obj = {
      id,
      object: "checkout.session",
      amount_subtotal: total,
      amount_total: total,
      cancel_url: optString(p, "cancel_url"),
      client_reference_id: clientReferenceId,
      created,
      currency: lineItems[0]!.currency,
      customer,
      customer_creation: mode === "payment" && !customer ? (optString(p, "customer_creation") ?? "if_required") : null,
      customer_details: null,
      customer_email: customerEmail,
      expires_at: created + 24 * 3600,
      invoice: null,
      livemode: false,
      metadata: metadataOf(p.metadata),
      mode,
      payment_intent: null,
      payment_intent_data: mode === "payment" ? { setup_future_usage: sfu, metadata: metadataOf(pid.metadata, "payment_intent_data[metadata]") } : null,
      payment_status: "unpaid",
      status: "open",
      subscription: null,
      success_url: optString(p, "success_url"),
      ui_mode: "hosted",
      url: `${base}/checkout/${id}`,
      line_items_internal: lineItems.map(({ price, quantity }) => ({ price, quantity })),
      subscription_data_metadata: metadataOf(sd.metadata, "subscription_data[metadata]"),
    };
    sessions.set(id, session);
    return publicSession(session);
  }

  function createPaymentIntent(p: Params, request: { id: string; key: string | null }): { status: number; body: Obj } {
    onlyParams(p, ["amount", "currency", "customer", "payment_method", "off_session", "confirm", "metadata", "description", "payment_method_types"]);
    const amount = optInt(p, "amount");
    if (amount === null) throw invalid("Missing required param: amount.", { code: "parameter_missing", param: "amount" });
    if (amount < 50) throw invalid("Amount must be at least 50 cents", { code: "amount_too_small", param: "amount" });
    const currency = reqString(p, "currency").toLowerCase();
    const customer = optString(p, "customer");
    if (customer) customerOf(customer, "customer");
    const confirm = optBool(p, "confirm");
    const offSession = optBool(p, "off_session");
    if (offSession && !confirm) throw invalid("`off_session` can only be passed with `confirm=true`.", { param: "off_session" });
    if (!confirm) throw invalid("The stand-in only takes PaymentIntents confirmed at creation (confirm=true), as auto top-up makes them.", { param: "confirm" });
    const pmId = optString(p, "payment_method");
    if (!pmId) throw invalid("You must provide a payment method to confirm this PaymentIntent.", { code: "parameter_missing", param: "payment_method" });
    const pm = paymentMethods.get(pmId);
    if (!pm) throw missing("PaymentMethod", pmId, "payment_method");
    if (pm.customer !== customer) throw invalid(`The provided PaymentMethod ${pmId} was previously used without being attached to a Customer, or it was detached from one. It may not be used again.`, { param: "payment_method" });
    const metadata = metadataOf(p.metadata);
    const declined = declineError(customer);
    if (declined) {
      const piId = newId("pi");
      const failure = { ...declined.extra, message: declined.message, type: declined.type, payment_method: pm };
      const pi = { id: piId, object: "payment_intent", amount, amount_received: 0, created: seconds(), currency, customer, description: optString(p, "description"), last_payment_error: failure, latest_charge: null, livemode: false, metadata, payment_method: null, setup_future_usage: null, status: "requires_payment_method" };
      paymentIntents.set(piId, pi);
      void send([makeEvent("payment_intent.payment_failed", pi, undefined, request)]);
      return { status: 402, body: new ApiError(402, "card_error", declined.message, { ...declined.extra, payment_intent: pi, payment_method: pm }).body() };
    }
    const { pi, charge } = succeededPayment({ amount, currency, customer, paymentMethod: pmId, metadata, setupFutureUsage: null, description: optString(p, "description") });
    void send([makeEvent("charge.succeeded", charge, undefined, request), makeEvent("payment_intent.succeeded", pi, undefined, request)]);
    return { status: 200, body: pi };
  }

  function paymentMethodsOf(customer: string, q: Params): Obj {
    const type = optString(q, "type");
    if (type !== null && type !== "card") return list("/v1/payment_methods", []);
    return list("/v1/payment_methods", [...paymentMethods.values()].filter((pm) => pm.customer === customer));
  }

  async function api(method: string, path: string, q: Params, p: Params, request: { id: string; key: string | null }): Promise<{ status: number; body: Obj }> {
    const ok = (body: Obj) => ({ status: 200, body });
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/v1/prices") return ok(listPrices(q));
    if (method === "GET" && (m = /^\/v1\/prices\/([^/]+)$/.exec(path))) {
      const expand = rejectExpands(q, ["product"]);
      const price = prices.get(m[1]!);
      if (!price) throw missing("price", m[1]!);
      return ok(expand.includes("product") ? { ...price, product: products.get(String(price.product)) } : price);
    }
    if (method === "GET" && (m = /^\/v1\/invoices\/([^/]+)$/.exec(path))) {
      const expand = rejectExpands(q, ["payments"]);
      const invoice = invoices.get(m[1]!);
      if (!invoice) throw missing("invoice", m[1]!);
      return ok(expand.includes("payments") ? { ...invoice, payments: list("/v1/invoice_payments", invoicePayments.get(String(invoice.id)) ?? []) } : invoice);
    }
    if (method === "GET" && path === "/v1/invoice_payments") return ok(listInvoicePayments(q));
    if (method === "POST" && path === "/v1/customers") {
      onlyParams(p, ["email", "name", "description", "metadata"]);
      return ok(createCustomer({ email: optString(p, "email"), name: optString(p, "name"), description: optString(p, "description"), metadata: metadataOf(p.metadata) }));
    }
    if (method === "GET" && (m = /^\/v1\/customers\/([^/]+)$/.exec(path))) return ok(customerOf(m[1]!));
    if (method === "GET" && (m = /^\/v1\/customers\/([^/]+)\/payment_methods$/.exec(path))) return ok(paymentMethodsOf(String(customerOf(m[1]!).id), q));
    if (method === "GET" && path === "/v1/payment_methods") return ok(paymentMethodsOf(String(customerOf(reqString(q, "customer"), "customer").id), q));
    if (method === "POST" && path === "/v1/checkout/sessions") return ok(createCheckoutSession(p));
    if (method === "GET" && (m = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path))) {
      rejectExpands(q, []);
      const s = sessions.get(m[1]!);
      if (!s) throw missing("checkout.session", m[1]!);
      return ok(publicSession(s));
    }
    if (method === "POST" && path === "/v1/billing_portal/sessions") {
      onlyParams(p, ["customer", "return_url"]);
      const customer = String(customerOf(reqString(p, "customer"), "customer").id);
      const id = newId("bps");
      const ps = { id, object: "billing_portal.session", configuration: "bpc_standin", created: seconds(), customer, flow: null, livemode: false, locale: null, on_behalf_of: null, return_url: optString(p, "return_url"), url: `${base}/portal/${id}` };
      portalSessions.set(id, ps);
      return ok(ps);
    }
    if (method === "POST" && path === "/v1/payment_intents") return createPaymentIntent(p, request);
    if (method === "GET" && (m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path))) {
      const pi = paymentIntents.get(m[1]!);
      if (!pi) throw missing("payment_intent", m[1]!);
      return ok(pi);
    }
    throw new ApiError(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}). The Stripe stand-in implements only what mxray's billing calls.`);
  }

  /** Stripe replays a key's first result for the same request, and refuses it for another. */
  async function withIdempotency(key: string | null, request: string, run: () => Promise<{ status: number; body: Obj }>): Promise<{ status: number; body: Obj; replayed?: boolean }> {
    if (!key) return run();
    const seen = idempotent.get(key);
    if (seen) {
      if (seen.request !== request) throw new ApiError(400, "idempotency_error", `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
      return { status: seen.status, body: seen.body, replayed: true };
    }
    if (idempotentInFlight.has(key)) throw new ApiError(409, "idempotency_error", "There is currently another in-progress request using this Stripe API Key and idempotency key. Try again later.");
    idempotentInFlight.add(key);
    try {
      const result = await run();
      // Stripe keeps a result once the request started executing: successes and card declines.
      if (result.status === 200 || result.status === 402) idempotent.set(key, { request, ...result });
      return result;
    } finally {
      idempotentInFlight.delete(key);
    }
  }

  // ---- pages and test hooks ------------------------------------------------------------------

  function checkoutPage(s: Obj, error?: string): string {
    const rows = (s.line_items_internal as { price: string; quantity: number }[])
      .map((l) => {
        const price = prices.get(l.price)!;
        const product = products.get(String(price.product))!;
        const every = price.recurring ? " / month" : "";
        return `<tr><td>${esc(product.name)}</td><td>× ${l.quantity}</td><td>${esc(money(Number(price.unit_amount) * l.quantity, String(price.currency)))}${every}</td></tr>`;
      })
      .join("");
    const total = `<tr><th colspan="2">Total</th><th>${esc(money(Number(s.amount_total), String(s.currency)))}</th></tr>`;
    if (s.status !== "open") return page("Payment complete", `<p>This checkout session is ${esc(s.status)}.</p>${s.success_url ? `<p><a href="${esc(String(s.success_url).replaceAll("{CHECKOUT_SESSION_ID}", String(s.id)))}">Continue</a></p>` : ""}`);
    const cancel = s.cancel_url ? `<p><a href="${esc(s.cancel_url)}">← Back (cancel)</a></p>` : "";
    return page(
      "Checkout",
      `${error ? `<p role="alert" style="color:#b00">${esc(error)}</p>` : ""}<table>${rows}${total}</table>
<form method="post" action="/checkout/${esc(s.id)}/pay"><p>Card: Visa ending 4242</p><button type="submit">Pay ${esc(money(Number(s.amount_total), String(s.currency)))}</button></form>
<form method="post" action="/checkout/${esc(s.id)}/decline"><button type="submit">Decline (test)</button></form>
<details><summary>Test deliveries</summary>
<form method="post" action="/checkout/${esc(s.id)}/pay"><button name="delivery" value="duplicate">Pay, webhook delivered twice</button> <button name="delivery" value="concurrent">Pay, two deliveries at once</button> <button name="delivery" value="late">Pay, webhook delivered late</button></form></details>${cancel}`,
    );
  }

  function portalPage(ps: Obj): string {
    const customer = String(ps.customer);
    const rows = [...charges.values()]
      .filter((c) => c.customer === customer)
      .map((c) => `<tr><td>${esc(new Date(Number(c.created) * 1000).toISOString().slice(0, 10))}</td><td>${esc(money(Number(c.amount), String(c.currency)))}</td><td>${c.refunded ? "refunded" : Number(c.amount_refunded) > 0 ? `partly refunded (${esc(money(Number(c.amount_refunded), String(c.currency)))})` : c.disputed ? "disputed" : "paid"}</td></tr>`)
      .join("");
    const subs = [...subscriptions.values()]
      .filter((s) => s.customer === customer)
      .map((s) => {
        const price = (s.items as { data: Obj[] }).data[0]!.price as Obj;
        const name = products.get(String(price.product))?.name;
        const cancel = s.status === "active" ? ` <form method="post" action="/portal/${esc(ps.id)}/cancel" style="display:inline"><input type="hidden" name="subscription" value="${esc(s.id)}"><button>Cancel plan</button></form>` : "";
        // The other plans of the catalog, as a portal configured with them offers.
        const switches = s.status === "active"
          ? [...prices.values()]
              .filter((p) => p.type === "recurring" && p.active && p.lookup_key && p.id !== price.id)
              .map((p) => ` <form method="post" action="/portal/${esc(ps.id)}/switch" style="display:inline"><input type="hidden" name="subscription" value="${esc(s.id)}"><input type="hidden" name="lookup_key" value="${esc(p.lookup_key)}"><button>Switch to ${esc(products.get(String(p.product))?.name)}</button></form>`)
              .join("")
          : "";
        return `<li>${esc(name)} — ${esc(s.status)}${cancel}${switches}</li>`;
      })
      .join("");
    const back = ps.return_url ? `<p><a href="${esc(ps.return_url)}">← Return to mxray</a></p>` : "";
    return page("Billing portal", `<h2>Payments</h2>${rows ? `<table><tr><th>Date</th><th>Amount</th><th>Status</th></tr>${rows}</table>` : "<p>No payments yet.</p>"}<h2>Plans</h2>${subs ? `<ul>${subs}</ul>` : "<p>No plan.</p>"}${back}`);
  }

  function deliveryOf(v: string | null): Delivery {
    if (v === "duplicate") return { duplicate: "sequential" };
    if (v === "concurrent") return { duplicate: "concurrent" };
    if (v === "late") return { late: true };
    return {};
  }

  async function hook(path: string, p: Params): Promise<Obj | null> {
    let m: RegExpExecArray | null;
    const delivery = deliveryOf(optString(p, "delivery"));
    if (path === "/_standin/refund") {
      const amount = optInt(p, "amount");
      return refund(reqString(p, "id"), amount ?? undefined, delivery);
    }
    if (path === "/_standin/dispute") return dispute(reqString(p, "id"), delivery);
    if ((m = /^\/_standin\/subscriptions\/([^/]+)\/renew$/.exec(path))) return renew(m[1]!, delivery);
    if ((m = /^\/_standin\/subscriptions\/([^/]+)\/cancel$/.exec(path))) return cancelSubscription(m[1]!, delivery);
    if ((m = /^\/_standin\/subscriptions\/([^/]+)\/change$/.exec(path))) return (await changePlan(m[1]!, reqString(p, "lookup_key"), delivery)).subscription;
    if ((m = /^\/_standin\/customers\/([^/]+)\/decline$/.exec(path))) {
      setDecline(String(customerOf(m[1]!).id), optString(p, "decline") !== "false");
      return { ok: true };
    }
    if (path === "/_standin/release-late") {
      await releaseLate();
      return { ok: true };
    }
    return null;
  }

  function setDecline(customer: string, decline: boolean): void {
    if (decline) declining.add(customer);
    else declining.delete(customer);
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body, null, 2));
  }

  function sendHtml(res: ServerResponse, status: number, html: string): void {
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://standin");
    const method = req.method ?? "GET";
    const requestId = newId("req");
    try {
      const text = await readBody(req);
      const isJson = (req.headers["content-type"] ?? "").includes("application/json");
      if (url.pathname.startsWith("/v1/")) {
        const auth = req.headers.authorization ?? "";
        const key = /^Bearer (.+)$/.exec(auth)?.[1];
        if (!key)
          throw new ApiError(401, "invalid_request_error", "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').", { code: "api_key_missing" });
        if (key !== secretKey) throw new ApiError(401, "invalid_request_error", `Invalid API Key provided: ${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`, { code: "api_key_invalid" });
        const q = parseForm(url.search.slice(1));
        const p = method === "POST" ? parseForm(text) : {};
        const idemKey = method === "POST" ? ((req.headers["idempotency-key"] as string | undefined) ?? null) : null;
        const result = await withIdempotency(idemKey, `${method} ${url.pathname} ${text}`, () => api(method, url.pathname, q, p, { id: requestId, key: idemKey }));
        return sendJson(res, result.status, result.body, {
          "request-id": requestId,
          "stripe-version": String(req.headers["stripe-version"] ?? Stripe.API_VERSION),
          ...(idemKey ? { "idempotency-key": idemKey } : {}),
          ...(result.replayed ? { "idempotent-replayed": "true" } : {}),
        });
      }
      if (url.pathname.startsWith("/_standin/")) {
        if (method === "GET" && url.pathname === "/_standin/events") return sendJson(res, 200, { events: stored.map((s) => s.event), attempts: attemptLog });
        const p = isJson ? (JSON.parse(text || "{}") as Params) : parseForm(text);
        for (const [k, v] of Object.entries(p)) if (typeof v === "number" || typeof v === "boolean") p[k] = String(v);
        const out = method === "POST" ? await hook(url.pathname, p) : null;
        return out ? sendJson(res, 200, out) : sendJson(res, 404, { error: { type: "invalid_request_error", message: `No test hook at ${method} ${url.pathname}` } });
      }
      let m: RegExpExecArray | null;
      if ((m = /^\/checkout\/([^/]+)(\/pay|\/decline|\/done)?$/.exec(url.pathname))) {
        const s = sessions.get(m[1]!);
        if (!s) return sendHtml(res, 404, page("Not found", "<p>No such checkout session.</p>"));
        if (method === "GET" && !m[2]) return sendHtml(res, 200, checkoutPage(s));
        if (method === "GET" && m[2] === "/done") return sendHtml(res, 200, page("Payment complete", "<p>Thank you. You can close this page.</p>"));
        if (method === "POST" && m[2] === "/decline") return sendHtml(res, 402, checkoutPage(s, "Your card was declined. Try another card."));
        if (method === "POST" && m[2] === "/pay") {
          if (s.status !== "open") return sendHtml(res, 409, checkoutPage(s));
          try {
            const to = await pay(String(s.id), deliveryOf(parseForm(text).delivery as string | null));
            res.writeHead(303, { location: to });
            return res.end();
          } catch (e) {
            if (e instanceof ApiError && e.status === 402) return sendHtml(res, 402, checkoutPage(s, `${e.message} Try another card.`));
            throw e;
          }
        }
      }
      if ((m = /^\/portal\/([^/]+)(\/cancel|\/switch)?$/.exec(url.pathname))) {
        const ps = portalSessions.get(m[1]!);
        if (!ps) return sendHtml(res, 404, page("Not found", "<p>No such portal session.</p>"));
        if (method === "GET" && !m[2]) return sendHtml(res, 200, portalPage(ps));
        if (method === "POST" && m[2]) {
          const form = parseForm(text);
          const sub = subscriptionOf(String(form.subscription ?? ""));
          if (sub.customer !== ps.customer) return sendHtml(res, 404, page("Not found", "<p>No such plan.</p>"));
          if (m[2] === "/switch") await changePlan(String(sub.id), String(form.lookup_key ?? ""));
          else await cancelSubscription(String(sub.id));
          res.writeHead(303, { location: `/portal/${ps.id}` });
          return res.end();
        }
      }
      return sendHtml(res, 404, page("Not found", "<p>The Stripe stand-in has no such page.</p>"));
    } catch (e) {
      if (e instanceof ApiError) return sendJson(res, e.status, e.body(), { "request-id": requestId, "stripe-should-retry": "false" });
      if (e instanceof SyntaxError) return sendJson(res, 400, invalid("Invalid JSON body").body());
      return sendJson(res, 500, { error: { type: "api_error", message: String(e) } }, { "request-id": requestId });
    }
  });

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref(); // never keeps a test runner alive
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    host: "127.0.0.1",
    port,
    secretKey,
    events: () => stored.map((s) => s.event),
    attempts: () => [...attemptLog],
    refund,
    dispute,
    renew,
    changePlan,
    cancelSubscription,
    setDecline,
    releaseLate,
    idle: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    stop: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    },
  };
}
