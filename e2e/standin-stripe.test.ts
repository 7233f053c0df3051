// The Stripe stand-in driven by the real `stripe` client, with a loopback webhook receiver that
// checks every delivery with Stripe's own verifier. The clock and the retry timer are fakes.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseForm, RETRY_DELAYS_MS, startStandInStripe, type StandInEvent, type StandInStripe } from "./standin-stripe.ts";

const WHSEC = "whsec_standin_test_secret";
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

interface Receiver {
  url: string;
  /** Verified events in arrival order (duplicates included). */
  got: StandInEvent[];
  /** Statuses to answer, first to last; 200 once empty. */
  answers: number[];
  close(): Promise<void>;
}

async function startReceiver(clock: () => number): Promise<Receiver> {
  const got: StandInEvent[] = [];
  const answers: number[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const event = await Stripe.webhooks.constructEventAsync(Buffer.concat(chunks).toString("utf8"), String(req.headers["stripe-signature"]), WHSEC, undefined, undefined, clock());
      got.push(event as unknown as StandInEvent);
      res.writeHead(answers.shift() ?? 200).end();
    } catch {
      res.writeHead(400).end("bad signature");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`,
    got,
    answers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let now = T0;
let timers: { fn: () => void; ms: number }[] = [];
let receiver: Receiver;
let standin: StandInStripe;
let stripe: Stripe;

beforeEach(async () => {
  now = T0;
  timers = [];
  receiver = await startReceiver(() => now);
  standin = await startStandInStripe({ webhookUrl: receiver.url, webhookSecret: WHSEC, now: () => now, schedule: (fn, ms) => void timers.push({ fn, ms }) });
  stripe = new Stripe(standin.secretKey, { host: standin.host, port: standin.port, protocol: "http", maxNetworkRetries: 0 });
});

afterEach(async () => {
  await standin.stop();
  await receiver.close();
});

async function runTimers(): Promise<void> {
  for (const t of timers.splice(0)) t.fn();
  await standin.idle();
}

async function priceId(lookupKey: string): Promise<string> {
  const { data } = await stripe.prices.list({ lookup_keys: [lookupKey] });
  return data[0]!.id;
}

/** What the Pay button posts; answers the redirect. */
async function payPage(sessionUrl: string, delivery?: string): Promise<Response> {
  return fetch(`${sessionUrl}/pay`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: delivery ? `delivery=${delivery}` : "",
  });
}

async function buyPack(opts: { delivery?: string; customer?: string } = {}): Promise<Stripe.Checkout.Session> {
  const session = await stripe.checkout.sessions.create({
    mode: "payment",
    ...(opts.customer ? { customer: opts.customer } : {}),
    client_reference_id: "acc_team_1",
    metadata: { credits: "10000", account: "acc_team_1" },
    line_items: [{ price: await priceId("credits_10k"), quantity: 1 }],
    success_url: "http://127.0.0.1:8787/billing?session={CHECKOUT_SESSION_ID}",
    cancel_url: "http://127.0.0.1:8787/billing",
    payment_intent_data: { setup_future_usage: "off_session" },
  });
  const res = await payPage(session.url!, opts.delivery);
  expect(res.status).toBe(303);
  return session;
}

const types = () => receiver.got.map((e) => e.type);

describe("Stripe stand-in: the API through the real client", () => {
  it("lists the catalog's prices by lookup key, with the product expanded", async () => {
    const { data, object } = await stripe.prices.list({ lookup_keys: ["credits_10k", "plan_starter"], expand: ["data.product"] });
    expect(object).toBe("list");
    expect(data.map((p) => p.lookup_key).sort()).toEqual(["credits_10k", "plan_starter"]);
    const pack = data.find((p) => p.lookup_key === "credits_10k")!;
    expect(pack).toMatchObject({ object: "price", type: "one_time", recurring: null, unit_amount: 1000, currency: "usd", metadata: { credits: "10000" } });
    expect(pack.id).toMatch(/^price_/);
    expect(pack.product).toMatchObject({ object: "product", name: "10,000 credits" });
    const plan = data.find((p) => p.lookup_key === "plan_starter")!;
    expect(plan).toMatchObject({ type: "recurring", recurring: { interval: "month" }, metadata: { credits: "20000" } });
  });

  it("creates and reads a customer", async () => {
    const created = await stripe.customers.create({ email: "owner@example.test", metadata: { account: "acc_team_1" } });
    expect(created.id).toMatch(/^cus_/);
    const read = await stripe.customers.retrieve(created.id);
    expect(read).toMatchObject({ object: "customer", email: "owner@example.test", metadata: { account: "acc_team_1" } });
    await expect(stripe.customers.retrieve("cus_nope")).rejects.toMatchObject({ type: "StripeInvalidRequestError", code: "resource_missing", statusCode: 404 });
  });

  it("buys a pack: checkout session, hosted page, Pay → signed checkout.session.completed, then the redirect", async () => {
    const customer = await stripe.customers.create({ email: "owner@example.test" });
    const session = await stripe.checkout.sessions.create({
      mode: "payment",
      customer: customer.id,
      client_reference_id: "acc_team_1",
      metadata: { credits: "10000" },
      line_items: [{ price: await priceId("credits_10k"), quantity: 2 }],
      success_url: "http://127.0.0.1:8787/billing?session={CHECKOUT_SESSION_ID}",
      cancel_url: "http://127.0.0.1:8787/billing",
      payment_intent_data: { setup_future_usage: "off_session" },
    });
    expect(session).toMatchObject({ object: "checkout.session", status: "open", payment_status: "unpaid", amount_total: 2000, client_reference_id: "acc_team_1" });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toBe(`${standin.url}/checkout/${session.id}`);

    const html = await (await fetch(session.url!)).text();
    expect(html).toContain("10,000 credits");
    expect(html).toContain("20.00 USD");

    const res = await payPage(session.url!);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`http://127.0.0.1:8787/billing?session=${session.id}`);

    // Delivered (and verified by the receiver) before the redirect was answered.
    const completed = receiver.got.find((e) => e.type === "checkout.session.completed")!;
    expect(completed).toMatchObject({ object: "event", livemode: false, api_version: Stripe.API_VERSION, created: T0 / 1000 });
    expect(completed.id).toMatch(/^evt_/);
    expect(completed.data.object).toMatchObject({ id: session.id, payment_status: "paid", status: "complete", client_reference_id: "acc_team_1", metadata: { credits: "10000" }, customer: customer.id, amount_total: 2000 });
    expect(types()).toEqual(["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]);

    const read = await stripe.checkout.sessions.retrieve(session.id);
    expect(read).toMatchObject({ status: "complete", payment_status: "paid" });
    expect(read.payment_intent).toMatch(/^pi_/);

    // A second Pay on a complete session charges nothing and sends nothing.
    expect((await payPage(session.url!)).status).toBe(409);
    expect(receiver.got).toHaveLength(3);
  });

  it("refuses a recurring price in payment mode and a missing quantity, naming the parameter", async () => {
    const plan = await priceId("plan_starter");
    await expect(stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: plan, quantity: 1 }] })).rejects.toMatchObject({ statusCode: 400, param: "line_items[0][price]" });
    await expect(stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: await priceId("credits_10k") }] })).rejects.toMatchObject({ statusCode: 400, code: "parameter_missing", param: "line_items[0][quantity]" });
    await expect(stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: "price_nope", quantity: 1 }] })).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    await expect(stripe.customers.create({ emial: "typo@example.test" } as Stripe.CustomerCreateParams)).rejects.toMatchObject({ statusCode: 400, param: "emial" });
  });

  it("the Decline path keeps the session open and sends nothing", async () => {
    const session = await stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: await priceId("credits_10k"), quantity: 1 }] });
    const res = await fetch(`${session.url}/decline`, { method: "POST" });
    expect(res.status).toBe(402);
    expect(await res.text()).toContain("declined");
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe("open");
    expect(receiver.got).toEqual([]);
  });

  it("a monthly plan: invoice.paid carries the subscription's metadata; renewals and cancellation send their events", async () => {
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      client_reference_id: "acc_team_1",
      metadata: { plan: "plan_starter" },
      subscription_data: { metadata: { account: "acc_team_1", credits: "20000" } },
      line_items: [{ price: await priceId("plan_starter"), quantity: 1 }],
      success_url: "http://127.0.0.1:8787/billing",
    });
    expect((await payPage(session.url!)).status).toBe(303);
    expect(types()).toEqual(["charge.succeeded", "payment_intent.succeeded", "customer.subscription.created", "invoice.paid", "checkout.session.completed"]);
    const paid = receiver.got.find((e) => e.type === "invoice.paid")!.data.object as unknown as Stripe.Invoice;
    expect(paid.billing_reason).toBe("subscription_create");
    expect(paid.parent?.subscription_details?.metadata).toEqual({ account: "acc_team_1", credits: "20000" });
    const sub = String(paid.parent?.subscription_details?.subscription);
    expect(sub).toMatch(/^sub_/);
    const done = receiver.got.find((e) => e.type === "checkout.session.completed")!.data.object;
    expect(done).toMatchObject({ subscription: sub, invoice: paid.id, payment_status: "paid" });
    expect(String(done.customer)).toMatch(/^cus_/); // subscription mode always makes a customer

    // As at this API version: the line names its price by id only, and the payment is not in the event.
    const starter = await priceId("plan_starter");
    expect(paid.lines.data).toHaveLength(1);
    expect(paid.lines.data[0]).toMatchObject({ pricing: { type: "price_details", price_details: { price: starter } }, parent: { type: "subscription_item_details", subscription_item_details: { proration: false, subscription: sub } }, quantity: 1 });
    expect(paid.payments).toBeUndefined();
    const payments = await stripe.invoicePayments.list({ invoice: paid.id, status: "paid" });
    expect(payments.data).toEqual([expect.objectContaining({ object: "invoice_payment", invoice: paid.id, amount_paid: 1900, payment: { type: "payment_intent", payment_intent: done.payment_intent ?? expect.stringMatching(/^pi_/) } })]);
    expect((await stripe.invoices.retrieve(paid.id, { expand: ["payments"] })).payments?.data).toHaveLength(1);
    await expect(stripe.invoicePayments.list({ invoice: "in_nope" })).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });

    await standin.renew(sub);
    const renewal = receiver.got.filter((e) => e.type === "invoice.paid")[1]!.data.object as unknown as Stripe.Invoice;
    expect(renewal.billing_reason).toBe("subscription_cycle");
    expect(renewal.id).not.toBe(paid.id);

    await standin.cancelSubscription(sub);
    expect(receiver.got.at(-1)).toMatchObject({ type: "customer.subscription.deleted", data: { object: { id: sub, status: "canceled" } } });
  });

  it("reads a price by id, its product expanded: a catalog price's lookup key, an inline price's product metadata", async () => {
    const starter = await priceId("plan_starter");
    expect(await stripe.prices.retrieve(starter)).toMatchObject({ id: starter, lookup_key: "plan_starter", product: expect.stringMatching(/^prod_/) });
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price_data: { currency: "usd", unit_amount: 1900, recurring: { interval: "month" }, product_data: { name: "mxray Starter", metadata: { mxray_lookup_key: "plan_starter" } } }, quantity: 1 }],
    });
    expect((await payPage(session.url!)).status).toBe(303);
    const paid = receiver.got.find((e) => e.type === "invoice.paid")!.data.object as unknown as Stripe.Invoice;
    const inline = await stripe.prices.retrieve(String(paid.lines.data[0]!.pricing!.price_details!.price), { expand: ["product"] });
    expect(inline).toMatchObject({ lookup_key: null, active: false, product: { object: "product", metadata: { mxray_lookup_key: "plan_starter" } } });
    await expect(stripe.prices.retrieve("price_nope")).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
  });

  it("a plan changed as the Customer Portal does: subscription.updated, then the prorations invoiced (a downgrade's at $0), the metadata left as it was", async () => {
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      subscription_data: { metadata: { account_id: "acc_team_1", plan: "plan_growth" } },
      line_items: [{ price: await priceId("plan_growth"), quantity: 1 }],
    });
    expect((await payPage(session.url!)).status).toBe(303);
    const sub = String((await stripe.checkout.sessions.retrieve(session.id)).subscription);
    receiver.got.splice(0);

    now += 15 * 24 * 3600_000; // half of the period
    const portal = await stripe.billingPortal.sessions.create({ customer: String((await stripe.checkout.sessions.retrieve(session.id)).customer) });
    expect(await (await fetch(portal.url)).text()).toContain("Switch to Starter: 20,000 credits a month");
    const switched = await fetch(`${portal.url}/switch`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `subscription=${sub}&lookup_key=plan_starter` });
    expect(switched.status).toBe(303);
    expect(types()).toEqual(["customer.subscription.updated", "invoice.paid"]);
    const updated = receiver.got[0]!;
    expect(updated.data.object).toMatchObject({ id: sub, status: "active", metadata: { plan: "plan_growth" }, items: { data: [{ price: { lookup_key: "plan_starter" } }] } });
    expect(updated.data.previous_attributes).toMatchObject({ items: { data: [{ price: { lookup_key: "plan_growth" } }] } });
    const proration = receiver.got[1]!.data.object as unknown as Stripe.Invoice;
    expect(proration).toMatchObject({ billing_reason: "subscription_update", amount_paid: 0, total: -3000, ending_balance: -3000 });
    expect(proration.lines.data.map((l) => [l.amount, l.parent?.subscription_item_details?.proration])).toEqual([[-3950, true], [950, true]]);

    // The renewal bills Starter, paid first from the credit.
    await standin.renew(sub);
    const renewal = receiver.got.at(-1)!.data.object as unknown as Stripe.Invoice;
    expect(renewal).toMatchObject({ billing_reason: "subscription_cycle", amount_paid: 0, starting_balance: -3000, ending_balance: -1100 });
    expect(renewal.lines.data[0]).toMatchObject({ amount: 1900, pricing: { price_details: { price: await priceId("plan_starter") } } });
    await expect(standin.changePlan(sub, "plan_starter")).rejects.toThrow(/already on this price/);
    await expect(standin.changePlan(sub, "credits_10k")).rejects.toThrow(/No active recurring price/);
  });

  it("auto top-up: an off-session PaymentIntent with the saved card succeeds, and declines when the customer is flagged", async () => {
    const customer = await stripe.customers.create({ email: "owner@example.test" });
    await buyPack({ customer: customer.id });
    const saved = await stripe.paymentMethods.list({ customer: customer.id, type: "card" });
    expect(saved.data).toHaveLength(1);
    const pm = saved.data[0]!.id;

    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: "usd", customer: customer.id, payment_method: pm, off_session: true, confirm: true, metadata: { credits: "10000", account: "acc_team_1", reason: "auto_topup" } });
    expect(pi).toMatchObject({ object: "payment_intent", status: "succeeded", amount_received: 1000 });
    await standin.idle();
    expect(receiver.got.at(-1)).toMatchObject({ type: "payment_intent.succeeded", data: { object: { id: pi.id, metadata: { reason: "auto_topup" } } } });

    const flagged = await fetch(`${standin.url}/_standin/customers/${customer.id}/decline`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ decline: true }) });
    expect(flagged.status).toBe(200);
    const err = await stripe.paymentIntents.create({ amount: 1000, currency: "usd", customer: customer.id, payment_method: pm, off_session: true, confirm: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ code: "card_declined", statusCode: 402, payment_intent: { status: "requires_payment_method" } });
    await standin.idle();
    expect(receiver.got.at(-1)?.type).toBe("payment_intent.payment_failed");
  });

  it("the billing portal lists the customer's payments and links back", async () => {
    const customer = await stripe.customers.create({ email: "owner@example.test" });
    await buyPack({ customer: customer.id });
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: "http://127.0.0.1:8787/billing" });
    expect(portal.url).toMatch(new RegExp(`^${standin.url}/portal/bps_`));
    const html = await (await fetch(portal.url)).text();
    expect(html).toContain("10.00 USD");
    expect(html).toContain('href="http://127.0.0.1:8787/billing"');
  });
});

