// POST /webhooks/stripe against the real sqld, events signed as Stripe signs them. After every
// scenario the cached balance of each account involved must equal the sum of its ledger.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { creditLedger, stripeEvents, stripeSubscriptions } from "../../db/schema.ts";
import { creditBalance, ledgerDrift, reserveStatements } from "../services/credits.ts";
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

function checkout(accountId: string | null, credits: unknown, o: { session?: string; pi?: string; paid?: boolean; type?: string; amount?: number } = {}) {
  return event(o.type ?? "checkout.session.completed", {
    id: o.session ?? sid("cs"), object: "checkout.session", payment_status: o.paid === false ? "unpaid" : "paid",
    client_reference_id: accountId, metadata: credits === undefined ? {} : { credits }, payment_intent: o.pi ?? sid("pi"), amount_total: o.amount ?? 2000,
  });
}
const refunded = (pi: string, amountRefunded: number, amount = 2000) =>
  event("charge.refunded", { id: sid("ch"), object: "charge", payment_intent: pi, amount, amount_refunded: amountRefunded });
const disputed = (pi: string) => event("charge.dispute.created", { id: sid("dp"), object: "dispute", payment_intent: pi, charge: sid("ch"), amount: 2000 });
const disputeClosed = (pi: string, status: "won" | "lost") => event("charge.dispute.closed", { id: sid("dp"), object: "dispute", payment_intent: pi, charge: sid("ch"), amount: 2000, status });
function invoicePaid(accountId: string, credits: string, o: { invoice?: string; sub?: string; legacy?: boolean; pi?: string } = {}) {
  const details = { metadata: { account_id: accountId, credits, plan: "pro" }, subscription: o.sub ?? sid("sub") };
  return event("invoice.paid", {
    id: o.invoice ?? sid("in"), object: "invoice", customer: "cus_1", amount_paid: 1900,
    ...(o.pi ? { payments: { object: "list", data: [{ object: "invoice_payment", payment: { type: "payment_intent", payment_intent: o.pi }, status: "paid" }] } } : {}),
    ...(o.legacy ? { subscription_details: details } : { parent: { type: "subscription_details", subscription_details: details } }),
  });
}
const subscriptionDeleted = (sub: string, accountId: string) =>
  event("customer.subscription.deleted", { id: sub, object: "subscription", customer: "cus_1", status: "canceled", ended_at: nowS(), metadata: { account_id: accountId } });

const ledgerOf = (accountId: string) => db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId));

