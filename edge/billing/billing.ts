// Buying credits (issue 11): the catalog with Stripe's prices, one Stripe customer per account,
// hosted Checkout for packs and plans, the Customer Portal, and auto top-up. Credits never move
// here on a page's word: Checkout's signed webhook grants them (edge/billing/payments.ts), and
// auto top-up's charge grants them under the same key its webhook uses, whichever comes first.
// Auto top-up never charges in a loop (issue 21): its threshold must be below the pack's credits,
// and it charges at most AUTO_TOPUP_MAX_PER_DAY a UTC day, counted from the ledger.
//
// No database lock is held across a call to Stripe: each step is one committed write before or
// after the call, and a repeated step finds the first one's result (customer, attempt number).
import { and, eq, sql } from "drizzle-orm";
import { AUTO_TOPUP_MAX_PER_DAY, AUTO_TOPUP_MIN_THRESHOLD, PRODUCTS, productByKey, utcDay, type Product } from "../../core/billing.ts";
import { billing, stripeSubscriptions } from "../../db/schema.ts";
import type { PaymentGateway, PriceInfo } from "../adapters/stripe.ts";
import { ServiceError } from "../errors.ts";
import type { Services, Who } from "../context.ts";
import { recordAudit } from "../audit/audit.ts";
import { creditBalance } from "../credits/credits.ts";
import { entriesOfReasonSql } from "../credits/ledger.ts";
import { topUpCreditStatements } from "./payments.ts";

export interface CatalogEntry extends Product {
  /** Stripe's Price under the lookup key, else the default; null while Stripe cannot be asked. */
  price: { unitAmount: number; currency: string } | null;
}

export interface AutoTopUpView {
  enabled: boolean;
  threshold: number;
  pack: string;
  state: "idle" | "charging" | "failed";
  error: string | null;
  lastAttemptAt: number | null;
  /** Top-ups charged this UTC day (at most AUTO_TOPUP_MAX_PER_DAY). */
  today: number;
  /** When the day's cap is reached: the next 00:00 UTC, when top-ups resume; else null. */
  pausedUntil: number | null;
}

export interface BillingOverview {
  /** false: no STRIPE_SECRET_KEY here, so nothing can be bought. */
  configured: boolean;
  balance: number;
  catalog: CatalogEntry[];
  /** The active plan's lookup key, if any. */
  plan: { subscriptionId: string; lookupKey: string | null } | null;
  /** The account has a Stripe customer (it bought before): the portal and auto top-up work. */
  hasCustomer: boolean;
  autoTopUp: AutoTopUpView;
}

/** Prices change rarely; each isolate asks Stripe at most this often. */
const PRICE_CACHE_MS = 5 * 60_000;
let priceCache: { gateway: PaymentGateway; at: number; prices: Map<string, PriceInfo> } | null = null;

async function pricesByKey(gateway: PaymentGateway, now: number): Promise<Map<string, PriceInfo>> {
  if (priceCache && priceCache.gateway === gateway && now - priceCache.at < PRICE_CACHE_MS) return priceCache.prices;
  const prices = new Map((await gateway.prices(PRODUCTS.map((p) => p.lookupKey))).map((p) => [p.lookupKey, p]));
  priceCache = { gateway, at: now, prices };
  return prices;
}

function gatewayOf(s: Services): PaymentGateway {
  if (!s.payments) throw new ServiceError("payments_unavailable", "Billing is not configured here (STRIPE_SECRET_KEY)");
  return s.payments;
}

async function billingRow(s: Services, accountId: string) {
  const [row] = await s.db.select().from(billing).where(eq(billing.accountId, accountId));
  return row ?? null;
}

async function activePlan(s: Services, accountId: string) {
  const [sub] = await s.db
    .select({ id: stripeSubscriptions.id, plan: stripeSubscriptions.plan })
    .from(stripeSubscriptions)
    .where(and(eq(stripeSubscriptions.accountId, accountId), eq(stripeSubscriptions.status, "active")))
    .limit(1);
  return sub ? { subscriptionId: sub.id, lookupKey: sub.plan } : null;
}