describe("Stripe stand-in: webhook delivery", () => {
  it("a duplicate delivery sends the same event id twice, byte for byte the same event", async () => {
    await buyPack({ delivery: "duplicate" });
    const completed = receiver.got.filter((e) => e.type === "checkout.session.completed");
    expect(completed).toHaveLength(2);
    expect(completed[0]!.id).toBe(completed[1]!.id);
    expect(completed[0]).toEqual(completed[1]);
  });

  it("a concurrent duplicate sends both copies at once", async () => {
    await buyPack({ delivery: "concurrent" });
    const ids = receiver.got.filter((e) => e.type === "checkout.session.completed").map((e) => e.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
  });

  it("a late delivery is held back and arrives after later events", async () => {
    const session = await buyPack({ delivery: "late" });
    expect(receiver.got).toEqual([]);
    const pi = (await stripe.checkout.sessions.retrieve(session.id)).payment_intent as string;
    await standin.refund(pi);
    expect(types()).toEqual(["charge.refunded"]);
    await standin.releaseLate();
    expect(types()).toEqual(["charge.refunded", "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]);
  });

  it("a late delivery also goes by itself on the timer", async () => {
    await buyPack({ delivery: "late" });
    expect(receiver.got).toEqual([]);
    await runTimers();
    expect(types()).toContain("checkout.session.completed");
  });

  it("a non-2xx answer is retried with backoff on the injected timer, then given up", async () => {
    receiver.answers.push(500, 500, 500, 500, 500, 500, 500);
    await buyPack();
    const firstId = receiver.got[0]!.id;
    expect(timers.map((t) => t.ms)).toEqual([RETRY_DELAYS_MS[0], RETRY_DELAYS_MS[0], RETRY_DELAYS_MS[0]]);
    now += 60_000; // the retry is signed at its own time
    receiver.answers.splice(0, receiver.answers.length, 200, 200, 200);
    await runTimers();
    expect(receiver.got.filter((e) => e.id === firstId)).toHaveLength(2);
    expect(standin.attempts().filter((a) => a.eventId === firstId).map((a) => [a.attempt, a.status])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    expect(timers).toEqual([]);

    // An endpoint that always fails gets 1 + RETRY_DELAYS_MS.length attempts, no more.
    receiver.answers.push(...Array(20).fill(503));
    await standin.refund(String(receiver.got[0]!.data.object.id));
    for (let i = 0; i < 5; i++) await runTimers();
    const refunded = standin.attempts().filter((a) => a.type === "charge.refunded");
    expect(refunded.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
  });

  it("refund and dispute hooks send charge.refunded and charge.dispute.created; an over-refund is refused", async () => {
    await buyPack();
    const charge = receiver.got.find((e) => e.type === "charge.succeeded")!.data.object;
    const partial = await fetch(`${standin.url}/_standin/refund`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: charge.id, amount: 400 }) });
    expect(partial.status).toBe(200);
    expect(receiver.got.at(-1)).toMatchObject({ type: "charge.refunded", data: { object: { id: charge.id, amount_refunded: 400, refunded: false }, previous_attributes: { amount_refunded: 0 } } });
    await expect(standin.refund(String(charge.id), 700)).rejects.toThrow(/greater than unrefunded/);
    await standin.refund(String(charge.id));
    expect(receiver.got.at(-1)).toMatchObject({ type: "charge.refunded", data: { object: { amount_refunded: 1000, refunded: true } } });

    const disputed = await fetch(`${standin.url}/_standin/dispute`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: charge.payment_intent }) });
    expect(disputed.status).toBe(200);
    const d = receiver.got.at(-1)!;
    expect(d.type).toBe("charge.dispute.created");
    expect(d.data.object).toMatchObject({ object: "dispute", charge: charge.id, status: "needs_response" });
    expect(String(d.data.object.id)).toMatch(/^du_/);
  });

  it("signs with the configured secret: another secret does not verify", async () => {
    await buyPack();
    const stored = standin.events()[0]!;
    expect(stored.id).toBe(receiver.got[0]!.id);
    const payload = JSON.stringify(stored, null, 2);
    const forged = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_other", timestamp: T0 / 1000 });
    await expect(Stripe.webhooks.constructEventAsync(payload, forged, WHSEC, undefined, undefined, T0)).rejects.toThrow(/signature/i);
  });
});

