// Billing end to end on the local stack, as `npm start` runs it: the Worker under wrangler dev,
// sqld, and the Stripe stand-in that the real `stripe` client calls and that signs and delivers
// webhooks to /webhooks/stripe. A person signs in, buys through /billing's forms and the
// stand-in's checkout page (deliveries duplicated, concurrent and late), is refunded and
// disputed, subscribes to a plan that is changed in the Portal, renews and ends, and turns on auto
// top-up (charged once; a threshold over the pack refused; a declined card shown and not
// retried). After each step the balance equals the ledger's sum.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../db/client.ts";
import { startStack, type Stack } from "./stack.ts";
import type { StandInStripe } from "./standin-stripe.ts";
import { scratchDir } from "./scratch.ts";

let stack: Stack;
let stripe: StandInStripe;
let sql: ReturnType<typeof createDb>;

beforeAll(async () => {
  stack = await startStack({ dataDir: scratchDir("billing"), probes: 0, sweepMs: 0 });
  stripe = stack.stripe!;
  sql = createDb({ url: stack.sqld.url });
}, 120_000);

afterAll(async () => {
  sql?.client.close();
  await stack?.stop();
});

/** A browser-like session: the local sign-in's cookie, and same-origin form posts. */
async function signIn(email: string) {
  const res = await fetch(`${stack.url}/sign-in`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ email }),
    headers: { origin: stack.url, "content-type": "application/x-www-form-urlencoded" },
  });
  expect(res.status).toBe(302);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]!).filter((c) => !c.endsWith("=")).join("; ");
  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${stack.url}${path}`, { method: "POST", redirect: "manual", body: new URLSearchParams(fields), headers: { cookie, origin: stack.url, "content-type": "application/x-www-form-urlencoded" } });
  const page = async (path: string) => (await fetch(`${stack.url}${path}`, { headers: { cookie } })).text();
  const accountId = String((await sql.client.execute({ sql: "SELECT account_id FROM members WHERE email = ?", args: [email] })).rows[0]!.account_id);
  return { post, page, accountId };
}

const balanceOf = async (accountId: string) => Number((await sql.client.execute({ sql: "SELECT credit_balance FROM accounts WHERE id = ?", args: [accountId] })).rows[0]!.credit_balance);

/** The balance equals the ledger's sum, and what it is. */
async function exact(accountId: string): Promise<number> {
  const row = (await sql.client.execute({ sql: "SELECT a.credit_balance AS balance, (SELECT coalesce(sum(delta), 0) FROM credit_ledger WHERE account_id = a.id) AS ledger FROM accounts a WHERE a.id = ?", args: [accountId] })).rows[0]!;
  expect(Number(row.balance)).toBe(Number(row.ledger));
  return Number(row.balance);
}

/** Waits (a condition with a deadline, not a sleep) for the balance a background step makes. */
async function untilBalance(accountId: string, expected: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await balanceOf(accountId)) !== expected) {
    if (Date.now() > deadline) throw new Error(`balance ${await balanceOf(accountId)}, expected ${expected}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Buys on /billing: our server makes the Checkout session and sends the browser to its page. */
async function checkout(who: Awaited<ReturnType<typeof signIn>>, product: string): Promise<string> {
  const res = await who.post("/billing", { intent: "buy", product });
  expect(res.status).toBe(302);
  const location = res.headers.get("location")!;
  expect(location.startsWith(`${stripe.url}/checkout/cs_`)).toBe(true);
  return location;
}

/** Pays on the stand-in's page, as the buyer's browser would; returns where Stripe sends them back. */
async function pay(checkoutUrl: string, delivery?: "duplicate" | "concurrent" | "late"): Promise<string> {
  const res = await fetch(`${checkoutUrl}/pay`, { method: "POST", redirect: "manual", body: new URLSearchParams(delivery ? { delivery } : {}), headers: { "content-type": "application/x-www-form-urlencoded" } });
  expect(res.status).toBe(303);
  return res.headers.get("location")!;
}

const eventsFor = (type: string, match: (o: Record<string, any>) => boolean) =>
  stripe.events().filter((e) => e.type === type && match(e.data.object as Record<string, any>)).map((e) => e.data.object as Record<string, any>);

