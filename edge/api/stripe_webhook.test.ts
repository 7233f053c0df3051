// POST /webhooks/stripe against the real sqld, events signed as Stripe signs them. After every
// scenario the cached balance of each account involved must equal the sum of its ledger.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { productByKey } from "../../core/billing.ts";
import { newId } from "../../core/ids.ts";
import { creditLedger, stripeEvents, stripeSubscriptions } from "../../db/schema.ts";
import { billingOverview, startCheckout } from "../billing/billing.ts";
import { buildServices } from "../context.ts";
import { creditBalance, reserveStatements } from "../credits/credits.ts";
import { ledgerDrift } from "../credits/ledger.ts";
import { call, errorCode, seedAccount, testDb } from "../testing.ts";
import { MAX_STRIPE_EVENT_BYTES } from "./stripe_webhook.ts";

const db = testDb();
const cryptoProvider = Stripe.createSubtleCryptoProvider();
const nowS = () => Math.floor(Date.now() / 1000);
/** A Stripe-style id (evt_…, cs_…, pi_…). */
const sid = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;

/** Accounts a test touched: each must have balance == sum(ledger) when it ends. */
let touched: string[] = [];
afterEach(async () => {
  const ids = touched;
  touched = [];
  expect(await ledgerDrift(db, ids)).toEqual([]);
});

async function account(): Promise<{ accountId: string; key: string }> {
  const a = await seedAccount(0);
  touched.push(a.accountId);
  return a;
}

type Outcome = { received: true; id: string; outcome: string; code?: string };

const services = () => buildServices(env, { waitUntil: () => {} }, "http://edge.test");
const subscriptionsOf = (accountId: string) => db.select().from(stripeSubscriptions).where(eq(stripeSubscriptions.accountId, accountId));

async function deliver(event: object, opts: { timestamp?: number; secret?: string; header?: string; body?: string } = {}): Promise<Response> {
  const payload = opts.body ?? JSON.stringify(event);
  const header = opts.header ?? (await Stripe.webhooks.generateTestHeaderStringAsync({
    payload, secret: opts.secret ?? env.STRIPE_WEBHOOK_SECRET!, timestamp: opts.timestamp ?? nowS(), cryptoProvider,
  }));
  return call("/webhooks/stripe", { method: "POST", body: payload, headers: { "stripe-signature": header, "content-type": "application/json" } });
}

async function outcome(event: object): Promise<Outcome> {
  const res = await deliver(event);
  expect(res.status).toBe(200);
  return (await res.json()) as Outcome;
}

const event = <T extends object>(type: string, object: T, id = sid("evt")) => ({ id, object: "event", type, api_version: "2026-10-28.endive", data: { object } });

/** A pack's session as our server makes it: the account twice and the pack's lookup key (no credits trusted). */
function checkout(accountId: string | null, product: unknown, o: { session?: string; pi?: string; paid?: boolean; type?: string; amount?: number; metadata?: object } = {}) {
  return event(o.type ?? "checkout.session.completed", {
    id: o.session ?? sid("cs"), object: "checkout.session", mode: "payment", payment_status: o.paid === false ? "unpaid" : "paid",
    client_reference_id: accountId, metadata: { ...(accountId ? { account_id: accountId } : {}), ...(product === undefined ? {} : { product }), ...o.metadata },
    payment_intent: o.pi ?? sid("pi"), amount_total: o.amount ?? 2000,
  });
}
const refunded = (pi: string, amountRefunded: number, amount = 2000) =>
  event("charge.refunded", { id: sid("ch"), object: "charge", payment_intent: pi, amount, amount_refunded: amountRefunded });
const disputed = (pi: string) => event("charge.dispute.created", { id: sid("dp"), object: "dispute", payment_intent: pi, charge: sid("ch"), amount: 2000 });
const disputeClosed = (pi: string, status: "won" | "lost") => event("charge.dispute.closed", { id: sid("dp"), object: "dispute", payment_intent: pi, charge: sid("ch"), amount: 2000, status });

const ledgerOf = (accountId: string) => db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId));