/** The ledger's auto top-ups of the UTC day holding `now`: the one count the cap reads. */
function topUpsTodaySql(accountIdExpr: string): string {
  return entriesOfReasonSql(accountIdExpr, "auto_topup");
}

async function topUpsToday(s: Services, accountId: string, now: number): Promise<number> {
  const { start, end } = utcDay(now);
  const res = await s.db.$client.execute({ sql: `SELECT ${topUpsTodaySql("?")} AS n`, args: [accountId, start, end] });
  return Number(res.rows[0]!.n);
}

export async function billingOverview(s: Services, who: Who, now = Date.now()): Promise<BillingOverview> {
  const { accountId } = who;
  const [balance, row, plan, today] = await Promise.all([creditBalance(s.db, accountId), billingRow(s, accountId), activePlan(s, accountId), topUpsToday(s, accountId, now)]);
  let prices = new Map<string, PriceInfo>();
  let pricesKnown = false;
  if (s.payments) {
    try {
      prices = await pricesByKey(s.payments, now);
      pricesKnown = true;
    } catch (e) {
      // The page still shows the balance and history; the packs say they cannot be bought now.
      console.log(JSON.stringify({ msg: "stripe prices unavailable", error: e instanceof Error ? e.message : String(e) }));
    }
  }
  return {
    configured: s.payments !== null,
    balance,
    catalog: PRODUCTS.map((p) => {
      const price = pricesKnown ? priceOf(prices, p) : null;
      return { ...p, price: price ? { unitAmount: price.unitAmount, currency: price.currency } : null };
    }),
    plan,
    hasCustomer: Boolean(row?.stripeCustomerId),
    autoTopUp: {
      enabled: row?.autoTopupEnabled ?? false,
      threshold: row?.autoTopupThreshold ?? 1_000,
      pack: row?.autoTopupPack ?? "credits_10k",
      state: row?.autoTopupState ?? "idle",
      error: row?.autoTopupError ?? null,
      lastAttemptAt: row?.autoTopupAt ?? null,
      today,
      pausedUntil: row?.autoTopupEnabled && today >= AUTO_TOPUP_MAX_PER_DAY ? utcDay(now).end : null,
    },
  };
}

/**
 * The account's Stripe customer, made on first use. Two first uses at once ask Stripe with the
 * same idempotency key (one customer), and the first id written wins.
 */
async function ensureCustomer(s: Services, gateway: PaymentGateway, accountId: string, accountName: string): Promise<string> {
  const known = (await billingRow(s, accountId))?.stripeCustomerId;
  if (known) return known;
  const created = await gateway.createCustomer({ accountId, name: accountName, idempotencyKey: `mxray-customer-${accountId}` });
  const [row] = await s.db
    .insert(billing)
    .values({ accountId, stripeCustomerId: created })
    .onConflictDoUpdate({ target: billing.accountId, set: { stripeCustomerId: sql`coalesce(${billing.stripeCustomerId}, excluded.stripe_customer_id)` } })
    .returning({ customer: billing.stripeCustomerId });
  return row!.customer!;
}

function productOrThrow(lookupKey: string): Product {
  const product = productByKey(lookupKey);
  if (!product) throw new ServiceError("validation_failed", `product: no pack or plan is called ${JSON.stringify(lookupKey.slice(0, 40))}`);
  return product;
}

/** What a product costs: the account's Price under its lookup key, else its default (priceId null). */
type Price = Omit<PriceInfo, "priceId"> & { priceId: string | null };

function priceOf(prices: Map<string, PriceInfo>, product: Product): Price {
  return prices.get(product.lookupKey) ?? { lookupKey: product.lookupKey, priceId: null, unitAmount: product.defaultCents, currency: "usd", recurring: product.kind === "plan" };
}

