// Stripe's events applied to the ledger, exactly once (issue 11). The event is already verified
// (edge/api/stripe_webhook.ts); its content is trusted, and no call goes back to Stripe.
//
// Each event is one `batch` (docs/decisions/004-write-path.md): a conditional ledger insert under
// an idempotency key, then the balance move guarded by changes(), so a repeated or concurrent
// delivery writes nothing twice. Refunds and disputes are stored as facts per payment intent; the
// credits taken back follow from those facts whatever order the events come in.
import type { InStatement } from "@libsql/client/web";
import type { EdgeDb } from "../db.ts";
import { recordAudit } from "./audit.ts";

/** What came of an event, as the webhook answers it. */
export interface EventOutcome {
  outcome: "applied" | "already_applied" | "recorded" | "ignored" | "held";
  /** Why an event was ignored or held (a stable code). */
  code?: "unpaid" | "plan_checkout" | "unknown_account" | "bad_credits" | "not_a_plan" | "no_payment_intent" | "not_auto_topup" | "unhandled_type";
}

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

/** Credits as our server writes them in metadata: a positive whole number, decimal digits only. */
export function parseCredits(v: unknown): number | null {
  if (typeof v !== "string" || !/^[1-9][0-9]{0,9}$/.test(v)) return null;
  const n = Number(v);
  return n <= 2_000_000_000 ? n : null;
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
 * back up after a won dispute): a ledger entry only when they differ, so a repeated or concurrent
 * event writes nothing (each batch is atomic), then the balance and the payment's running total,
 * each only if the entry was written. `cause` (the event id) keeps keys unique when a total
 * comes round again (half refunded, disputed, won, the rest refunded).
 */
