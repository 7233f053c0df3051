// Buying credits against the Stripe stand-in (e2e/standin-stripe.ts, started by
// vitest.workers.config.ts) with the real `stripe` client and the real sqld: what our Checkout
// sessions say, one customer per account, the portal, and auto top-up (charged once, a decline
// shown and never retried in a loop, a Worker that died mid-charge). The stand-in cannot reach
// this Worker, so a test that needs a webhook takes the stand-in's event and delivers it here.
// After every test the balance of each account involved equals the sum of its ledger.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { AUTO_TOPUP_MAX_PER_DAY, PRODUCTS } from "../../core/billing.ts";
import { billing, creditLedger, stripeSubscriptions } from "../../db/schema.ts";
import { createStripeGateway } from "../adapters/stripe.ts";
import { ServiceError } from "../errors.ts";
import { call, seedAccount, testDb } from "../testing.ts";
import { billingOverview, openPortal, runAutoTopUp, setAutoTopUp, STALE_CHARGE_MS, startCheckout, sweepAutoTopUps } from "./billing.ts";
import { buildServices, type Services } from "../context.ts";
import { chargeCheck } from "../credits/account.ts";
import { creditBalance, reserveStatements } from "../credits/credits.ts";
import { ledgerDrift, moveStatements } from "../credits/ledger.ts";

const db = testDb();
const stripeUrl = env.STRIPE_API_URL!;
const auth = { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` };
const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

let touched: string[] = [];
afterEach(async () => {
  const ids = touched;
  touched = [];
  expect(await ledgerDrift(db, ids)).toEqual([]);
});

function services(over: Partial<Services> = {}) {
  const pending: Promise<unknown>[] = [];
  const s: Services = { ...buildServices(env, { waitUntil: (p) => pending.push(p) }, "http://edge.test"), ...over };
  return { s, settled: () => Promise.all(pending) };
}

/** An account whose starting credits are a ledger grant, so its balance is the ledger's sum. */
async function account(credits: number) {
  const a = await seedAccount(0);
  touched.push(a.accountId);
  if (credits > 0) {
    const grant = { accountId: a.accountId, delta: credits, kind: "grant", reason: "admin_adjustment", actor: "system", key: `grant:test:${a.accountId}` } as const;
    await db.$client.batch(moveStatements(grant, T0), "write");
  }
  return { id: a.accountId, name: `Team ${a.accountId.slice(-4)}` };
}

/** The account's owner (or another member) as the billing services take them. */
const member = (acc: { id: string }, actor = "user_owner") => ({ accountId: acc.id, actor });

const codeOf = (work: Promise<unknown>) => work.then(() => "ok", (e: unknown) => (e instanceof ServiceError ? e.code : Promise.reject(e)));

async function standin<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${stripeUrl}${path}`, { ...init, headers: { ...auth, ...init.headers } });
  expect(res.status, path).toBeLessThan(300);
  return (await res.json()) as T;
}
const sessionOf = (url: string) => standin<Record<string, any>>(`/v1/checkout/sessions/${url.split("/checkout/")[1]}`);
/** Pays a checkout session on the stand-in's hosted page, as the buyer's browser would. */
async function pay(url: string): Promise<void> {
  const res = await fetch(`${url}/pay`, { method: "POST", redirect: "manual" });
  expect(res.status).toBe(303);
}
const events = async () => (await standin<{ events: { id: string; type: string; data: { object: Record<string, any> } }[] }>("/_standin/events")).events;
const chargesOf = async (customer: string) => (await events()).filter((e) => e.type.startsWith("payment_intent.") && e.data.object.customer === customer && e.data.object.metadata?.kind === "auto_topup");
const customerOf = async (accountId: string) => (await db.select().from(billing).where(eq(billing.accountId, accountId)))[0]?.stripeCustomerId ?? null;
const spend = (accountId: string, amount: number, now: number) => db.$client.batch(reserveStatements(accountId, "user_test", `job_spend${now}${amount}`, amount, now), "write");
const ledgerOf = (accountId: string) => db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId));

/** An account that bought a pack once, so a card is saved for auto top-up. */
async function withSavedCard(credits: number) {
  const acc = await account(credits);
  const { s } = services();
  await pay((await startCheckout(s, member(acc), { product: "credits_10k", accountName: acc.name }, T0)).url);
  return acc;
}

