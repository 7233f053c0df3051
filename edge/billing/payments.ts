// Stripe's events applied to the ledger, exactly once (issue 11). The event is already verified
// (edge/api/stripe_webhook.ts) and its content trusted. What a payment grants is the catalog's
// (core/billing.ts), found by the lookup key of what was paid for, never a number in metadata
// (issue 21: a plan changed in the Customer Portal keeps its first metadata). Stripe is asked only
// for what an event cannot carry: an invoice line's price (by id) and an invoice's payment.
//
// Each event is one `batch` (docs/decisions/004-write-path.md) around one ledger movement
// (edge/credits/ledger.ts): an entry under an idempotency key with the balance beside it, so a
// repeated or concurrent delivery writes nothing twice. Refunds and disputes are stored as facts per payment intent; the
// credits taken back follow from those facts whatever order the events come in.
import type { InStatement } from "@libsql/client/web";
import { productOfKind, type Product } from "../../core/billing.ts";
import type { StripeLookups } from "../adapters/stripe.ts";
import type { Services } from "../context.ts";
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit } from "../audit/audit.ts";
import { computedMoveStatements, entryWrittenStatement, moveStatements } from "../credits/ledger.ts";

/** What came of an event, as the webhook answers it. */
export interface EventOutcome {
  outcome: "applied" | "already_applied" | "recorded" | "ignored" | "held";
  /** Why an event was ignored or held (a stable code). */
  code?:
    | "unpaid"
    | "plan_checkout"
    | "unknown_account"
    /** A pack's payment whose metadata names no pack we sell. */
    | "unknown_product"
    /** A plan's invoice or subscription whose price's lookup key is not a plan we sell. */
    | "unknown_price"
    /** A plan's invoice with no line for the plan's period (only prorations, or one-off items). */
    | "no_period_line"
    | "not_a_plan"
    /** A plan's invoice that starts no period (a proration, a manual or threshold invoice): it grants nothing. */
    | "not_a_period"
    | "no_payment_intent"
    | "not_auto_topup"
    | "unhandled_type";
}

/** The invoices that open a plan's period, and so grant its credits (Stripe's `billing_reason`). */
export const PERIOD_BILLING_REASONS: readonly string[] = ["subscription_create", "subscription_cycle"];

export interface StripeEventLike {
  id: string;
  type: string;
  data: { object: unknown };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) ? v : null);
/** An expandable field: the id, or the object's id. */
const ref = (v: unknown): string | null => str(v) ?? str(obj(v).id);

/** Lookup keys of prices, by price id: a price's id never changes, its lookup key rarely. */
const PRICE_KEY_CACHE_MS = 5 * 60_000;
const PRICE_KEY_CACHE_MAX = 1_000;
const priceKeys = new Map<string, { key: string | null; at: number }>();

/** A price's lookup key: on the price when the event carries it whole, else asked of Stripe by id. */
async function lookupKeyOf(price: unknown, lookups: StripeLookups | null, now: number): Promise<string | null> {
  if (price && typeof price === "object" && "lookup_key" in price) {
    const key = str((price as Obj).lookup_key);
    if (key) return key;
  }
  const id = ref(price);
  if (!id) return null;
  const cached = priceKeys.get(id);
  if (cached && now - cached.at < PRICE_KEY_CACHE_MS) return cached.key;
  const key = await need(lookups).priceLookupKey(id);
  if (priceKeys.size >= PRICE_KEY_CACHE_MAX) priceKeys.clear();
  priceKeys.set(id, { key, at: now });
  return key;
}

/**
 * Credits taken back for one payment: all of them while a dispute is open or lost, else the
 * refunded share (rounded down, at most what was bought); nothing while the purchase is unknown.
 */
const TARGET = `CASE WHEN credits IS NULL OR account_id IS NULL THEN 0
  WHEN disputed = 1 AND dispute_won = 0 THEN credits
  WHEN amount IS NULL OR amount <= 0 THEN 0
  ELSE min(credits, credits * min(amount_refunded, amount) / amount) END`;