async function priceFor(gateway: PaymentGateway, product: Product, now: number): Promise<Price> {
  return priceOf(await pricesByKey(gateway, now), product);
}

/**
 * A hosted Checkout page for a pack or a plan. The session names the account
 * (client_reference_id and metadata.account_id) and the product (metadata.product, a lookup key);
 * the webhook grants that product's credits from the catalog, and trusts the names because only
 * this server can create sessions. A pack's card is saved for auto top-up.
 */
export interface CheckoutRequest {
  /** The pack's or plan's lookup key. */
  product: string;
  /** The account's name, for its Stripe customer. */
  accountName: string;
}

export async function startCheckout(s: Services, who: Who, req: CheckoutRequest, now = Date.now()): Promise<{ url: string }> {
  const { accountId, actor } = who;
  const gateway = gatewayOf(s);
  const product = productOrThrow(req.product);
  if (product.kind === "plan") {
    const plan = await activePlan(s, accountId);
    if (plan) throw new ServiceError("conflict", "This account already has a plan; change or cancel it in the billing portal");
  }
  const price = await priceFor(gateway, product, now);
  const customer = await ensureCustomer(s, gateway, accountId, req.accountName);
  // A plan's subscription keeps its metadata through plan changes in the Customer Portal, so it
  // names no credits: each invoice grants those of the price it bills (edge/billing/payments.ts).
  const metadata = { account_id: accountId, kind: product.kind, product: product.lookupKey, actor, ...(product.kind === "plan" ? { plan: product.lookupKey } : { credits: String(product.credits) }) };
  const session = await gateway.createCheckout({
    mode: product.kind === "plan" ? "subscription" : "payment",
    price: price.priceId ? { id: price.priceId } : { unitAmount: price.unitAmount, currency: price.currency, productName: `mxray ${product.name}`, lookupKey: product.lookupKey },
    customer,
    accountId,
    metadata,
    successUrl: `${s.origin}/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${s.origin}/billing?checkout=canceled`,
  });
  await recordAudit(s, { accountId, actor }, { action: "billing.checkout_started", target: session.id, detail: { product: product.lookupKey } });
  return { url: session.url };
}

/** The Customer Portal (invoices, receipts, cards, the plan) for an account that has bought before. */
export async function openPortal(s: Services, who: Who): Promise<{ url: string }> {
  const gateway = gatewayOf(s);
  const customer = (await billingRow(s, who.accountId))?.stripeCustomerId;
  if (!customer) throw new ServiceError("conflict", "Nothing was bought in this account yet, so there are no invoices or cards to manage");
  return { url: await gateway.createPortal(customer, `${s.origin}/billing`) };
}

export interface AutoTopUpSettings {
  enabled: boolean;
  threshold: number;
  pack: string;
}

/** Why a threshold cannot go with a pack (issue 21), or null when it can. */
function thresholdRefusal(threshold: number, product: Product): string | null {
  if (threshold < product.credits) return null;
  return `threshold: must be below the pack's ${product.credits.toLocaleString("en-US")} credits, or one top-up would leave the balance below it and the next check would charge again; lower the threshold or choose a bigger pack`;
}

/**
 * Owners turn auto top-up on (it needs a card saved by a purchase) or off. Saving also clears a
 * failure, so the next low balance tries again: that is the owner's answer to a declined card.
 * A threshold at or above the pack's credits is refused when turning it on: one top-up would not
 * lift the balance above it, so every sweep would charge again.
 */
