// What mxray sells (issue 11): credit packs bought once and monthly plans, each a Stripe Price
// found by its lookup key. The credits a product grants are ours, written into the checkout's
// metadata by our server; Stripe holds only the price. A product with no Price under its lookup
// key in the Stripe account is sold at its default price (inline price data), so a deployment
// sells with no setup in Stripe, and creating a Price with that lookup key changes the price.
// Shared by the edge, the pages and the local Stripe stand-in.
//
// What a payment grants is read here, from the lookup key of what was paid for (issue 21): never
// from a number in an event's metadata, which outlives a plan change made in the Customer Portal.

export interface Product {
  /** The Stripe Price's lookup_key. */
  lookupKey: string;
  kind: "pack" | "plan";
  /** Credits granted by one purchase, or by each paid period of a plan. */
  credits: number;
  name: string;
  /** In US cents, used while Stripe has no Price under the lookup key. */
  defaultCents: number;
}

export const PRODUCTS: readonly Product[] = [
  { lookupKey: "credits_10k", kind: "pack", credits: 10_000, name: "10,000 credits", defaultCents: 1_000 },
  { lookupKey: "credits_50k", kind: "pack", credits: 50_000, name: "50,000 credits", defaultCents: 4_000 },
  { lookupKey: "credits_250k", kind: "pack", credits: 250_000, name: "250,000 credits", defaultCents: 15_000 },
  { lookupKey: "credits_1m", kind: "pack", credits: 1_000_000, name: "1,000,000 credits", defaultCents: 50_000 },
  { lookupKey: "plan_starter", kind: "plan", credits: 20_000, name: "Starter: 20,000 credits a month", defaultCents: 1_900 },
  { lookupKey: "plan_growth", kind: "plan", credits: 100_000, name: "Growth: 100,000 credits a month", defaultCents: 7_900 },
];

export const productByKey = (lookupKey: string): Product | undefined => PRODUCTS.find((p) => p.lookupKey === lookupKey);

/** The product of a kind under a lookup key, if we sell one; anything else is not guessed at. */
export function productOfKind(lookupKey: unknown, kind: Product["kind"]): Product | null {
  if (typeof lookupKey !== "string") return null;
  const product = productByKey(lookupKey);
  return product?.kind === kind ? product : null;
}

/** The smallest threshold and the pack choices auto top-up offers. */
export const AUTO_TOPUP_MIN_THRESHOLD = 100;
export const AUTO_TOPUP_DEFAULT_THRESHOLD = 1_000;
/**
 * Auto top-ups charged in one UTC day at most (issue 21): whatever the settings and the spending,
 * a saved card is not charged more often than this; the next one waits for 00:00 UTC.
 */
export const AUTO_TOPUP_MAX_PER_DAY = 5;

/** The UTC day holding `now`, as [start, end) in milliseconds. */
export function utcDay(now: number): { start: number; end: number } {
  const start = Math.floor(now / 86_400_000) * 86_400_000;
  return { start, end: start + 86_400_000 };
}

/** An amount in the currency's smallest unit, as people read it ("$40.00", "€19.00"). */
export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
}

/**
 * A pack's price per credit ("$0.0008"), in the currency's smallest unit like formatMoney's
 * amounts. Four decimals at least: a pack's per-credit price is a fraction of a cent.
 */
export function formatPerCredit(amount: number, currency: string, credits: number): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase(), minimumFractionDigits: 4, maximumFractionDigits: 5 }).format(amount / 100 / credits);
}

/**
 * How much cheaper a credit is in `pack` than in `base` (the smallest pack), as whole percent
 * rounded down (never a saving the price does not give); null when it is not cheaper or the
 * currencies differ.
 */
export function savingPercent(base: { amount: number; currency: string; credits: number }, pack: { amount: number; currency: string; credits: number }): number | null {
  if (base.currency.toLowerCase() !== pack.currency.toLowerCase() || base.amount <= 0) return null;
  const ratio = (pack.amount * base.credits) / (base.amount * pack.credits);
  const percent = Math.floor((1 - ratio) * 100 + 1e-9);
  return percent >= 1 ? percent : null;
}

// The low-balance warning (issue 26). A fixed threshold at the size of the sign-up grant turned
// every page yellow after a new account's first small test. "Low" is measured against what this
// account does: its last list, its week of use, or the line it set for auto top-up.

/** A bought account is warned below this many credits even when it has used few. */
export const LOW_BALANCE_FLOOR = 100;
/** The week of use is read from at most this many recent spending entries (then extrapolated). */
export const USE_SAMPLE_LIMIT = 1_000;
export const WEEK_MS = 7 * 86_400_000;

/** What the warning is decided from: the account's balance and use, read in one query (edge/credits/account.ts). */
export interface BalanceStanding {
  balance: number;
  /** The account ever paid for credits (a pack, a plan, an auto top-up). */
  bought: boolean;
  /** Credits the account's newest list needed (its unique addresses), or null with no list. */
  lastJob: number | null;
  /** Net credits spent in the last week, as read (see weekOfUse). */
  week: { entries: number; used: number; since: number | null };
  /** Auto top-up's threshold while it is on, else null. */
  autoTopUpBelow: number | null;
}

/**
 * Credits spent in a week, from the newest spending entries of the past week. When the sample
 * was cut at USE_SAMPLE_LIMIT entries (a busy API account) its rate is carried over the week.
 */
export function weekOfUse(week: BalanceStanding["week"], now: number): number {
  const used = Math.max(0, week.used);
  if (week.entries < USE_SAMPLE_LIMIT || week.since === null) return used;
  const span = Math.max(60_000, now - week.since);
  return Math.round((used * WEEK_MS) / Math.min(span, WEEK_MS));
}

export type BalanceNotice =
  /** Nothing to say. */
  | null
  /** Below zero after a refund or dispute, or at zero: work is refused until credits are added. */
  | { kind: "empty"; balance: number }
  /** A paying account below what it needs: `need` credits, and why that many. */
  | { kind: "low"; balance: number; need: number; because: "auto_topup" | "last_job" | "week" | "floor" }
  /** An account on its free credits that would not cover its usual list: said calmly, never as a warning. */
  | { kind: "free"; balance: number; need: number };

/**
 * Whether to tell the account its balance is low, and how. The need is the largest of
 * LOW_BALANCE_FLOOR, the last list's credits and a week of use; auto top-up's threshold replaces
 * it when auto top-up is on (the owner chose where "low" is). An account that never bought is
 * never warned while it has credits: its free credits are a trial, and it hears of them calmly.
 */
export function balanceNotice(s: BalanceStanding, now: number): BalanceNotice {
  if (s.balance <= 0) return { kind: "empty", balance: s.balance };
  const lastJob = s.lastJob ?? 0;
  const week = weekOfUse(s.week, now);
  if (!s.bought) {
    const need = Math.max(lastJob, week);
    return s.balance < need ? { kind: "free", balance: s.balance, need } : null;
  }
  if (s.autoTopUpBelow !== null) return s.balance < s.autoTopUpBelow ? { kind: "low", balance: s.balance, need: s.autoTopUpBelow, because: "auto_topup" } : null;
  const [need, because] = ([[LOW_BALANCE_FLOOR, "floor"], [lastJob, "last_job"], [week, "week"]] as const).reduce((a, b) => (b[0] > a[0] ? b : a));
  return s.balance < need ? { kind: "low", balance: s.balance, need, because } : null;
}