/**
 * Brings one payment's taken-back credits to what its facts say (down after a refund or dispute,
 * back up after a won dispute): a ledger movement only when they differ, so a repeated or
 * concurrent event writes nothing (each batch is atomic), then the payment's running total, only
 * if the movement was written. `cause` (the event id) keeps keys unique when a total comes round
 * again (half refunded, disputed, won, the rest refunded). The movement's first statement returns
 * the entry written.
 */
function takeBackStatements(paymentIntent: string, cause: string, now: number): InStatement[] {
  return [
    ...computedMoveStatements({
      sql: `SELECT account_id, taken_back - t, 'reversal', CASE WHEN disputed = 1 THEN 'dispute' ELSE 'refund' END, 'stripe', NULL,
                   'stripe:takeback:' || payment_intent || ':' || t || ':' || ?, ?
            FROM (SELECT *, ${TARGET} AS t FROM stripe_payments WHERE payment_intent = ?)
            WHERE t <> taken_back`,
      args: [cause, now, paymentIntent],
    }),
    {
      sql: `UPDATE stripe_payments SET taken_back = ${TARGET}, updated_at = ? WHERE changes() = 1 AND payment_intent = ?`,
      args: [now, paymentIntent],
    },
  ];
}

/** Records the event id and its outcome; a repeated id keeps the first record. */
function recordEvent(event: StripeEventLike, objectId: string | null, outcome: "processed" | "ignored" | "held", code: string | null, now: number, raw?: string): InStatement {
  return {
    sql: "INSERT INTO stripe_events (id, type, object_id, outcome, code, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    args: [event.id, event.type, objectId, outcome, code, outcome === "held" ? (raw ?? null) : null, now],
  };
}

/** Who bought, as our server wrote it into the metadata (a user or key id), else Stripe itself. */
function buyerOf(metadata: Obj): string {
  const actor = str(metadata.actor);
  return actor && /^[A-Za-z0-9_]{1,64}$/.test(actor) ? actor : "stripe";
}

/**
 * Credits an account once per key, if the account exists. The event is recorded as processed,
 * or held (`unknown_account`) when the account does not exist.
 */
function creditStatements(
  event: StripeEventLike, objectId: string, accountId: string, credits: number, reason: "purchase" | "plan_grant", actor: string, key: string, now: number, raw: string,
): InStatement[] {
  return [...moveStatements({ accountId, delta: credits, kind: "purchase", reason, actor, key }, now), recordCreditEvent(event, objectId, accountId, now, raw)];
}

/** The event as processed, or held (`unknown_account`) when the account it names does not exist. */
function recordCreditEvent(event: StripeEventLike, objectId: string, accountId: string, now: number, raw: string): InStatement {
  return {
    sql: `INSERT INTO stripe_events (id, type, object_id, outcome, code, payload, created_at)
          SELECT ?, ?, ?, CASE WHEN known THEN 'processed' ELSE 'held' END, CASE WHEN known THEN NULL ELSE 'unknown_account' END,
                 CASE WHEN known THEN NULL ELSE ? END, ?
          FROM (SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?) AS known) WHERE true
          ON CONFLICT DO NOTHING`,
    args: [event.id, event.type, objectId, raw, now, accountId],
  };
}

const statusOf = { sql: "SELECT changes() AS n", args: [] } satisfies InStatement;

async function run(db: EdgeDb, statements: InStatement[]) {
  return db.$client.batch(statements, "write");
}

/**
 * Runs a credit's statements (creditStatements first) and tells applied, already applied, or
 * held; an applied grant is audited in the account.
 */