async function deliver(event: object): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(event);
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: env.STRIPE_WEBHOOK_SECRET!, cryptoProvider: Stripe.createSubtleCryptoProvider() });
  const res = await call("/webhooks/stripe", { method: "POST", body: payload, headers: { "stripe-signature": header, "content-type": "application/json" } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("Checkout", () => {
  it("a pack's session names the account and its credits, and saves the card for auto top-up", async () => {
    const acc = await account(0);
    const { s } = services();
    const { url } = await startCheckout(s, member(acc), { product: "credits_50k", accountName: acc.name }, T0);
    expect(url.startsWith(`${stripeUrl}/checkout/`)).toBe(true);
    const session = await sessionOf(url);
    expect(session).toMatchObject({
      mode: "payment",
      client_reference_id: acc.id,
      customer: await customerOf(acc.id),
      metadata: { credits: "50000", account_id: acc.id, kind: "pack", product: "credits_50k" },
      success_url: "http://edge.test/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "http://edge.test/billing?checkout=canceled",
      amount_total: 4_000,
    });
    expect(session.customer).toMatch(/^cus_/);
    await pay(url);
    const cards = await standin<{ data: { id: string }[] }>(`/v1/customers/${session.customer}/payment_methods?type=card`);
    expect(cards.data).toHaveLength(1);
    // Only the webhook grants credits: creating and paying a session wrote no ledger entry here.
    expect(await ledgerOf(acc.id)).toEqual([]);
  });

  it("one Stripe customer per account, even when two checkouts start at once", async () => {
    const acc = await account(0);
    const { s } = services();
    const [a, b] = await Promise.all([startCheckout(s, member(acc, "user_a"), { product: "credits_10k", accountName: acc.name }, T0), startCheckout(s, member(acc, "user_b"), { product: "credits_10k", accountName: acc.name }, T0)]);
    const [sa, sb] = await Promise.all([sessionOf(a.url), sessionOf(b.url)]);
    expect(sa.customer).toBe(sb.customer);
    expect(await customerOf(acc.id)).toBe(sa.customer);
    const again = await sessionOf((await startCheckout(s, member(acc, "user_a"), { product: "credits_250k", accountName: acc.name }, T0)).url);
    expect(again.customer).toBe(sa.customer);
  });

  it("a plan subscribes with the account and the plan in the subscription's metadata, no credits, and a second plan is refused", async () => {
    const acc = await account(0);
    const { s } = services();
    const session = await sessionOf((await startCheckout(s, member(acc), { product: "plan_growth", accountName: acc.name }, T0)).url);
    expect(session).toMatchObject({ mode: "subscription", client_reference_id: acc.id, amount_total: 7_900 });
    await pay(session.url);
    const sub = (await events()).find((e) => e.type === "customer.subscription.created" && e.data.object.customer === session.customer)!.data.object;
    expect(sub.metadata).toMatchObject({ account_id: acc.id, plan: "plan_growth" });
    // A plan change in the Portal keeps the metadata, so it names no credits (each invoice's price does).
    expect(sub.metadata.credits).toBeUndefined();
    await db.insert(stripeSubscriptions).values({ id: sub.id, accountId: acc.id, plan: "plan_growth", status: "active" });
    expect((await billingOverview(s, member(acc), T0)).plan).toEqual({ subscriptionId: sub.id, lookupKey: "plan_growth" });
    expect(await codeOf(startCheckout(s, member(acc), { product: "plan_starter", accountName: acc.name }, T0))).toBe("conflict");
  });

  it("refuses a product we do not sell, and everything when billing is not configured", async () => {
    const acc = await account(0);
    expect(await codeOf(startCheckout(services().s, member(acc), { product: "credits_999", accountName: acc.name }, T0))).toBe("validation_failed");
    const off = services({ payments: null }).s;
    expect(await codeOf(startCheckout(off, member(acc), { product: "credits_10k", accountName: acc.name }, T0))).toBe("payments_unavailable");
    expect(await billingOverview(off, member(acc), T0)).toMatchObject({ configured: false, balance: 0, hasCustomer: false });
  });

  it("the overview prices every product from Stripe by lookup key", async () => {
    const acc = await account(0);
    const overview = await billingOverview(services().s, member(acc), T0);
    expect(overview.configured).toBe(true);
    expect(overview.catalog.map((p) => [p.lookupKey, p.price?.unitAmount])).toEqual([
      ["credits_10k", 1_000], ["credits_50k", 4_000], ["credits_250k", 15_000], ["credits_1m", 50_000], ["plan_starter", 1_900], ["plan_growth", 7_900],
    ]);
  });

  it("sells at the default prices in a Stripe account with no Prices set up: packs and plans given inline", async () => {
    const acc = await account(0);
    const bare = createStripeGateway({ secretKey: env.STRIPE_SECRET_KEY!, apiUrl: env.STANDIN_STRIPE_BARE_URL! });
    const { s } = services({ payments: bare });
    const overview = await billingOverview(s, member(acc), T0);
    expect(overview.catalog.map((p) => [p.lookupKey, p.price])).toEqual(PRODUCTS.map((p) => [p.lookupKey, { unitAmount: p.defaultCents, currency: "usd" }]));
    const get = (url: string) => fetch(`${env.STANDIN_STRIPE_BARE_URL}/v1/checkout/sessions/${url.split("/checkout/")[1]}`, { headers: auth }).then((r) => r.json() as Promise<Record<string, any>>);
    const pack = await get((await startCheckout(s, member(acc), { product: "credits_250k", accountName: acc.name }, T0)).url);
    expect(pack).toMatchObject({ mode: "payment", amount_total: 15_000, currency: "usd", metadata: { credits: "250000" } });
    const plan = await get((await startCheckout(s, member(acc), { product: "plan_starter", accountName: acc.name }, T0)).url);
    expect(plan).toMatchObject({ mode: "subscription", amount_total: 1_900 });
    expect(plan.metadata.credits).toBeUndefined(); // a plan's credits are the invoices' to grant
    // An inline price has no lookup key: its product names ours, so its invoices find the plan.
    expect((await fetch(`${plan.url}/pay`, { method: "POST", redirect: "manual" })).status).toBe(303);
    const bareEvents = (await (await fetch(`${env.STANDIN_STRIPE_BARE_URL}/_standin/events`)).json()) as { events: { type: string; data: { object: Record<string, any> } }[] };
    const invoice = bareEvents.events.find((e) => e.type === "invoice.paid" && e.data.object.customer === plan.customer)!.data.object;
    const priceId = invoice.lines.data[0].pricing.price_details.price as string;
    expect(priceId).toMatch(/^price_/);
    expect(await bare.priceLookupKey(priceId)).toBe("plan_starter");
    expect(await services().s.payments!.priceLookupKey(await standin<{ data: { id: string }[] }>("/v1/prices?lookup_keys[]=plan_growth").then((r) => r.data[0]!.id))).toBe("plan_growth");
  });

  it("the portal opens for an account that bought before, and returns to /billing", async () => {
    const acc = await account(0);
    const { s } = services();
    expect(await codeOf(openPortal(s, member(acc)))).toBe("conflict");
    await startCheckout(s, member(acc), { product: "credits_10k", accountName: acc.name }, T0);
    const { url } = await openPortal(s, member(acc));
    expect(url.startsWith(`${stripeUrl}/portal/bps_`)).toBe(true);
    expect(await (await fetch(url)).text()).toContain("http://edge.test/billing");
  });
});

describe("auto top-up", () => {
  it("is refused without a saved card, below the minimum threshold, or with a plan as its pack", async () => {
    const acc = await account(0);
    const { s } = services();
    expect(await codeOf(setAutoTopUp(s, member(acc), { enabled: true, threshold: 1_000, pack: "credits_10k" }, T0))).toBe("conflict");
    expect(await codeOf(setAutoTopUp(s, member(acc), { enabled: false, threshold: 99, pack: "credits_10k" }, T0))).toBe("validation_failed");
    expect(await codeOf(setAutoTopUp(s, member(acc), { enabled: false, threshold: 1_000, pack: "plan_growth" }, T0))).toBe("validation_failed");
  });

  it("refuses to turn on with a threshold at or above the pack's credits (one top-up would not lift the balance over it), and allows turning off", async () => {
    const acc = await withSavedCard(20_000);
    const { s, settled } = services();
    for (const [threshold, pack] of [[10_000, "credits_10k"], [50_000, "credits_10k"], [50_000, "credits_50k"]] as const) {
      const refused = await setAutoTopUp(s, member(acc), { enabled: true, threshold, pack }, T0).then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(ServiceError);
      expect(refused).toMatchObject({ code: "validation_failed", message: expect.stringMatching(/^threshold: must be below the pack's [\d,]+ credits/) });
    }
    expect((await billingOverview(s, member(acc), T0)).autoTopUp.enabled).toBe(false);
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 9_999, pack: "credits_10k" }, T0);
    await setAutoTopUp(s, member(acc), { enabled: false, threshold: 50_000, pack: "credits_10k" }, T0);
    await settled();
    expect((await billingOverview(s, member(acc), T0)).autoTopUp).toMatchObject({ enabled: false, threshold: 50_000 });
    expect(await chargesOf((await customerOf(acc.id))!)).toEqual([]);
  });

  it("settings saved before that rule charge nothing: the attempt fails and says why, and no sweep tries again", async () => {
    const acc = await withSavedCard(100);
    await db.insert(billing).values({ accountId: acc.id, autoTopupEnabled: true, autoTopupThreshold: 50_000, autoTopupPack: "credits_10k" })
      .onConflictDoUpdate({ target: billing.accountId, set: { autoTopupEnabled: true, autoTopupThreshold: 50_000, autoTopupPack: "credits_10k" } });
    const { s } = services();
    expect(await runAutoTopUp(s, acc.id, T0)).toMatchObject({ outcome: "failed", code: "threshold_too_high" });
    for (let minute = 1; minute <= 5; minute++) expect(await sweepAutoTopUps(s, T0 + minute * 60_000)).toBe(0);
    expect(await chargesOf((await customerOf(acc.id))!)).toEqual([]);
    expect((await billingOverview(s, member(acc), T0)).autoTopUp).toMatchObject({ state: "failed", error: expect.stringMatching(/threshold/) });
    expect(await creditBalance(db, acc.id)).toBe(100);
  });

  it(`charges at most ${AUTO_TOPUP_MAX_PER_DAY} times a UTC day however fast the balance is spent; the page's data says until when, and the next day it resumes`, async () => {
    const acc = await withSavedCard(0);
    const { s, settled } = services();
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 1_000, pack: "credits_10k" }, T0);
    await settled(); // the first top-up
    for (let i = 1; i < AUTO_TOPUP_MAX_PER_DAY; i++) {
      const at = T0 + i * 60_000;
      await spend(acc.id, await creditBalance(db, acc.id), at); // all of it, at once
      expect(await sweepAutoTopUps(s, at)).toBeGreaterThanOrEqual(1);
    }
    expect((await ledgerOf(acc.id)).filter((e) => e.reason === "auto_topup")).toHaveLength(AUTO_TOPUP_MAX_PER_DAY);
    // Spent below the threshold again, the same day: nothing is charged, by the sweeper or by a spending write.
    const late = Date.UTC(2026, 10, 30, 23, 59, 0);
    await spend(acc.id, await creditBalance(db, acc.id), late);
    expect(await creditBalance(db, acc.id)).toBe(0);
    expect(await sweepAutoTopUps(s, late)).toBe(0);
    expect(await runAutoTopUp(s, acc.id, late)).toEqual({ outcome: "not_due" });
    const customer = (await customerOf(acc.id))!;
    expect(await chargesOf(customer)).toHaveLength(AUTO_TOPUP_MAX_PER_DAY);
    const nextDay = Date.UTC(2026, 11, 1);
    expect((await billingOverview(s, member(acc), late)).autoTopUp).toMatchObject({ enabled: true, state: "idle", today: AUTO_TOPUP_MAX_PER_DAY, pausedUntil: nextDay });
    // 00:00 UTC: the cap starts over.
    expect((await billingOverview(s, member(acc), nextDay)).autoTopUp).toMatchObject({ today: 0, pausedUntil: null });
    expect(await runAutoTopUp(s, acc.id, nextDay)).toMatchObject({ outcome: "charged", credits: 10_000 });
    expect(await creditBalance(db, acc.id)).toBe(10_000);
    expect(await chargesOf(customer)).toHaveLength(AUTO_TOPUP_MAX_PER_DAY + 1);
  });

  it("charges the saved card once when the balance is below the threshold, and the webhook after it changes nothing", async () => {
    const acc = await withSavedCard(50);
    const { s, settled } = services();
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 1_000, pack: "credits_10k" }, T0);
    await settled(); // turning it on below the threshold tops up at once
    expect(await creditBalance(db, acc.id)).toBe(10_050);
    const customer = (await customerOf(acc.id))!;
    const charged = await chargesOf(customer);
    expect(charged.map((e) => e.type)).toEqual(["payment_intent.succeeded"]);
    expect(charged[0]!.data.object).toMatchObject({ amount: 1_000, metadata: { account_id: acc.id, credits: "10000", attempt: "1" } });
    expect((await ledgerOf(acc.id)).filter((e) => e.reason === "auto_topup")).toMatchObject([{ delta: 10_000, kind: "purchase", idempotencyKey: `stripe:topup:${charged[0]!.data.object.id}` }]);
    expect((await billingOverview(s, member(acc), T0)).autoTopUp).toMatchObject({ enabled: true, state: "idle", error: null });

    expect(await deliver(charged[0]!)).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, acc.id)).toBe(10_050);
    // Above the threshold now: nothing is due.
    expect(await runAutoTopUp(s, acc.id, T0 + 1_000)).toEqual({ outcome: "not_due" });
  });

  it("the write that spends below the threshold says so, and the sweeper tops up what nothing started", async () => {
    const acc = await withSavedCard(1_200);
    const { s } = services();
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 1_000, pack: "credits_10k" }, T0);
    expect(await chargeCheck(s, member(acc, "user_test"), { key: `topup-due-${acc.id}-1` }, T0)).toEqual({ paid: true, topUpDue: false });
    await spend(acc.id, 199, T0);
    expect(await creditBalance(db, acc.id)).toBe(1_000);
    expect(await chargeCheck(s, member(acc, "user_test"), { key: `topup-due-${acc.id}-2` }, T0)).toEqual({ paid: true, topUpDue: true });
    expect(await sweepAutoTopUps(s, T0 + 1_000)).toBeGreaterThanOrEqual(1);
    expect(await creditBalance(db, acc.id)).toBe(10_999);
  });

  it("a declined card is shown and not retried until an owner saves the settings again", async () => {
    const acc = await withSavedCard(10);
    const customer = (await customerOf(acc.id))!;
    await standin(`/_standin/customers/${customer}/decline`, { method: "POST" });
    const { s, settled } = services();
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 500, pack: "credits_10k" }, T0);
    await settled();
    const overview = await billingOverview(s, member(acc), T0);
    expect(overview.autoTopUp).toMatchObject({ state: "failed", enabled: true });
    expect(overview.autoTopUp.error).toMatch(/declined/i);
    expect(await runAutoTopUp(s, acc.id, T0 + 60_000)).toEqual({ outcome: "not_due" });
    expect(await sweepAutoTopUps(s, T0 + 24 * 3_600_000)).toBe(0);
    expect((await chargesOf(customer)).map((e) => e.type)).toEqual(["payment_intent.payment_failed"]);
    expect(await creditBalance(db, acc.id)).toBe(10);

    // The owner fixes the card and saves: the next attempt charges.
    await standin(`/_standin/customers/${customer}/decline`, { method: "POST", body: "decline=false", headers: { "content-type": "application/x-www-form-urlencoded" } });
    const again = services();
    await setAutoTopUp(again.s, member(acc), { enabled: true, threshold: 500, pack: "credits_10k" }, T0 + 120_000);
    await again.settled();
    expect(await creditBalance(db, acc.id)).toBe(10_010);
    expect((await chargesOf(customer)).map((e) => e.type)).toEqual(["payment_intent.payment_failed", "payment_intent.succeeded"]);
  });

  it("a charge whose Worker died is taken up again under the same idempotency key: charged and credited once", async () => {
    const acc = await withSavedCard(100);
    const { s, settled } = services();
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 500, pack: "credits_10k" }, T0);
    await settled();
    expect(await creditBalance(db, acc.id)).toBe(10_100);
    // As if the Worker had died after Stripe charged but before it wrote: still charging, and the
    // balance spent below the threshold again meanwhile.
    await spend(acc.id, 9_700, T0 + 1_000);
    await db.update(billing).set({ autoTopupState: "charging", autoTopupAt: T0 }).where(eq(billing.accountId, acc.id));
    expect(await runAutoTopUp(s, acc.id, T0 + STALE_CHARGE_MS - 1)).toEqual({ outcome: "not_due" });
    const retried = await runAutoTopUp(s, acc.id, T0 + STALE_CHARGE_MS + 1);
    expect(retried).toMatchObject({ outcome: "charged" });
    const customer = (await customerOf(acc.id))!;
    expect((await chargesOf(customer)).map((e) => e.data.object.id)).toEqual([(retried as { paymentIntent: string }).paymentIntent]);
    expect(await creditBalance(db, acc.id)).toBe(400);
    expect((await billingOverview(s, member(acc), T0)).autoTopUp.state).toBe("idle");
  });

  it("a refund of a top-up takes its credits back like any purchase", async () => {
    const acc = await withSavedCard(0);
    const { s, settled } = services();
    await setAutoTopUp(s, member(acc), { enabled: true, threshold: 500, pack: "credits_10k" }, T0);
    await settled();
    const pi = (await chargesOf((await customerOf(acc.id))!))[0]!.data.object.id as string;
    await standin("/_standin/refund", { method: "POST", body: `id=${pi}&amount=500`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    const refunded = (await events()).find((e) => e.type === "charge.refunded" && e.data.object.payment_intent === pi)!;
    expect(await deliver(refunded)).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, acc.id)).toBe(5_000);
  });
});
