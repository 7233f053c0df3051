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