async function runCredit(db: EdgeDb, accountId: string, statements: InStatement[], audit: { event: StripeEventLike; credits: number; reason: string }): Promise<EventOutcome> {
  const results = await run(db, [...statements, { sql: "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?) AS known", args: [accountId] }]);
  const known = Number(results.at(-1)!.rows[0]!.known) === 1;
  if (!known) return { outcome: "held", code: "unknown_account" };
  if (results[0]!.rowsAffected !== 1) return { outcome: "already_applied" };
  await recordAudit({ db, request: null }, { accountId, actor: "stripe" }, { action: "billing.credits_granted", target: str(obj(audit.event.data.object).id), detail: { credits: audit.credits, reason: audit.reason, event: audit.event.type } });
  return { outcome: "applied" };
}

/**
 * checkout.session.completed / async_payment_succeeded: a pack bought through Checkout, granting
 * the catalog's credits for the pack our server named in the session's metadata.
 */
async function applyCheckout(db: EdgeDb, event: StripeEventLike, raw: string, now: number): Promise<EventOutcome> {
  const session = obj(event.data.object);
  const sessionId = str(session.id) ?? "";
  if (session.payment_status !== "paid") {
    await run(db, [recordEvent(event, sessionId, "ignored", "unpaid", now)]);
    return { outcome: "ignored", code: "unpaid" };
  }
  // A plan's checkout: its first invoice.paid grants the period's credits, as every later one does.
  if (session.mode === "subscription") {
    await run(db, [recordEvent(event, sessionId, "ignored", "plan_checkout", now)]);
    return { outcome: "ignored", code: "plan_checkout" };
  }
  const metadata = obj(session.metadata);
  // Our server writes both. A Payment Link takes client_reference_id from its URL, so a session
  // whose metadata does not name the same account is not ours to credit.
  const accountId = str(session.client_reference_id);
  const product = productOfKind(metadata.product, "pack");
  if (!accountId || str(metadata.account_id) !== accountId || !product) {
    const code = !accountId || str(metadata.account_id) !== accountId ? "unknown_account" : "unknown_product";
    await run(db, [recordEvent(event, sessionId, "held", code, now, raw)]);
    return { outcome: "held", code };
  }
  const credits = product.credits;
  const paymentIntent = ref(session.payment_intent);
  const statements = creditStatements(event, sessionId, accountId, credits, "purchase", buyerOf(metadata), `stripe:checkout:${sessionId}`, now, raw);
  if (paymentIntent) statements.push(...purchaseFactStatements({ paymentIntent, checkoutSession: sessionId, accountId, credits, amount: int(session.amount_total), cause: event.id }, now));
  return runCredit(db, accountId, statements, { event, credits, reason: "purchase" });
}

/**
 * A purchase's facts, for refunds and disputes, and what they take back now (a refund recorded
 * before its purchase arrived is applied here).
 */
function purchaseFactStatements(p: { paymentIntent: string; checkoutSession: string | null; accountId: string; credits: number; amount: number | null; cause: string }, now: number): InStatement[] {
  return [
    {
      sql: `INSERT INTO stripe_payments (payment_intent, account_id, checkout_session, credits, amount, updated_at)
            SELECT ?, id, ?, ?, ?, ? FROM accounts WHERE id = ?
            ON CONFLICT (payment_intent) DO UPDATE SET
              account_id = coalesce(stripe_payments.account_id, excluded.account_id),
              checkout_session = coalesce(stripe_payments.checkout_session, excluded.checkout_session),
              credits = coalesce(stripe_payments.credits, excluded.credits),
              amount = coalesce(stripe_payments.amount, excluded.amount),
              updated_at = excluded.updated_at`,
      args: [p.paymentIntent, p.checkoutSession, p.credits, p.amount, now, p.accountId],
    },
    ...takeBackStatements(p.paymentIntent, p.cause, now),
  ];
}

/**
 * An auto top-up's payment: its credits once per payment intent, whichever comes first of the
 * charge's answer (edge/billing/billing.ts) and the payment_intent.succeeded event, and the
 * account's top-up back to idle.
 */