describe("POST /webhooks/stripe: checkout", () => {
  it("credits a paid session once: a repeated event id, and another event for the same session, change nothing", async () => {
    const { accountId } = await account();
    const paid = checkout(accountId, "5000", { session: sid("cs") });
    expect(await outcome(paid)).toMatchObject({ outcome: "applied" });
    expect(await outcome(paid)).toMatchObject({ outcome: "already_applied" });
    const sameSession = { ...paid, id: sid("evt"), type: "checkout.session.async_payment_succeeded" };
    expect(await outcome(sameSession)).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(5000);
    const ledger = await ledgerOf(accountId);
    expect(ledger).toEqual([expect.objectContaining({ delta: 5000, reason: "purchase", actor: "stripe", idempotencyKey: `stripe:checkout:${paid.data.object.id}` })]);
  });

  it("names the buyer our server wrote as the entry's actor, and leaves a plan's session to its invoices", async () => {
    const { accountId } = await account();
    const bought = event("checkout.session.completed", {
      id: sid("cs"), object: "checkout.session", mode: "payment", payment_status: "paid", client_reference_id: accountId,
      metadata: { credits: "300", actor: "usr_0123abcd" }, payment_intent: sid("pi"), amount_total: 1000,
    });
    expect(await outcome(bought)).toMatchObject({ outcome: "applied" });
    expect(await ledgerOf(accountId)).toEqual([expect.objectContaining({ delta: 300, reason: "purchase", actor: "usr_0123abcd" })]);
    const plan = event("checkout.session.completed", {
      id: sid("cs"), object: "checkout.session", mode: "subscription", payment_status: "paid", client_reference_id: accountId,
      metadata: { credits: "20000" }, subscription: sid("sub"), amount_total: 1900,
    });
    expect(await outcome(plan)).toMatchObject({ outcome: "ignored", code: "plan_checkout" });
    expect(await creditBalance(db, accountId)).toBe(300);
  });

  it("changes nothing for an unpaid session, and credits when its async payment succeeds", async () => {
    const { accountId } = await account();
    const session = sid("cs");
    expect(await outcome(checkout(accountId, "300", { session, paid: false }))).toMatchObject({ outcome: "ignored", code: "unpaid" });
    expect(await creditBalance(db, accountId)).toBe(0);
    expect(await outcome(checkout(accountId, "300", { session, type: "checkout.session.async_payment_succeeded" }))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(300);
  });

  it("applies one of many deliveries arriving at the same moment", async () => {
    const { accountId } = await account();
    const paid = checkout(accountId, "700");
    const other = { ...paid, id: sid("evt"), type: "checkout.session.async_payment_succeeded" };
    const answers = await Promise.all([paid, paid, paid, other, other, paid].map((e) => outcome(e)));
    expect(answers.filter((a) => a.outcome === "applied")).toHaveLength(1);
    expect(answers.every((a) => a.outcome === "applied" || a.outcome === "already_applied")).toBe(true);
    expect(await creditBalance(db, accountId)).toBe(700);
  });

  it("credits only the account the session names (tenant isolation)", async () => {
    const a = await account();
    const b = await account();
    const pi = sid("pi");
    await outcome(checkout(a.accountId, "1000", { pi }));
    await outcome(refunded(pi, 2000));
    expect(await creditBalance(db, a.accountId)).toBe(0);
    expect(await ledgerOf(a.accountId)).toHaveLength(2);
    expect(await ledgerOf(b.accountId)).toEqual([]);
    expect(await creditBalance(db, b.accountId)).toBe(0);
  });

  it("holds, answering 2xx, an event naming an unknown account or without usable credits; the ledger is untouched", async () => {
    const { accountId } = await account();
    const unknown = checkout("acc_doesnotexist", "100");
    expect(await outcome(unknown)).toMatchObject({ outcome: "held", code: "unknown_account" });
    const [held] = await db.select().from(stripeEvents).where(eq(stripeEvents.id, unknown.id));
    expect(held).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(JSON.parse(held!.payload!)).toMatchObject({ id: unknown.id });
    expect(await outcome(checkout(null, "100"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    for (const credits of [undefined, "", "12.5", "-3", "0", "1e3", " 5", "abc", 50, "99999999999"]) {
      expect(await outcome(checkout(accountId, credits))).toMatchObject({ outcome: "held", code: "bad_credits" });
    }
    expect(await ledgerOf(accountId)).toEqual([]);
  });
});

describe("POST /webhooks/stripe: refunds and disputes", () => {
  it("takes back the refunded share once per refund, at most what was bought", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    await outcome(checkout(accountId, "1000", { pi, amount: 2000 }));
    const quarter = refunded(pi, 500);
    expect(await outcome(quarter)).toMatchObject({ outcome: "applied" });
    expect(await outcome(quarter)).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(750);
    // A later refund reports the charge's running total.
    expect(await outcome(refunded(pi, 1500))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(250);
    // An older delivery of a smaller total arriving late changes nothing.
    expect(await outcome(refunded(pi, 500))).toMatchObject({ outcome: "already_applied" });
    expect(await outcome(refunded(pi, 9000))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(0);
    const reversals = (await ledgerOf(accountId)).filter((e) => e.reason === "refund");
    expect(reversals.map((e) => e.delta)).toEqual([-250, -500, -250]);
    expect(reversals.every((e) => e.actor === "stripe" && e.kind === "reversal")).toBe(true);
  });

  it("takes back a disputed purchase once; the balance goes negative and uploads and checks are refused until it is positive", async () => {
    const { accountId, key } = await account();
    const pi = sid("pi");
    await outcome(checkout(accountId, "100", { pi }));
    await db.$client.batch(reserveStatements(accountId, "key_test", newId("job"), 80, Date.now()), "write"); // spent on a job
    const dispute = disputed(pi);
    expect(await outcome(dispute)).toMatchObject({ outcome: "applied" });
    expect(await outcome({ ...dispute, id: sid("evt") })).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(-80);
    expect((await ledgerOf(accountId)).find((e) => e.reason === "dispute")).toMatchObject({ delta: -100 });

    const check = await call("/api/v1/verify", { method: "POST", key, body: JSON.stringify({ email: "someone@example.com" }), headers: { "content-type": "application/json" } });
    expect(check.status).toBe(402);
    expect(await check.json()).toMatchObject({ error: { code: "insufficient_credits", message: expect.stringContaining("-80") } });
    const upload = await call("/api/v1/jobs", { method: "POST", key, body: "email\na@example.com\n", headers: { "content-type": "text/csv" } });
    expect([upload.status, await errorCode(upload)]).toEqual([402, "insufficient_credits"]);

    await outcome(checkout(accountId, "200"));
    expect(await creditBalance(db, accountId)).toBe(120);
  });

  it("gives back a won dispute's credits once, keeps a lost one's, and counts a refund after it", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    await outcome(checkout(accountId, "100", { pi }));
    await outcome(refunded(pi, 1000)); // half refunded: 50 back to Stripe
    await outcome(disputed(pi));
    expect(await creditBalance(db, accountId)).toBe(0);
    const won = disputeClosed(pi, "won");
    expect(await outcome(won)).toMatchObject({ outcome: "applied" });
    expect(await outcome({ ...won, id: sid("evt") })).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(50);
    expect((await ledgerOf(accountId)).filter((e) => e.kind === "reversal").map((e) => [e.reason, e.delta])).toEqual([["refund", -50], ["dispute", -50], ["dispute", 50]]);
    // The rest refunded afterwards: the same total as during the dispute, taken again.
    expect(await outcome(refunded(pi, 2000))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(0);

    const lost = sid("pi");
    await outcome(checkout(accountId, "100", { pi: lost }));
    await outcome(disputed(lost));
    expect(await outcome(disputeClosed(lost, "lost"))).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(0);

    // Closed as won before Stripe's opening event arrives: nothing is taken at all.
    const early = sid("pi");
    await outcome(checkout(accountId, "100", { pi: early }));
    expect(await outcome(disputeClosed(early, "won"))).toMatchObject({ outcome: "already_applied" });
    expect(await outcome(disputed(early))).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(100);
  });

  it("keeps a refund or dispute that arrives before its purchase and applies it with the purchase", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    expect(await outcome(refunded(pi, 1000))).toMatchObject({ outcome: "recorded" });
    expect(await ledgerOf(accountId)).toEqual([]);
    expect(await outcome(checkout(accountId, "600", { pi }))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(300);

    const pi2 = sid("pi");
    expect(await outcome(disputed(pi2))).toMatchObject({ outcome: "recorded" });
    await outcome(checkout(accountId, "400", { pi: pi2 }));
    expect(await creditBalance(db, accountId)).toBe(300);
  });
});

describe("POST /webhooks/stripe: plans", () => {
  it("grants a plan's credits once per paid invoice and records the plan's end", async () => {
    const { accountId } = await account();
    const sub = sid("sub");
    const first = invoicePaid(accountId, "1000", { sub });
    expect(await outcome(first)).toMatchObject({ outcome: "applied" });
    expect(await outcome({ ...first, id: sid("evt") })).toMatchObject({ outcome: "already_applied" });
    expect(await outcome(invoicePaid(accountId, "1000", { sub, legacy: true }))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(2000);
    expect((await ledgerOf(accountId)).every((e) => e.reason === "plan_grant")).toBe(true);
    expect(await db.select().from(stripeSubscriptions).where(eq(stripeSubscriptions.id, sub))).toEqual([
      expect.objectContaining({ accountId, plan: "pro", status: "active", customerId: "cus_1" }),
    ]);

    const ended = subscriptionDeleted(sub, accountId);
    expect(await outcome(ended)).toMatchObject({ outcome: "applied" });
    expect(await outcome(ended)).toMatchObject({ outcome: "already_applied" });
    // An invoice delivered after the end still grants what was paid, and leaves the plan ended.
    await outcome(invoicePaid(accountId, "1000", { sub }));
    const [row] = await db.select().from(stripeSubscriptions).where(eq(stripeSubscriptions.id, sub));
    expect(row).toMatchObject({ status: "canceled" });
    expect(row!.endedAt).toBeGreaterThan(0);
  });

  it("takes back a period's credits when its invoice's payment is refunded or disputed", async () => {
    const { accountId } = await account();
    const [pi1, pi2] = [sid("pi"), sid("pi")];
    expect(await outcome(invoicePaid(accountId, "20000", { pi: pi1 }))).toMatchObject({ outcome: "applied" });
    expect(await outcome(invoicePaid(accountId, "20000", { pi: pi2 }))).toMatchObject({ outcome: "applied" });
    expect(await outcome(refunded(pi1, 950, 1900))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(30_000);
    expect(await outcome(disputed(pi2))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
  });

  it("ignores an invoice that is not a plan's, and holds one without an account or credits", async () => {
    const { accountId } = await account();
    expect(await outcome(event("invoice.paid", { id: sid("in"), object: "invoice", customer: "cus_1", parent: null }))).toMatchObject({ outcome: "ignored", code: "not_a_plan" });
    expect(await outcome(invoicePaid(accountId, "lots"))).toMatchObject({ outcome: "held", code: "bad_credits" });
    expect(await outcome(invoicePaid("acc_doesnotexist", "10"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(await ledgerOf(accountId)).toEqual([]);
  });
});

describe("POST /webhooks/stripe: auto top-up", () => {
  const topUp = (accountId: string | null, credits: unknown, o: { pi?: string; type?: string; kind?: string } = {}) =>
    event(o.type ?? "payment_intent.succeeded", {
      id: o.pi ?? sid("pi"), object: "payment_intent", status: "succeeded", amount: 1000, amount_received: 1000,
      metadata: { kind: o.kind ?? "auto_topup", ...(accountId ? { account_id: accountId } : {}), ...(credits === undefined ? {} : { credits }), attempt: "1" },
    });

  it("credits an off-session top-up once per payment intent, even when it arrives before the charge's answer is written", async () => {
    const { accountId } = await account();
    const pi = sid("pi");
    expect(await outcome(topUp(accountId, "10000", { pi }))).toMatchObject({ outcome: "applied" });
    expect(await outcome(topUp(accountId, "10000", { pi }))).toMatchObject({ outcome: "already_applied" });
    expect(await creditBalance(db, accountId)).toBe(10_000);
    expect(await ledgerOf(accountId)).toMatchObject([{ delta: 10_000, reason: "auto_topup", idempotencyKey: `stripe:topup:${pi}` }]);
    // Its refund takes back the refunded share, as for a Checkout purchase.
    expect(await outcome(refunded(pi, 500, 1000))).toMatchObject({ outcome: "applied" });
    expect(await creditBalance(db, accountId)).toBe(5_000);
  });

  it("ignores a Checkout payment's payment_intent events, and holds a top-up without an account or credits", async () => {
    const { accountId } = await account();
    expect(await outcome(topUp(accountId, "10000", { kind: "pack" }))).toMatchObject({ outcome: "ignored", code: "not_auto_topup" });
    expect(await outcome(topUp(null, "10000"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(await outcome(topUp(accountId, "ten"))).toMatchObject({ outcome: "held", code: "bad_credits" });
    expect(await outcome(topUp("acc_doesnotexist", "10"))).toMatchObject({ outcome: "held", code: "unknown_account" });
    expect(await ledgerOf(accountId)).toEqual([]);
  });
});

describe("POST /webhooks/stripe: what is refused", () => {
  it("answers 400 to a forged, missing or stale signature and to a changed body, and applies nothing", async () => {
    const { accountId } = await account();
    const paid = checkout(accountId, "100");
    const forged = await deliver(paid, { secret: "whsec_notoursnotoursnotours" });
    expect([forged.status, await errorCode(forged)]).toEqual([400, "webhook_signature_invalid"]);
    const missing = await deliver(paid, { header: "" });
    expect([missing.status, await errorCode(missing)]).toEqual([400, "webhook_signature_invalid"]);
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: JSON.stringify(paid), secret: env.STRIPE_WEBHOOK_SECRET!, timestamp: nowS(), cryptoProvider });
    const changed = await deliver(paid, { header, body: JSON.stringify(checkout(accountId, "100000")) });
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