describe("Stripe stand-in: idempotency and authentication", () => {
  it("the same Idempotency-Key and body answer the same object; another body under the key is an idempotency_error", async () => {
    const a = await stripe.customers.create({ email: "a@example.test" }, { idempotencyKey: "key-1" });
    const b = await stripe.customers.create({ email: "a@example.test" }, { idempotencyKey: "key-1" });
    expect(b.id).toBe(a.id);
    expect(b.lastResponse.headers["idempotent-replayed"]).toBe("true");
    await expect(stripe.customers.create({ email: "b@example.test" }, { idempotencyKey: "key-1" })).rejects.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    const c = await stripe.customers.create({ email: "a@example.test" }, { idempotencyKey: "key-2" });
    expect(c.id).not.toBe(a.id);
  });

  it("a replayed PaymentIntent charges once and sends its events once", async () => {
    const customer = await stripe.customers.create({ email: "owner@example.test" });
    await buyPack({ customer: customer.id });
    const pm = (await stripe.paymentMethods.list({ customer: customer.id, type: "card" })).data[0]!.id;
    const params = { amount: 1000, currency: "usd", customer: customer.id, payment_method: pm, off_session: true, confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: "topup-1" });
    const again = await stripe.paymentIntents.create(params, { idempotencyKey: "topup-1" });
    expect(again.id).toBe(first.id);
    await standin.idle();
    expect(receiver.got.filter((e) => e.type === "payment_intent.succeeded" && e.data.object.id === first.id)).toHaveLength(1);
    expect(receiver.got.find((e) => e.data.object.id === first.id)?.request).toEqual({ id: expect.stringMatching(/^req_/), idempotency_key: "topup-1" });
  });

  it("no key and a wrong key get 401 in Stripe's error shape", async () => {
    const res = await fetch(`${standin.url}/v1/customers/cus_x`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "api_key_missing" });
    expect(body.error.message).toMatch(/did not provide an API key/);

    const wrong = new Stripe("sk_test_wrong_key_123", { host: standin.host, port: standin.port, protocol: "http", maxNetworkRetries: 0 });
    await expect(wrong.customers.create({ email: "a@example.test" })).rejects.toMatchObject({ type: "StripeAuthenticationError", statusCode: 401, code: "api_key_invalid" });
  });
});

describe("Stripe stand-in: form encoding", () => {
  it("nests brackets and makes arrays of indexes and of []", () => {
    expect(parseForm("a[b][c]=1&line_items[0][price]=p1&line_items[1][price]=p2&line_items[0][quantity]=2&expand[]=x&expand[]=y&q=a+b%26c")).toEqual({
      a: { b: { c: "1" } },
      line_items: [{ price: "p1", quantity: "2" }, { price: "p2" }],
      expand: ["x", "y"],
      q: "a b&c",
    });
  });

  it("refuses prototype keys", () => {
    expect(() => parseForm("metadata[__proto__][x]=1")).toThrow(/Invalid parameter/);
  });
});