export function topUpCreditStatements(p: { accountId: string; paymentIntent: string; credits: number; amount: number | null }, now: number): InStatement[] {
  return [
    ...moveStatements({ accountId: p.accountId, delta: p.credits, kind: "purchase", reason: "auto_topup", actor: "stripe", key: `stripe:topup:${p.paymentIntent}` }, now),
    ...purchaseFactStatements({ paymentIntent: p.paymentIntent, checkoutSession: null, accountId: p.accountId, credits: p.credits, amount: p.amount, cause: "topup" }, now),
    {
      sql: `UPDATE billing SET auto_topup_state = 'idle', auto_topup_error = NULL, auto_topup_payment_intent = ?, updated_at = ?
            WHERE account_id = ? AND auto_topup_state = 'charging'`,
      args: [p.paymentIntent, now, p.accountId],
    },
  ];
}

/** payment_intent.succeeded / payment_failed: only auto top-up's off-session charges (checkout has its own events). */
async function applyTopUpPayment(db: EdgeDb, event: StripeEventLike, raw: string, now: number): Promise<EventOutcome> {
  const pi = obj(event.data.object);
  const piId = str(pi.id) ?? "";
  const metadata = obj(pi.metadata);
  if (metadata.kind !== "auto_topup") {
    // Not recorded: every checkout payment sends these too.
    return { outcome: "ignored", code: "not_auto_topup" };
  }
  const accountId = str(metadata.account_id);
  if (event.type === "payment_intent.payment_failed") {
    const error = obj(pi.last_payment_error);
    await run(db, [
      {
        sql: `UPDATE billing SET auto_topup_state = 'failed', auto_topup_error = ?, auto_topup_payment_intent = ?, updated_at = ?
              WHERE account_id = ? AND auto_topup_state = 'charging' AND auto_topup_attempt = ?`,
        args: [str(error.message) ?? "The card was declined", piId, now, accountId, Number(metadata.attempt ?? -1)],
      },
      recordEvent(event, piId, "processed", null, now),
    ]);
    return { outcome: "applied" };
  }
  // The pack our server charged for (edge/billing/billing.ts), its credits from the catalog.
  const product = productOfKind(metadata.product, "pack");
  if (!accountId || !product) {
    const code = !accountId ? "unknown_account" : "unknown_product";
    await run(db, [recordEvent(event, piId, "held", code, now, raw)]);
    return { outcome: "held", code };
  }
  const credits = product.credits;
  return runCredit(
    db,
    accountId,
    [...topUpCreditStatements({ accountId, paymentIntent: piId, credits, amount: int(pi.amount_received) ?? int(pi.amount) }, now), recordCreditEvent(event, piId, accountId, now, raw)],
    { event, credits, reason: "auto_topup" },
  );
}

/** The lookups, or 503 so that Stripe delivers the event again once billing is configured. */
function need(lookups: StripeLookups | null): StripeLookups {
  if (!lookups) throw new ServiceError("payments_unavailable", "Billing is not configured here (STRIPE_SECRET_KEY): Stripe cannot be asked about this event");
  return lookups;
}

/**
 * The plan and credits of the period an invoice opens: its lines for a subscription item, less
 * prorations (a plan change's credit and charge for the rest of a period), each line's plan found
 * by its price's lookup key. Current API versions name the price by id under
 * `pricing.price_details.price`; older ones carried the whole price as `price`.
 */
async function periodOf(invoice: Obj, lookups: StripeLookups | null, now: number): Promise<{ plan: Product; credits: number } | { code: "unknown_price" | "no_period_line" }> {
  const lines = obj(invoice.lines).data;
  let plan: Product | null = null;
  let credits = 0;
  for (const raw of Array.isArray(lines) ? lines : []) {
    const line = obj(raw);
    const parent = obj(line.parent);
    const forItem = parent.type === "subscription_item_details" || line.type === "subscription";
    const proration = obj(parent.subscription_item_details).proration ?? line.proration;
    if (!forItem || proration === true) continue;
    const details = obj(obj(line.pricing).price_details);
    const product = productOfKind(await lookupKeyOf(details.price ?? line.price, lookups, now), "plan");
    if (!product) return { code: "unknown_price" };
    const quantity = int(line.quantity) ?? 1;
    if (quantity < 1) continue;
    credits += product.credits * quantity;
    plan ??= product;
  }
  return plan ? { plan, credits } : { code: "no_period_line" };
}