describe("POST /webhooks/stripe: checkout", () => {
  it("credits a paid session once: a repeated event id, and another event for the same session, change nothing", async () => {
    const { accountId } = await account();
    const paid = checkout(accountId, "credits_10k", { session: sid("cs") });
    expect(await outcome(paid)).toMatchObject({ outcome: "applied" });
    expect(await outcome(paid)).toMatchObject({ outcome: "already_applied" });
    const sameSession = { ...paid, id: sid("evt"), type: "checkout.session.async_payment_succeeded" };
    expect(await outcome(sameSession)).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
    const ledger = await ledgerOf(accountId);
    expect(ledger).toEqual([expect.objectContaining({ delta: 10_000, reason: "purchase", actor: "stripe", idempotencyKey: `stripe:checkout:${paid.data.object.id}` })]);
  });

  it("grants the catalog's credits for the pack the session names, whatever a credits field in its metadata says", async () => {
    const { accountId } = await account();
    expect(await outcome(checkout(accountId, "credits_50k", { metadata: { credits: "1000000" } }))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(50_000);
  });

  it("names the buyer our server wrote as the entry's actor, and leaves a plan's session to its invoices", async () => {
    const { accountId } = await account();
    const bought = event("checkout.session.completed", {
      id: sid("cs"), object: "checkout.session", mode: "payment", payment_status: "paid", client_reference_id: accountId,
      metadata: { account_id: accountId, product: "credits_10k", actor: "usr_0123abcd" }, payment_intent: sid("pi"), amount_total: 1000,
    });
    expect(await outcome(bought)).toMatchObject({ outcome: "applied" });
    expect(await ledgerOf(accountId)).toEqual([expect.objectContaining({ delta: 10_000, reason: "purchase", actor: "usr_0123abcd" })]);
    const plan = event("checkout.session.completed", {
      id: sid("cs"), object: "checkout.session", mode: "subscription", payment_status: "paid", client_reference_id: accountId,
      metadata: { account_id: accountId, product: "plan_growth" }, subscription: sid("sub"), amount_total: 7900,
    });
    expect(await outcome(plan)).toMatchObject({ outcome: "ignored", code: "plan_checkout" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
  });

  it("changes nothing for an unpaid session, and credits when its async payment succeeds", async () => {
    const { accountId } = await account();
    const session = sid("cs");
    expect(await outcome(checkout(accountId, "credits_10k", { session, paid: false }))).toMatchObject({ outcome: "ignored", code: "unpaid" });
    expect(await creditBalance(db, accountId)).toBe(0);
    expect(await outcome(checkout(accountId, "credits_10k", { session, type: "checkout.session.async_payment_succeeded" }))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
  });

  it("applies one of many deliveries arriving at the same moment", async () => {
    const { accountId } = await account();
    const paid = checkout(accountId, "credits_10k");
    const other = { ...paid, id: sid("evt"), type: "checkout.session.async_payment_succeeded" };
    const answers = await Promise.all([paid, paid, paid, other, other, paid].map((e) => outcome(e)));
    expect(answers.filter((a) => a.outcome === "applied")).toHaveLength(1);
    expect(answers.every((a) => a.outcome === "applied" || a.outcome === "already_applied")).toBe(true);
    expect(await creditBalance(db, accountId)).toBe(10_000);
  });

  it("credits only the account the session names (tenant isolation)", async () => {
    const a = await account();
    const b = await account();
    const pi = sid("pi");
    await outcome(checkout(a.accountId, "credits_10k", { pi }));
    await outcome(refunded(pi, 2000));
    expect(await creditBalance(db, a.accountId)).toBe(0);
    expect(await ledgerOf(a.accountId)).toHaveLength(2);
    expect(await ledgerOf(b.accountId)).toEqual([]);
    expect(await creditBalance(db, b.accountId)).toBe(0);
  });

  it("holds, answering 2xx, an event naming an unknown account, two different accounts, or no pack we sell; the ledger is untouched", async () => {
    const { accountId } = await account();
    const other = await account();
    const unknown = checkout("acc_doesnotexist", "credits_10k");
    expect(await outcome(unknown)).toMatchObject({ outcome: "held", code: "unknown_account" });
    const [held] = await db.select().from(stripeEvents).where(eq(stripeEvents.id, unknown.id));
    expect(held).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(JSON.parse(held!.payload!)).toMatchObject({ id: unknown.id });
    expect(await outcome(checkout(null, "credits_10k"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    // A Payment Link takes client_reference_id from its URL: it must be the account our server wrote.
    expect(await outcome(checkout(accountId, "credits_10k", { metadata: { account_id: other.accountId } }))).toMatchObject({ outcome: "held", code: "unknown_account" });
    for (const product of [undefined, "", "credits_999", "CREDITS_10K", " credits_10k", "plan_starter", 10_000, { lookup_key: "credits_10k" }]) {
      expect(await outcome(checkout(accountId, product, { metadata: { credits: "10000" } }))).toMatchObject({ outcome: "held", code: "unknown_product" });
    }
    expect(await ledgerOf(accountId)).toEqual([]);
    expect(await ledgerOf(other.accountId)).toEqual([]);
  });
});

describe("POST /webhooks/stripe: refunds and disputes", () => {
  it("takes back the refunded share once per refund, at most what was bought", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    await outcome(checkout(accountId, "credits_10k", { pi, amount: 2000 }));
    const quarter = refunded(pi, 500);
    expect(await outcome(quarter)).toMatchObject({ outcome: "applied" });
    expect(await outcome(quarter)).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(7_500);
    // A later refund reports the charge's running total.
    expect(await outcome(refunded(pi, 1500))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(2_500);
    // An older delivery of a smaller total arriving late changes nothing.
    expect(await outcome(refunded(pi, 500))).toMatchObject({ outcome: "already_applied" });
    expect(await outcome(refunded(pi, 9000))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(0);
    const reversals = (await ledgerOf(accountId)).filter((e) => e.reason === "refund");
    expect(reversals.map((e) => e.delta)).toEqual([-2_500, -5_000, -2_500]);
    expect(reversals.every((e) => e.actor === "stripe" && e.kind === "reversal")).toBe(true);
  });

  it("takes back a disputed purchase once; the balance goes negative and uploads and checks are refused until it is positive", async () => {
    const { accountId, key } = await account();
    const pi = sid("pi");
    await outcome(checkout(accountId, "credits_10k", { pi }));
    await db.$client.batch(reserveStatements(accountId, "key_test", newId("job"), 8_000, Date.now()), "write"); // spent on a job
    const dispute = disputed(pi);
    expect(await outcome(dispute)).toMatchObject({ outcome: "applied" });
    expect(await outcome({ ...dispute, id: sid("evt") })).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(-8_000);
    expect((await ledgerOf(accountId)).find((e) => e.reason === "dispute")).toMatchObject({ delta: -10_000 });

    const check = await call("/api/v1/verify", { method: "POST", key, body: JSON.stringify({ email: "someone@example.com" }), headers: { "content-type": "application/json" } });
    expect(check.status).toBe(402);
    expect(await check.json()).toMatchObject({ error: { code: "insufficient_credits", message: expect.stringContaining("-8000") } });
    const upload = await call("/api/v1/jobs", { method: "POST", key, body: "email\na@example.com\n", headers: { "content-type": "text/csv" } });
    expect([upload.status, await errorCode(upload)]).toEqual([402, "insufficient_credits"]);

    await outcome(checkout(accountId, "credits_10k"));
    expect(await creditBalance(db, accountId)).toBe(2_000);
  });

  it("gives back a won dispute's credits once, keeps a lost one's, and counts a refund after it", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    await outcome(checkout(accountId, "credits_10k", { pi }));
    await outcome(refunded(pi, 1000)); // half refunded: 5,000 back to Stripe
    await outcome(disputed(pi));
    expect(await creditBalance(db, accountId)).toBe(0);
    const won = disputeClosed(pi, "won");
    expect(await outcome(won)).toMatchObject({ outcome: "applied" });
    expect(await outcome({ ...won, id: sid("evt") })).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(5_000);
    expect((await ledgerOf(accountId)).filter((e) => e.kind === "reversal").map((e) => [e.reason, e.delta])).toEqual([["refund", -5_000], ["dispute", -5_000], ["dispute", 5_000]]);
    // The rest refunded afterwards: the same total as during the dispute, taken again.
    expect(await outcome(refunded(pi, 2000))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(0);

    const lost = sid("pi");
    await outcome(checkout(accountId, "credits_10k", { pi: lost }));
    await outcome(disputed(lost));
    expect(await outcome(disputeClosed(lost, "lost"))).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(0);

    // Closed as won before Stripe's opening event arrives: nothing is taken at all.
    const early = sid("pi");
    await outcome(checkout(accountId, "credits_10k", { pi: early }));
    expect(await outcome(disputeClosed(early, "won"))).toMatchObject({ outcome: "already_applied" });
    expect(await outcome(disputed(early))).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
  });

  it("keeps a refund or dispute that arrives before its purchase and applies it with the purchase", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    expect(await outcome(refunded(pi, 1000))).toMatchObject({ outcome: "recorded" });
    expect(await ledgerOf(accountId)).toEqual([]);
    expect(await outcome(checkout(accountId, "credits_10k", { pi }))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(5_000);

    const pi2 = sid("pi");
    expect(await outcome(disputed(pi2))).toMatchObject({ outcome: "recorded" });
    await outcome(checkout(accountId, "credits_10k", { pi: pi2 }));
    expect(await creditBalance(db, accountId)).toBe(5_000);
  });
});

/** The stand-in Stripe the Worker under test calls (vitest.workers.config.ts). */
async function standin<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${env.STRIPE_API_URL}${path}`, { ...init, headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}`, ...init.headers } });
  expect(res.status, path).toBeLessThan(300);
  return (await res.json()) as T;
}
const hook = (path: string, form: Record<string, string> = {}) =>
  standin<Record<string, any>>(path, { method: "POST", body: new URLSearchParams(form).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
/** The id of the stand-in's price under a lookup key, as an invoice line names it. */
const priceId = async (lookupKey: string) => (await standin<{ data: { id: string }[] }>(`/v1/prices?lookup_keys[]=${lookupKey}`)).data[0]!.id;

/** An invoice line for a subscription item as this API version sends it: the price by id only. */
function line(price: unknown, o: { proration?: boolean; quantity?: number; legacy?: boolean } = {}) {
  if (o.legacy) return { id: sid("il"), object: "line_item", type: "subscription", proration: o.proration ?? false, price, quantity: o.quantity ?? 1 };
  return {
    id: sid("il"), object: "line_item", quantity: o.quantity ?? 1,
    parent: { type: "subscription_item_details", subscription_item_details: { proration: o.proration ?? false, subscription: "sub_x", subscription_item: sid("si") } },
    pricing: { type: "price_details", price_details: { price, product: "prod_x" }, unit_amount_decimal: "1900" },
  };
}

function invoicePaid(accountId: string, lines: object[], o: { reason?: string; invoice?: string; sub?: string; legacy?: boolean; pi?: string; metadata?: object } = {}) {
  const details = { metadata: { account_id: accountId, ...o.metadata }, subscription: o.sub ?? sid("sub") };
  return event("invoice.paid", {
    id: o.invoice ?? sid("in"), object: "invoice", customer: "cus_1", amount_paid: 1900, billing_reason: o.reason ?? "subscription_cycle",
    lines: { object: "list", data: lines, has_more: false },
    // Includable only, never in Stripe's events; carried here so that no lookup is needed.
    payments: { object: "list", data: o.pi ? [{ object: "invoice_payment", payment: { type: "payment_intent", payment_intent: o.pi }, status: "paid" }] : [] },
    ...(o.legacy ? { subscription_details: details } : { parent: { type: "subscription_details", subscription_details: details } }),
  });
}
const subscriptionEvent = (type: string, sub: string, accountId: string, o: { status?: string; price?: object } = {}) =>
  event(type, {
    id: sub, object: "subscription", customer: "cus_1", status: o.status ?? "active", ended_at: o.status === "canceled" ? nowS() : null, metadata: { account_id: accountId, plan: "plan_growth" },
    items: { object: "list", data: [{ id: sid("si"), object: "subscription_item", quantity: 1, price: { id: sid("price"), object: "price", lookup_key: "plan_growth", ...o.price } }] },
  });
const subscriptionRow = async (sub: string) => (await db.select().from(stripeSubscriptions).where(eq(stripeSubscriptions.id, sub)))[0];

describe("POST /webhooks/stripe: plans", () => {
  it("contract: an invoice.paid whose line is priced at plan_starter grants 20,000 credits once, whatever its metadata says", async () => {
    expect(productByKey("plan_starter")).toMatchObject({ kind: "plan", credits: 20_000 });
    const { accountId } = await account();
    const sub = sid("sub");
    const starter = await priceId("plan_starter");
    // Metadata written when the plan was Growth, as a change in the Customer Portal leaves it.
    const paid = invoicePaid(accountId, [line(starter)], { sub, metadata: { credits: "100000", plan: "plan_growth" } });
    expect(await outcome(paid)).toMatchObject({ outcome: "applied" });
    expect(await outcome(paid)).toMatchObject({ outcome: "already_applied" });
    expect(await outcome({ ...paid, id: sid("evt") })).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(20_000);
    expect(await ledgerOf(accountId)).toEqual([expect.objectContaining({ delta: 20_000, reason: "plan_grant", idempotencyKey: `stripe:invoice:${paid.data.object.id}` })]);
    expect(await subscriptionRow(sub)).toMatchObject({ accountId, plan: "plan_starter", status: "active", customerId: "cus_1" });
    // The older shape: the whole price on the line, the subscription's details at the top.
    const legacy = invoicePaid(accountId, [line({ id: starter, object: "price", lookup_key: "plan_starter" }, { legacy: true })], { sub, legacy: true, metadata: { credits: "100000" } });
    expect(await outcome(legacy)).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(40_000);
  });

  it("a renewal grants the period's line only: prorations of a plan change are left out, a quantity counts", async () => {
    const { accountId } = await account();
    const [starter, growth] = [await priceId("plan_starter"), await priceId("plan_growth")];
    const renewal = invoicePaid(accountId, [line(growth, { proration: true }), line(starter, { proration: true }), line(starter, { quantity: 2 })]);
    expect(await outcome(renewal)).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(40_000);
  });

  it("grants nothing for an invoice that opens no period: a plan change's proration (even $0), manual, threshold", async () => {
    const { accountId } = await account();
    const [starter, growth] = [await priceId("plan_starter"), await priceId("plan_growth")];
    const proration = invoicePaid(accountId, [line(growth, { proration: true }), line(starter, { proration: true })], { reason: "subscription_update" });
    expect(await outcome({ ...proration, data: { object: { ...proration.data.object, amount_paid: 0 } } })).toMatchObject({ outcome: "ignored", code: "not_a_period" });
    for (const reason of ["subscription_update", "manual", "subscription_threshold", "upcoming", "subscription", ""]) {
      expect(await outcome(invoicePaid(accountId, [line(growth)], { reason }))).toMatchObject({ outcome: "ignored", code: "not_a_period" });
    }
    expect(await ledgerOf(accountId)).toEqual([]);
  });

  it("holds an invoice whose price is not a plan we sell or that has no period line, and ignores one that is not a plan's", async () => {
    const { accountId } = await account();
    const pack = await priceId("credits_10k");
    expect(await outcome(invoicePaid(accountId, [line(pack)]))).toMatchObject({ outcome: "held", code: "unknown_price" });
    expect(await outcome(invoicePaid(accountId, [line({ id: sid("price"), object: "price", lookup_key: "plan_enterprise" }, { legacy: true })]))).toMatchObject({ outcome: "held", code: "unknown_price" });
    expect(await outcome(invoicePaid(accountId, [line(await priceId("plan_starter"), { proration: true })]))).toMatchObject({ outcome: "held", code: "no_period_line" });
    expect(await outcome(invoicePaid(accountId, []))).toMatchObject({ outcome: "held", code: "no_period_line" });
    expect(await outcome(invoicePaid("acc_doesnotexist", [line(await priceId("plan_starter"))]))).toMatchObject({ outcome: "held", code: "unknown_account" });
    const noAccount = invoicePaid(accountId, [line(await priceId("plan_starter"))], { metadata: { account_id: undefined } });
    expect(await outcome(noAccount)).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(await outcome(event("invoice.paid", { id: sid("in"), object: "invoice", customer: "cus_1", billing_reason: "manual", parent: null }))).toMatchObject({ outcome: "ignored", code: "not_a_plan" });
    expect(await ledgerOf(accountId)).toEqual([]);
  });

  it("takes back a period's credits when its invoice's payment is refunded or disputed", async () => {
    const { accountId } = await account();
    const starter = await priceId("plan_starter");
    const [pi1, pi2] = [sid("pi"), sid("pi")];
    expect(await outcome(invoicePaid(accountId, [line(starter)], { pi: pi1 }))).toMatchObject({ outcome: "applied" });
    expect(await outcome(invoicePaid(accountId, [line(starter)], { pi: pi2 }))).toMatchObject({ outcome: "applied" });
    expect(await outcome(refunded(pi1, 950, 1900))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(30_000);
    expect(await outcome(disputed(pi2))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
  });

  it("customer.subscription.updated changes the plan shown; an unknown price is held and changes nothing; canceled is final", async () => {
    const { accountId } = await account();
    const sub = sid("sub");
    expect(await outcome(subscriptionEvent("customer.subscription.created", sub, accountId))).toMatchObject({ outcome: "applied" });
    expect(await subscriptionRow(sub)).toMatchObject({ accountId, plan: "plan_growth", status: "active" });
    const s = services();
    expect((await billingOverview(s, { accountId, actor: "usr_owner" })).plan).toEqual({ subscriptionId: sub, lookupKey: "plan_growth" });
    expect(await outcome(subscriptionEvent("customer.subscription.updated", sub, accountId, { price: { lookup_key: "plan_starter" } }))).toMatchObject({ outcome: "applied" });
    expect((await billingOverview(s, { accountId, actor: "usr_owner" })).plan).toEqual({ subscriptionId: sub, lookupKey: "plan_starter" });
    // A late renewal of the old plan still grants what it billed, and leaves the plan shown alone.
    expect(await outcome(invoicePaid(accountId, [line(await priceId("plan_growth"))], { sub }))).toMatchObject({ outcome: "applied" });
    expect(await subscriptionRow(sub)).toMatchObject({ plan: "plan_starter" });
    expect(await outcome(subscriptionEvent("customer.subscription.updated", sub, accountId, { price: { lookup_key: "plan_enterprise" } }))).toMatchObject({ outcome: "held", code: "unknown_price" });
    expect(await subscriptionRow(sub)).toMatchObject({ plan: "plan_starter" });
    expect(await outcome(subscriptionEvent("customer.subscription.updated", sub, accountId, { status: "canceled" }))).toMatchObject({ outcome: "applied" });
    expect(await subscriptionRow(sub)).toMatchObject({ status: "canceled" });
    expect(await outcome(subscriptionEvent("customer.subscription.updated", sub, accountId, { price: { lookup_key: "plan_starter" } }))).toMatchObject({ outcome: "applied" });
    expect(await subscriptionRow(sub)).toMatchObject({ status: "canceled" });
    expect((await billingOverview(s, { accountId, actor: "usr_owner" })).plan).toBeNull();
    expect(await creditBalance(db, accountId)).toBe(100_000);
  });

  it("records the plan's end once, and an invoice delivered after it still grants what was paid", async () => {
    const { accountId } = await account();
    const sub = sid("sub");
    await outcome(invoicePaid(accountId, [line(await priceId("plan_starter"))], { sub }));
    const ended = event("customer.subscription.deleted", { id: sub, object: "subscription", customer: "cus_1", status: "canceled", ended_at: nowS(), metadata: { account_id: accountId } });
    expect(await outcome(ended)).toMatchObject({ outcome: "applied" });
    expect(await outcome(ended)).toMatchObject({ outcome: "already_applied" });
    await outcome(invoicePaid(accountId, [line(await priceId("plan_starter"))], { sub }));
    const row = await subscriptionRow(sub);
    expect(row).toMatchObject({ status: "canceled" });
    expect(row!.endedAt).toBeGreaterThan(0);
    expect(await creditBalance(db, accountId)).toBe(40_000);
  });

  it("answers 503 when the line's price can only be read from Stripe and Stripe is not configured; nothing is applied", async () => {
    const { accountId } = await account();
    const paid = invoicePaid(accountId, [line(sid("price"))]);
    const payload = JSON.stringify(paid);
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: env.STRIPE_WEBHOOK_SECRET!, timestamp: nowS(), cryptoProvider });
    const { STRIPE_SECRET_KEY: _, ...unconfigured } = env;
    const res = await call("/webhooks/stripe", { method: "POST", body: payload, headers: { "stripe-signature": header, "content-type": "application/json" }, env: unconfigured as Env });
    expect([res.status, await errorCode(res)]).toEqual([503, "payments_unavailable"]);
    expect(await ledgerOf(accountId)).toEqual([]);
    expect(await db.select().from(stripeEvents).where(eq(stripeEvents.id, paid.id))).toEqual([]);
  });
});

describe("POST /webhooks/stripe: a plan changed in the Customer Portal (the Stripe stand-in's own events)", () => {
  it("Growth → Starter: the plan shown follows, the proration grants nothing, the renewal grants 20,000; back to Growth; a renewal's refund takes its credits back", async () => {
    const { accountId } = await account();
    const s = services();
    const { url } = await startCheckout(s, { accountId, actor: "usr_owner" }, { product: "plan_growth", accountName: "Team" });
    const paid = await fetch(`${url}/pay`, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(303);
    const customer = (await standin<{ customer: string }>(`/v1/checkout/sessions/${url.split("/checkout/")[1]}`)).customer;
    const delivered = new Set<string>();
    /** Delivers the stand-in's new events for this customer, in order, and says what came of each. */
    const deliverNew = async () => {
      const all = (await standin<{ events: { id: string; type: string; data: { object: Record<string, any> } }[] }>("/_standin/events")).events;
      const fresh = all.filter((e) => e.data.object.customer === customer && !delivered.has(e.id));
      const answers: [string, string, string?][] = [];
      for (const e of fresh) {
        delivered.add(e.id);
        const o = await outcome(e);
        answers.push(o.code ? [e.type, o.outcome, o.code] : [e.type, o.outcome]);
      }
      return { answers, events: fresh };
    };
    const planShown = async () => (await billingOverview(s, { accountId, actor: "usr_owner" })).plan?.lookupKey;

    expect((await deliverNew()).answers).toEqual([
      ["charge.succeeded", "ignored", "unhandled_type"], ["payment_intent.succeeded", "ignored", "not_auto_topup"],
      ["customer.subscription.created", "applied"], ["invoice.paid", "applied"], ["checkout.session.completed", "ignored", "plan_checkout"],
    ]);
    expect(await creditBalance(db, accountId)).toBe(100_000);
    expect(await planShown()).toBe("plan_growth");
    const sub = String((await subscriptionsOf(accountId))[0]!.id);

    // Downgrade: a $0 invoice of prorations (the credit stays on the customer's balance).
    await hook(`/_standin/subscriptions/${sub}/change`, { lookup_key: "plan_starter" });
    const down = await deliverNew();
    expect(down.answers).toEqual([["customer.subscription.updated", "applied"], ["invoice.paid", "ignored", "not_a_period"]]);
    expect(down.events[1]!.data.object).toMatchObject({ billing_reason: "subscription_update", amount_paid: 0 });
    expect(await planShown()).toBe("plan_starter");
    expect(await creditBalance(db, accountId)).toBe(100_000);

    await hook(`/_standin/subscriptions/${sub}/renew`);
    const renewal = await deliverNew();
    expect(renewal.answers.at(-1)).toEqual(["invoice.paid", "applied"]);
    // The subscription's metadata still says Growth; the line says Starter.
    expect(renewal.events.at(-1)!.data.object.parent.subscription_details.metadata).toMatchObject({ plan: "plan_growth" });
    expect(await creditBalance(db, accountId)).toBe(120_000);

    // Upgrade: its prorated charge grants nothing; the next period grants Growth's.
    await hook(`/_standin/subscriptions/${sub}/change`, { lookup_key: "plan_growth" });
    const up = await deliverNew();
    expect(up.answers).toEqual([["customer.subscription.updated", "applied"], ["charge.succeeded", "ignored", "unhandled_type"], ["payment_intent.succeeded", "ignored", "not_auto_topup"], ["invoice.paid", "ignored", "not_a_period"]]);
    expect(await planShown()).toBe("plan_growth");
    expect(await creditBalance(db, accountId)).toBe(120_000);
    await hook(`/_standin/subscriptions/${sub}/renew`);
    const growthRenewal = await deliverNew();
    expect(growthRenewal.answers.at(-1)).toEqual(["invoice.paid", "applied"]);
    expect(await creditBalance(db, accountId)).toBe(220_000);

    // Stripe's invoice.paid carries no payment: the edge asked Stripe for it, so a refund takes the period back.
    const invoice = growthRenewal.events.at(-1)!.data.object;
    expect(invoice.payments).toBeUndefined();
    const pi = (await standin<{ data: { payment: { payment_intent: string } }[] }>(`/v1/invoice_payments?invoice=${invoice.id}`)).data[0]!.payment.payment_intent;
    await hook("/_standin/refund", { id: pi });
    expect((await deliverNew()).answers).toEqual([["charge.refunded", "applied"]]);
    expect(await creditBalance(db, accountId)).toBe(120_000);
  });
});

describe("POST /webhooks/stripe: auto top-up", () => {
  const topUp = (accountId: string | null, product: unknown, o: { pi?: string; type?: string; kind?: string; credits?: string } = {}) =>
    event(o.type ?? "payment_intent.succeeded", {
      id: o.pi ?? sid("pi"), object: "payment_intent", status: "succeeded", amount: 1000, amount_received: 1000,
      metadata: { kind: o.kind ?? "auto_topup", ...(accountId ? { account_id: accountId } : {}), ...(product === undefined ? {} : { product }), ...(o.credits ? { credits: o.credits } : {}), attempt: "1" },
    });

  it("credits an off-session top-up's pack once per payment intent, even when it arrives before the charge's answer is written", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    expect(await outcome(topUp(accountId, "credits_10k", { pi, credits: "1000000" }))).toMatchObject({ outcome: "applied" });
    expect(await outcome(topUp(accountId, "credits_10k", { pi }))).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
    expect(await ledgerOf(accountId)).toMatchObject([{ delta: 10_000, reason: "auto_topup", idempotencyKey: `stripe:topup:${pi}` }]);
    // Its refund takes back the refunded share, as for a Checkout purchase.
    expect(await outcome(refunded(pi, 500, 1000))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(5_000);
  });

  it("ignores a Checkout payment's payment_intent events, and holds a top-up without an account or a pack we sell", async () => {
    const { accountId } = await account();
    expect(await outcome(topUp(accountId, "credits_10k", { kind: "pack" }))).toMatchObject({ outcome: "ignored", code: "not_auto_topup" });
    expect(await outcome(topUp(null, "credits_10k"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(await outcome(topUp(accountId, "ten"))).toMatchObject({ outcome: "held", code: "unknown_product" });
    expect(await outcome(topUp(accountId, undefined, { credits: "10000" }))).toMatchObject({ outcome: "held", code: "unknown_product" });
    expect(await outcome(topUp(accountId, "plan_growth"))).toMatchObject({ outcome: "held", code: "unknown_product" });
    expect(await outcome(topUp("acc_doesnotexist", "credits_10k"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(await ledgerOf(accountId)).toEqual([]);
  });
});

describe("POST /webhooks/stripe: what is refused", () => {
  it("answers 400 to a forged, missing or stale signature and to a changed body, and applies nothing", async () => {
    const { accountId } = await account();
    const paid = checkout(accountId, "credits_10k");
    const forged = await deliver(paid, { secret: "whsec_notoursnotoursnotours" });
    expect([forged.status, await errorCode(forged)]).toEqual([400, "webhook_signature_invalid"]);
    const missing = await deliver(paid, { header: "" });
    expect([missing.status, await errorCode(missing)]).toEqual([400, "webhook_signature_invalid"]);
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: JSON.stringify(paid), secret: env.STRIPE_WEBHOOK_SECRET!, timestamp: nowS(), cryptoProvider });
    const changed = await deliver(paid, { header, body: JSON.stringify(checkout(accountId, "credits_1m")) });
    expect([changed.status, await errorCode(changed)]).toEqual([400, "webhook_signature_invalid"]);
    const stale = await deliver(paid, { timestamp: nowS() - 3600 });
    expect([stale.status, await errorCode(stale)]).toEqual([400, "webhook_timestamp_stale"]);
    expect(await ledgerOf(accountId)).toEqual([]);
  });

  it("answers 2xx to event types it does not handle, 413 to an oversized body, 503 without a secret", async () => {
    expect(await outcome(event("customer.created", { id: "cus_1", object: "customer" }))).toMatchObject({ outcome: "ignored", code: "unhandled_type" });
    const big = await call("/webhooks/stripe", { method: "POST", body: "x".repeat(MAX_STRIPE_EVENT_BYTES + 1), headers: { "stripe-signature": "t=1,v1=0" } });
    expect([big.status, await errorCode(big)]).toEqual([413, "payload_too_large"]);
    const { STRIPE_WEBHOOK_SECRET: _, ...unconfigured } = env;
    const off = await call("/webhooks/stripe", { method: "POST", body: "{}", env: unconfigured as Env });
    expect([off.status, await errorCode(off)]).toEqual([503, "not_configured"]);
  });
});