export async function setAutoTopUp(s: Services, who: Who, settings: AutoTopUpSettings, now = Date.now()): Promise<void> {
  const { accountId, actor } = who;
  const product = productOrThrow(settings.pack);
  if (product.kind !== "pack") throw new ServiceError("validation_failed", "pack: auto top-up buys a pack, not a plan");
  if (!Number.isSafeInteger(settings.threshold) || settings.threshold < AUTO_TOPUP_MIN_THRESHOLD || settings.threshold > 100_000_000) {
    throw new ServiceError("validation_failed", `threshold: a whole number of credits from ${AUTO_TOPUP_MIN_THRESHOLD} to 100,000,000`);
  }
  // Turning it off is always allowed, whatever was saved before this rule.
  const refusal = settings.enabled ? thresholdRefusal(settings.threshold, product) : null;
  if (refusal) throw new ServiceError("validation_failed", refusal);
  const row = await billingRow(s, accountId);
  if (settings.enabled && !row?.stripeCustomerId) {
    throw new ServiceError("conflict", "Buy a pack once first: auto top-up charges the card saved with that purchase");
  }
  const values = { autoTopupEnabled: settings.enabled, autoTopupThreshold: settings.threshold, autoTopupPack: product.lookupKey, updatedAt: now };
  // A charge in flight keeps its state; anything else starts over from idle.
  await s.db
    .insert(billing)
    .values({ accountId, ...values })
    .onConflictDoUpdate({
      target: billing.accountId,
      set: { ...values, autoTopupState: sql`CASE WHEN ${billing.autoTopupState} = 'charging' THEN 'charging' ELSE 'idle' END`, autoTopupError: sql`CASE WHEN ${billing.autoTopupState} = 'charging' THEN ${billing.autoTopupError} ELSE NULL END` },
    });
  await recordAudit(s, { accountId, actor }, { action: "billing.auto_topup_changed", detail: { ...settings } }, now);
  if (settings.enabled) s.waitUntil(runAutoTopUp(s, accountId, now).catch(logTopUpError(accountId)));
}

/** A charge whose Worker died is taken up again after this long, under its first attempt's key. */
export const STALE_CHARGE_MS = 10 * 60_000;

export const logTopUpError = (accountId: string) => (e: unknown) =>
  console.error(JSON.stringify({ msg: "auto top-up failed to run", accountId, error: e instanceof Error ? e.message : String(e) }));

export type TopUpOutcome =
  | { outcome: "not_due" }
  | { outcome: "charged"; paymentIntent: string; credits: number }
  | { outcome: "failed"; code: string; message: string };

/**
 * Which accounts may start a new attempt: idle, and under the day's cap of charged top-ups
 * (counted from the ledger, so a charge credited by its webhook counts too). A stale charge is
 * the same attempt under the same idempotency key, so the cap never holds it.
 */
function newAttemptAllowed(accountIdExpr: string, stateExpr: string): string {
  return `(${stateExpr} = 'idle' AND ${topUpsTodaySql(accountIdExpr)} < ${AUTO_TOPUP_MAX_PER_DAY})`;
}

/**
 * One auto top-up if due: claims the attempt (idle → charging, or a stale charge), charges the
 * saved card off-session under the attempt's idempotency key, then grants the pack or records
 * the failure. A failure stays until an owner saves the settings again. At most
 * AUTO_TOPUP_MAX_PER_DAY a UTC day: past that, nothing is due until 00:00 UTC.
 */