/** The payment intent the event carries (`payments` is includable only), else Stripe's answer. */
async function invoicePaymentIntent(invoice: Obj, invoiceId: string, lookups: StripeLookups | null): Promise<string | null> {
  const carried = obj(invoice.payments).data;
  if (Array.isArray(carried)) {
    const paid = carried.map((p) => obj(obj(p).payment)).find((p) => p.type === "payment_intent");
    return paid ? ref(paid.payment_intent) : null;
  }
  if ((int(invoice.amount_paid) ?? 0) <= 0) return null; // nothing was charged: nothing to refund or dispute
  return need(lookups).invoicePaymentIntent(invoiceId);
}

/**
 * invoice.paid: a plan's period. A new subscription's first invoice and each renewal grant the
 * credits of the plan its line is priced at, once per invoice, whatever the subscription's metadata
 * says; an invoice that opens no period (a plan change's proration, even at $0) grants nothing.
 */
async function applyInvoice(db: EdgeDb, lookups: StripeLookups | null, event: StripeEventLike, raw: string, now: number): Promise<EventOutcome> {
  const invoice = obj(event.data.object);
  const invoiceId = str(invoice.id) ?? "";
  // Current API versions put the subscription under parent.subscription_details; older ones at the top.
  const details = obj(obj(invoice.parent).subscription_details ?? invoice.subscription_details);
  const metadata = obj(details.metadata);
  const subscriptionId = ref(details.subscription) ?? ref(invoice.subscription);
  // The account is our server's, written into the subscription at checkout; the Portal cannot change it.
  const accountId = str(metadata.account_id);
  if (!subscriptionId && !accountId) {
    await run(db, [recordEvent(event, invoiceId, "ignored", "not_a_plan", now)]);
    return { outcome: "ignored", code: "not_a_plan" };
  }
  if (!PERIOD_BILLING_REASONS.includes(str(invoice.billing_reason) ?? "")) {
    await run(db, [recordEvent(event, invoiceId, "ignored", "not_a_period", now)]);
    return { outcome: "ignored", code: "not_a_period" };
  }
  if (!accountId) {
    await run(db, [recordEvent(event, invoiceId, "held", "unknown_account", now, raw)]);
    return { outcome: "held", code: "unknown_account" };
  }
  const key = `stripe:invoice:${invoiceId}`;
  // A repeat asks Stripe nothing.
  const [done] = (await db.$client.execute(entryWrittenStatement(key))).rows;
  if (Number(done!.written) === 1) {
    await run(db, [recordEvent(event, invoiceId, "processed", null, now)]);
    return { outcome: "already_applied" };
  }
  const period = await periodOf(invoice, lookups, now);
  if ("code" in period) {
    await run(db, [recordEvent(event, invoiceId, "held", period.code, now, raw)]);
    return { outcome: "held", code: period.code };
  }
  const { credits, plan } = period;
  const statements = creditStatements(event, invoiceId, accountId, credits, "plan_grant", buyerOf(metadata), key, now, raw);
  // The invoice's payment, so a refund or dispute of a plan's charge takes back that period's
  // credits as for a pack.
  const paymentIntent = await invoicePaymentIntent(invoice, invoiceId, lookups);
  if (paymentIntent) statements.push(...purchaseFactStatements({ paymentIntent, checkoutSession: null, accountId, credits, amount: int(invoice.amount_paid), cause: event.id }, now));
  if (subscriptionId) {
    // A new row takes this invoice's plan; a known one keeps what customer.subscription.updated
    // said, since a renewal delivered late must not undo a later plan change. Canceled is final.
    statements.push({
      sql: `INSERT INTO stripe_subscriptions (id, account_id, customer_id, plan, status, updated_at)
            SELECT ?, id, ?, ?, 'active', ? FROM accounts WHERE id = ?
            ON CONFLICT (id) DO UPDATE SET
              account_id = coalesce(stripe_subscriptions.account_id, excluded.account_id),
              customer_id = coalesce(stripe_subscriptions.customer_id, excluded.customer_id),
              plan = coalesce(stripe_subscriptions.plan, excluded.plan),
              updated_at = excluded.updated_at`,
      args: [subscriptionId, ref(invoice.customer), plan.lookupKey, now, accountId],
    });
  }
  return runCredit(db, accountId, statements, { event, credits, reason: "plan_grant" });
}