describe("billing through the local stack and the Stripe stand-in", () => {
  it("a pack bought with duplicate, concurrent and late deliveries credits each purchase once; refunds and disputes take back", async () => {
    const owner = await signIn("owner.billing@example.com");
    const start = await exact(owner.accountId);

    const first = await checkout(owner, "credits_10k");
    expect(await pay(first, "duplicate")).toBe(`${stack.url}/billing?checkout=success&session_id=${first.split("/checkout/")[1]}`);
    expect(await exact(owner.accountId)).toBe(start + 10_000);
    await pay(await checkout(owner, "credits_50k"), "concurrent");
    expect(await exact(owner.accountId)).toBe(start + 60_000);
    await pay(await checkout(owner, "credits_10k"), "late");
    expect(await exact(owner.accountId)).toBe(start + 60_000); // held back by "Stripe"
    await stripe.releaseLate();
    await stripe.idle();
    expect(await exact(owner.accountId)).toBe(start + 70_000);
    expect(await owner.page("/billing")).toContain((start + 70_000).toLocaleString("en-US"));

    const sessions = eventsFor("checkout.session.completed", (s) => s.client_reference_id === owner.accountId);
    expect(sessions).toHaveLength(3); // a duplicated delivery is one event delivered twice
    const [tenK, fiftyK] = sessions;
    await stripe.refund(String(tenK!.payment_intent), 250); // a quarter of 10.00
    await stripe.idle();
    expect(await exact(owner.accountId)).toBe(start + 67_500);
    await stripe.dispute(String(fiftyK!.payment_intent), { duplicate: "concurrent" });
    await stripe.idle();
    expect(await exact(owner.accountId)).toBe(start + 17_500);
  }, 60_000);

  it("a plan grants its credits for each paid period, the plan it bills; a Portal downgrade is followed; it stops when canceled", async () => {
    const owner = await signIn("plan.billing@example.com");
    const start = await exact(owner.accountId);
    await pay(await checkout(owner, "plan_growth"));
    expect(await exact(owner.accountId)).toBe(start + 100_000);
    expect(await owner.page("/billing")).toMatch(/Current plan: <strong>Growth/);
    // A second plan is refused while one is active; the page says why instead of failing.
    const again = await owner.post("/billing", { intent: "buy", product: "plan_starter" });
    expect(again.status).toBe(200);
    expect(await again.text()).toMatch(/already has a plan/);

    // Growth → Starter in the Customer Portal: the $0 proration invoice grants nothing.
    const sub = eventsFor("customer.subscription.created", (s) => s.metadata?.account_id === owner.accountId)[0]!;
    await stripe.changePlan(String(sub.id), "plan_starter");
    await stripe.idle();
    expect(await exact(owner.accountId)).toBe(start + 100_000);
    expect(await owner.page("/billing")).toMatch(/Current plan: <strong>Starter/);

    await stripe.renew(String(sub.id), { late: true });
    await stripe.cancelSubscription(String(sub.id));
    await stripe.releaseLate(); // the renewal's invoice.paid arrives after the cancellation
    await stripe.idle();
    // Starter's 20,000, though the subscription's metadata still says Growth.
    expect(await exact(owner.accountId)).toBe(start + 120_000);
    const status = (await sql.client.execute({ sql: "SELECT status FROM stripe_subscriptions WHERE id = ?", args: [String(sub.id)] })).rows[0]!.status;
    expect(status).toBe("canceled");
  }, 60_000);

  it("auto top-up charges the saved card once when the balance is low, and a decline is shown and not retried", async () => {
    const owner = await signIn("topup.billing@example.com");
    await pay(await checkout(owner, "credits_10k")); // saves the card
    const start = await exact(owner.accountId);
    const on = await owner.post("/billing", { intent: "auto-topup", enabled: "on", threshold: String(start + 1), pack: "credits_50k" });
    expect(on.status).toBe(200);
    await untilBalance(owner.accountId, start + 50_000);
    await stripe.idle(); // its payment_intent.succeeded webhook, delivered after the charge's own answer
    expect(await exact(owner.accountId)).toBe(start + 50_000);
    const topUps = (await sql.client.execute({ sql: "SELECT count(*) AS n FROM credit_ledger WHERE account_id = ? AND reason = 'auto_topup'", args: [owner.accountId] })).rows[0]!.n;
    expect(Number(topUps)).toBe(1);

    // A threshold the pack cannot lift the balance over would charge at every sweep: refused, and the page says why.
    const tooHigh = await owner.post("/billing", { intent: "auto-topup", enabled: "on", threshold: "10000", pack: "credits_10k" });
    expect(tooHigh.status).toBe(200);
    expect(await tooHigh.text()).toContain("threshold: must be below the pack&#x27;s 10,000 credits");

    const customer = eventsFor("checkout.session.completed", (s) => s.client_reference_id === owner.accountId)[0]!.customer as string;
    stripe.setDecline(customer, true);
    await owner.post("/billing", { intent: "auto-topup", enabled: "on", threshold: String(start + 50_001), pack: "credits_1m" });
    const deadline = Date.now() + 15_000;
    let page = "";
    while (!/declined/i.test((page = await owner.page("/billing")))) {
      if (Date.now() > deadline) throw new Error("no failure shown");
      await new Promise((r) => setTimeout(r, 100));
    }
    await stack.sweep(); // the sweeper does not try a failed top-up again
    await stripe.idle();
    expect(eventsFor("payment_intent.payment_failed", (pi) => pi.customer === customer)).toHaveLength(1);
    expect(await exact(owner.accountId)).toBe(start + 50_000);
  }, 60_000);
});