export async function runAutoTopUp(s: Services, accountId: string, now = Date.now()): Promise<TopUpOutcome> {
  if (!s.payments) return { outcome: "not_due" };
  const { start, end } = utcDay(now);
  const claim = await s.db.$client.execute({
    sql: `UPDATE billing SET
            auto_topup_attempt = auto_topup_attempt + (auto_topup_state = 'idle'),
            auto_topup_state = 'charging', auto_topup_at = ?, auto_topup_error = NULL, updated_at = ?
          WHERE account_id = ? AND auto_topup_enabled = 1 AND stripe_customer_id IS NOT NULL
            AND (${newAttemptAllowed("billing.account_id", "auto_topup_state")} OR (auto_topup_state = 'charging' AND auto_topup_at < ?))
            AND (SELECT credit_balance FROM accounts WHERE id = ?) < auto_topup_threshold
          RETURNING stripe_customer_id, auto_topup_pack, auto_topup_attempt, auto_topup_threshold`,
    args: [now, now, accountId, start, end, now - STALE_CHARGE_MS, accountId],
  });
  const claimed = claim.rows[0];
  if (!claimed) return { outcome: "not_due" };
  const customer = String(claimed.stripe_customer_id);
  const attempt = Number(claimed.auto_topup_attempt);
  const fail = async (code: string, message: string, paymentIntent: string | null): Promise<TopUpOutcome> => {
    await s.db.$client.execute({
      sql: `UPDATE billing SET auto_topup_state = 'failed', auto_topup_error = ?, auto_topup_payment_intent = ?, updated_at = ?
            WHERE account_id = ? AND auto_topup_state = 'charging' AND auto_topup_attempt = ?`,
      args: [message, paymentIntent, now, accountId, attempt],
    });
    return { outcome: "failed", code, message };
  };
  const product = productByKey(String(claimed.auto_topup_pack));
  if (!product || product.kind !== "pack") return fail("no_pack", "The chosen pack is no longer sold; choose another", null);
  // Settings saved before the threshold rule: refused here too, before any charge.
  if (thresholdRefusal(Number(claimed.auto_topup_threshold), product)) {
    return fail("threshold_too_high", `The threshold is not below the pack's ${product.credits.toLocaleString("en-US")} credits, so every check would charge again; lower it or choose a bigger pack, and save`, null);
  }
  // Stripe unreachable throws: the claim goes stale and a later sweep takes it up again.
  const price = await priceFor(s.payments, product, now);
  const card = await s.payments.savedCard(customer);
  if (!card) return fail("no_card", "No card is saved; buy a pack once to save one, then turn auto top-up on again", null);
  const charge = await s.payments.chargeOffSession({
    customer,
    paymentMethod: card,
    amount: price.unitAmount,
    currency: price.currency,
    metadata: { kind: "auto_topup", account_id: accountId, credits: String(product.credits), product: product.lookupKey, attempt: String(attempt) },
    description: `mxray auto top-up: ${product.name}`,
    idempotencyKey: `mxray-topup-${accountId}-${attempt}`,
  });
  if (!charge.ok) return fail(charge.code, charge.message, charge.paymentIntent);
  await s.db.$client.batch(topUpCreditStatements({ accountId, paymentIntent: charge.paymentIntent, credits: product.credits, amount: price.unitAmount }, now), "write");
  return { outcome: "charged", paymentIntent: charge.paymentIntent, credits: product.credits };
}

/**
 * The sweeper's share: accounts whose top-up is due but was not started by a spending write
 * (a refund or dispute lowered the balance, or a Worker died mid-charge).
 */
export async function sweepAutoTopUps(s: Services, now = Date.now(), limit = 20): Promise<number> {
  if (!s.payments) return 0;
  const { start, end } = utcDay(now);
  // Accounts at the day's cap are left out here, so they never crowd others out of the limit.
  const due = await s.db.$client.execute({
    sql: `SELECT b.account_id FROM billing b JOIN accounts a ON a.id = b.account_id
          WHERE b.auto_topup_enabled = 1 AND a.credit_balance < b.auto_topup_threshold
            AND (${newAttemptAllowed("b.account_id", "b.auto_topup_state")} OR (b.auto_topup_state = 'charging' AND b.auto_topup_at < ?))
          LIMIT ?`,
    args: [start, end, now - STALE_CHARGE_MS, limit],
  });
  let ran = 0;
  for (const row of due.rows) {
    const accountId = String(row.account_id);
    const outcome = await runAutoTopUp(s, accountId, now).catch((e: unknown) => {
      logTopUpError(accountId)(e);
      return { outcome: "not_due" } as const;
    });
    if (outcome.outcome !== "not_due") ran++;
  }
  return ran;
}