/** charge.refunded, charge.dispute.created and .closed: facts about a payment, then what they take back or return. */
async function applyReversal(db: EdgeDb, event: StripeEventLike, now: number): Promise<EventOutcome> {
  const o = obj(event.data.object);
  const paymentIntent = ref(o.payment_intent);
  if (!paymentIntent) {
    await run(db, [recordEvent(event, str(o.id), "ignored", "no_payment_intent", now)]);
    return { outcome: "ignored", code: "no_payment_intent" };
  }
  const fact: InStatement = event.type === "charge.refunded"
    ? {
        // amount_refunded is the charge's running total, so the largest one seen is the truth.
        sql: `INSERT INTO stripe_payments (payment_intent, amount, amount_refunded, updated_at) VALUES (?, ?, ?, ?)
              ON CONFLICT (payment_intent) DO UPDATE SET
                amount = coalesce(stripe_payments.amount, excluded.amount),
                amount_refunded = max(stripe_payments.amount_refunded, excluded.amount_refunded),
                updated_at = excluded.updated_at`,
        args: [paymentIntent, int(o.amount), Math.max(0, int(o.amount_refunded) ?? 0), now],
      }
    : {
        // A dispute closed as won is final; one that arrives before its opening still counts as opened.
        sql: `INSERT INTO stripe_payments (payment_intent, disputed, dispute_won, updated_at) VALUES (?, 1, ?, ?)
              ON CONFLICT (payment_intent) DO UPDATE SET disputed = 1, dispute_won = max(stripe_payments.dispute_won, excluded.dispute_won), updated_at = excluded.updated_at`,
        args: [paymentIntent, event.type === "charge.dispute.closed" && o.status === "won" ? 1 : 0, now],
      };
  const results = await run(db, [
    fact,
    ...takeBackStatements(paymentIntent, event.id, now),
    recordEvent(event, str(o.id), "processed", null, now),
    { sql: "SELECT account_id FROM stripe_payments WHERE payment_intent = ?", args: [paymentIntent] },
  ]);
  // Before its purchase arrives, a reversal is kept as a fact and applied with the purchase.
  const accountId = results.at(-1)!.rows[0]?.account_id;
  if (typeof accountId !== "string") return { outcome: "recorded" };
  const written = results[1]!.rows[0];
  if (!written) return { outcome: "already_applied" };
  const delta = Number(written.delta);
  await recordAudit({ db, request: null }, { accountId, actor: "stripe" }, { action: delta < 0 ? "billing.credits_taken_back" : "billing.credits_granted", target: paymentIntent, detail: { credits: Math.abs(delta), reason: event.type } });
  return { outcome: "applied" };
}

/** customer.subscription.deleted: the plan ended; no more plan grants are expected. */
async function applySubscriptionEnded(db: EdgeDb, event: StripeEventLike, now: number): Promise<EventOutcome> {
  const sub = obj(event.data.object);
  const subscriptionId = str(sub.id) ?? "";
  const endedAt = int(sub.ended_at);
  const results = await run(db, [
    {
      sql: `INSERT INTO stripe_subscriptions (id, account_id, customer_id, plan, status, ended_at, updated_at)
            VALUES (?, (SELECT id FROM accounts WHERE id = ?), ?, ?, 'canceled', ?, ?)
            ON CONFLICT (id) DO UPDATE SET status = 'canceled', ended_at = coalesce(stripe_subscriptions.ended_at, excluded.ended_at),
              account_id = coalesce(stripe_subscriptions.account_id, excluded.account_id), updated_at = excluded.updated_at
            WHERE stripe_subscriptions.status <> 'canceled'`,
      args: [subscriptionId, str(obj(sub.metadata).account_id), ref(sub.customer), str(obj(sub.metadata).plan), endedAt === null ? now : endedAt * 1000, now],
    },
    statusOf,
    recordEvent(event, subscriptionId, "processed", null, now),
  ]);
  return { outcome: Number(results[1]!.rows[0]!.n) === 1 ? "applied" : "already_applied" };
}