function takeBackStatements(paymentIntent: string, cause: string, now: number): InStatement[] {
  return [
    {
      sql: `INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, idempotency_key, created_at)
            SELECT account_id, taken_back - t, 'reversal', CASE WHEN disputed = 1 THEN 'dispute' ELSE 'refund' END, 'stripe',
                   'stripe:takeback:' || payment_intent || ':' || t || ':' || ?, ?
            FROM (SELECT *, ${TARGET} AS t FROM stripe_payments WHERE payment_intent = ?)
            WHERE t <> taken_back
            ON CONFLICT DO NOTHING`,
      args: [cause, now, paymentIntent],
    },
    {
      sql: `UPDATE accounts SET credit_balance = credit_balance + (SELECT delta FROM credit_ledger WHERE id = last_insert_rowid())
            WHERE changes() = 1 AND id = (SELECT account_id FROM credit_ledger WHERE id = last_insert_rowid())`,
      args: [],
    },
    {
      sql: `UPDATE stripe_payments SET taken_back = taken_back - (SELECT delta FROM credit_ledger WHERE id = last_insert_rowid()), updated_at = ?
            WHERE changes() = 1 AND payment_intent = ?`,
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
  return [
    {
      sql: `INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, idempotency_key, created_at)
            SELECT id, ?, 'purchase', ?, ?, ?, ? FROM accounts WHERE id = ? ON CONFLICT DO NOTHING`,
      args: [credits, reason, actor, key, now, accountId],
    },
    { sql: "UPDATE accounts SET credit_balance = credit_balance + ? WHERE changes() = 1 AND id = ?", args: [credits, accountId] },
    recordCreditEvent(event, objectId, accountId, now, raw),
  ];
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
  await recordAudit(db, null, { accountId, actor: "stripe", action: "billing.credits_granted", target: str(obj(audit.event.data.object).id), detail: { credits: audit.credits, reason: audit.reason, event: audit.event.type } });
  return { outcome: "applied" };
}

/** checkout.session.completed / async_payment_succeeded: a pack bought through Checkout. */
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
  const accountId = str(session.client_reference_id);
  const credits = parseCredits(obj(session.metadata).credits);
  if (!accountId || credits === null) {
    const code = !accountId ? "unknown_account" : "bad_credits";
    await run(db, [recordEvent(event, sessionId, "held", code, now, raw)]);
    return { outcome: "held", code };
  }
  const paymentIntent = ref(session.payment_intent);
  const statements = creditStatements(event, sessionId, accountId, credits, "purchase", buyerOf(obj(session.metadata)), `stripe:checkout:${sessionId}`, now, raw);
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
 * charge's answer (edge/services/billing.ts) and the payment_intent.succeeded event, and the
 * account's top-up back to idle.
 */
export function topUpCreditStatements(p: { accountId: string; paymentIntent: string; credits: number; amount: number | null }, now: number): InStatement[] {
  return [
    {
      sql: `INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, idempotency_key, created_at)
            SELECT id, ?, 'purchase', 'auto_topup', 'stripe', ?, ? FROM accounts WHERE id = ? ON CONFLICT DO NOTHING`,
      args: [p.credits, `stripe:topup:${p.paymentIntent}`, now, p.accountId],
    },
    { sql: "UPDATE accounts SET credit_balance = credit_balance + ? WHERE changes() = 1 AND id = ?", args: [p.credits, p.accountId] },
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
  const credits = parseCredits(metadata.credits);
  if (!accountId || credits === null) {
    const code = !accountId ? "unknown_account" : "bad_credits";
    await run(db, [recordEvent(event, piId, "held", code, now, raw)]);
    return { outcome: "held", code };
  }
  return runCredit(
    db,
    accountId,
    [...topUpCreditStatements({ accountId, paymentIntent: piId, credits, amount: int(pi.amount_received) ?? int(pi.amount) }, now), recordCreditEvent(event, piId, accountId, now, raw)],
    { event, credits, reason: "auto_topup" },
  );
}

/** invoice.paid: a plan's period, granting the credits in its subscription's metadata once per invoice. */
async function applyInvoice(db: EdgeDb, event: StripeEventLike, raw: string, now: number): Promise<EventOutcome> {
  const invoice = obj(event.data.object);
  const invoiceId = str(invoice.id) ?? "";
  // Current API versions put the subscription under parent.subscription_details; older ones at the top.
  const details = obj(obj(invoice.parent).subscription_details ?? invoice.subscription_details);
  const metadata = obj(details.metadata);
  const subscriptionId = ref(details.subscription) ?? ref(invoice.subscription);
  const accountId = str(metadata.account_id);
  if (!subscriptionId && !accountId && metadata.credits === undefined) {
    await run(db, [recordEvent(event, invoiceId, "ignored", "not_a_plan", now)]);
    return { outcome: "ignored", code: "not_a_plan" };
  }
  const credits = parseCredits(metadata.credits);
  if (!accountId || credits === null) {
    const code = !accountId ? "unknown_account" : "bad_credits";
    await run(db, [recordEvent(event, invoiceId, "held", code, now, raw)]);
    return { outcome: "held", code };
  }
  const statements = creditStatements(event, invoiceId, accountId, credits, "plan_grant", buyerOf(metadata), `stripe:invoice:${invoiceId}`, now, raw);
  // The invoice's payment, when the event carries it (`payments` is includable), so a refund or
  // dispute of a plan's charge takes back that period's credits as for a pack.
  const payments = obj(invoice.payments).data;
  const paid = Array.isArray(payments) ? payments.map((p) => obj(obj(p).payment)).find((p) => p.type === "payment_intent") : undefined;
  const paymentIntent = paid ? ref(paid.payment_intent) : null;
  if (paymentIntent) statements.push(...purchaseFactStatements({ paymentIntent, checkoutSession: null, accountId, credits, amount: int(invoice.amount_paid), cause: event.id }, now));
  if (subscriptionId) {
    // Status is set only when the row is new: canceled is final, even if this invoice comes after it.
    statements.push({
      sql: `INSERT INTO stripe_subscriptions (id, account_id, customer_id, plan, status, updated_at)
            SELECT ?, id, ?, ?, 'active', ? FROM accounts WHERE id = ?
            ON CONFLICT (id) DO UPDATE SET
              account_id = coalesce(stripe_subscriptions.account_id, excluded.account_id),
              customer_id = coalesce(stripe_subscriptions.customer_id, excluded.customer_id),
              plan = coalesce(excluded.plan, stripe_subscriptions.plan),
              updated_at = excluded.updated_at`,
      args: [subscriptionId, ref(invoice.customer), str(metadata.plan), now, accountId],
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
    {
      sql: `SELECT account_id, (SELECT delta FROM credit_ledger WHERE idempotency_key LIKE 'stripe:takeback:' || ?1 || ':%:' || ?2) AS delta
            FROM stripe_payments WHERE payment_intent = ?1`,
      args: [paymentIntent, event.id],
    },
  ]);
  // Before its purchase arrives, a reversal is kept as a fact and applied with the purchase.
  const accountId = results.at(-1)!.rows[0]?.account_id;
  if (typeof accountId !== "string") return { outcome: "recorded" };
  if (results[1]!.rowsAffected !== 1) return { outcome: "already_applied" };
  const delta = Number(results.at(-1)!.rows[0]!.delta);
  await recordAudit(db, null, { accountId, actor: "stripe", action: delta < 0 ? "billing.credits_taken_back" : "billing.credits_granted", target: paymentIntent, detail: { credits: Math.abs(delta), reason: event.type } });
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

/** Applies one verified event. `raw` is kept for events held for an operator. */
export async function applyStripeEvent(db: EdgeDb, event: StripeEventLike, raw: string, now = Date.now()): Promise<EventOutcome> {
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
      return applyCheckout(db, event, raw, now);
    case "invoice.paid":
      return applyInvoice(db, event, raw, now);
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