/**
 * customer.subscription.created / .updated: the plan a subscription is on now, from its item's
 * price (a plan changed in the Customer Portal), which /billing shows; its end when it ended.
 * Credits do not move here: each period's invoice grants its own plan's.
 */
async function applySubscriptionChanged(db: EdgeDb, lookups: StripeLookups | null, event: StripeEventLike, raw: string, now: number): Promise<EventOutcome> {
  const sub = obj(event.data.object);
  if (sub.status === "canceled" || sub.status === "incomplete_expired") return applySubscriptionEnded(db, event, now);
  const subscriptionId = str(sub.id) ?? "";
  const items = obj(sub.items).data;
  let plan: Product | null = null;
  let unknown = false;
  for (const item of Array.isArray(items) ? items : []) {
    // A subscription item always carries its whole price, lookup key included.
    plan = productOfKind(await lookupKeyOf(obj(item).price, lookups, now), "plan");
    if (plan) break;
    unknown = true;
  }
  const held = !plan && unknown;
  const metadata = obj(sub.metadata);
  await run(db, [
    {
      sql: `INSERT INTO stripe_subscriptions (id, account_id, customer_id, plan, status, updated_at)
            VALUES (?, (SELECT id FROM accounts WHERE id = ?), ?, ?, 'active', ?)
            ON CONFLICT (id) DO UPDATE SET
              plan = coalesce(excluded.plan, stripe_subscriptions.plan),
              account_id = coalesce(stripe_subscriptions.account_id, excluded.account_id),
              customer_id = coalesce(stripe_subscriptions.customer_id, excluded.customer_id),
              updated_at = excluded.updated_at
            WHERE stripe_subscriptions.status <> 'canceled'`,
      args: [subscriptionId, str(metadata.account_id), ref(sub.customer), plan?.lookupKey ?? null, now],
    },
    recordEvent(event, subscriptionId, held ? "held" : "processed", held ? "unknown_price" : null, now, raw),
  ]);
  return held ? { outcome: "held", code: "unknown_price" } : { outcome: "applied" };
}

/** A verified event, and its body as received (kept for events held for an operator). */
export interface StripeDelivery {
  event: StripeEventLike;
  raw: string;
}

/**
 * Applies one verified event. Nobody asked for it, and the account it moves is the one the event
 * names, so it takes no `who`: the ledger's actor is Stripe (or the buyer our server named).
 * `s.payments` asks Stripe what an event cannot carry (without it, such an event answers 503 and
 * comes again).
 */
export async function applyStripeEvent(s: Services, { event, raw }: StripeDelivery, now = Date.now()): Promise<EventOutcome> {
  const { db, payments: lookups } = s;
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
      return applyCheckout(db, event, raw, now);
    case "invoice.paid":
      return applyInvoice(db, lookups, event, raw, now);
    case "customer.subscription.created":
    case "customer.subscription.updated":
      return applySubscriptionChanged(db, lookups, event, raw, now);
    case "charge.refunded":
    case "charge.dispute.created":
    case "charge.dispute.closed":
      return applyReversal(db, event, now);
    case "customer.subscription.deleted":
      return applySubscriptionEnded(db, event, now);
    case "payment_intent.succeeded":
    case "payment_intent.payment_failed":
      return applyTopUpPayment(db, event, raw, now);
    default:
      // Not recorded: an endpoint subscribed to more events than we use would write for each.
      return { outcome: "ignored", code: "unhandled_type" };
  }
}
