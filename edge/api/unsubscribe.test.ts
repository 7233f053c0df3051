// /u/:token inside workerd: RFC 8058 one-click with the exact bodies mail providers send, the
// page a person sees, and tokens that do not check out. No key, cookie or session anywhere.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import type { ReceivedWebhook } from "../../e2e/standin-receiver.ts";
import { campaignRecipients, campaigns, suppressions, webhookEvents } from "../../db/schema.ts";
import { call, seedAccount, testDb } from "../testing.ts";

const ONE_CLICK = { body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } };

/** A campaign of the account, sending, with one recipient row per address. */
async function seedCampaign(accountId: string, emails: string[]) {
  const db = testDb();
  const campaignId = newId("cmp");
  await db.insert(campaigns).values({
    id: campaignId, accountId, name: "March newsletter", jobId: newId("job"), senderId: newId("snd"), templateId: newId("tpl"),
    status: "sending", consentBasis: "opt_in", consentSource: "signup form", createdBy: "key_test", audience: emails.length,
  });
  const rows = await db
    .insert(campaignRecipients)
    .values(emails.map((email, rowIndex) => ({ campaignId, normalized: email.toLowerCase(), email, rowIndex, status: "sent" as const })))
    .returning({ id: campaignRecipients.id, email: campaignRecipients.email });
  const recipients = await Promise.all(rows.map(async (r) => ({ ...r, token: await recipientToken(env.SESSION_SECRET, { accountId, campaignId, recipientId: r.id }) })));
  return { campaignId, recipients };
}

/** An endpoint of the account for recipient.unsubscribed, delivering to the loopback receiver. */
async function subscribe(key: string): Promise<string> {
  const path = `/ok/${newId("req")}`;
  const res = await call("/api/v1/webhooks", {
    method: "POST", key, body: JSON.stringify({ url: `${env.STANDIN_RECEIVER_URL}${path}`, events: ["recipient.unsubscribed"] }), headers: { "content-type": "application/json" },
  });
  expect(res.status).toBe(201);
  return path;
}

const received = async (path: string): Promise<ReceivedWebhook[]> => (await fetch(`${env.STANDIN_RECEIVER_URL}/_log?prefix=${encodeURIComponent(path)}`)).json();

/** Calls /u/… and waits for what it started in the background (the webhook's fan-out and first attempt). */
const click = (token: string, init: RequestInit = ONE_CLICK) => call(`/u/${token}`, { method: "POST", env, ...init });

async function state(accountId: string, campaignId: string, recipientId: number) {
  const db = testDb();
  const [campaign] = await db.select({ unsubscribed: campaigns.unsubscribed }).from(campaigns).where(eq(campaigns.id, campaignId));
  const [recipient] = await db.select({ at: campaignRecipients.unsubscribedAt }).from(campaignRecipients).where(eq(campaignRecipients.id, recipientId));
  const listed = await db.select().from(suppressions).where(eq(suppressions.accountId, accountId));
  const events = await db.select().from(webhookEvents).where(and(eq(webhookEvents.accountId, accountId), eq(webhookEvents.type, "recipient.unsubscribed")));
  return { unsubscribed: campaign!.unsubscribed, at: recipient!.at, listed, events };
}

describe("/u/:token", () => {
  it("unsubscribes with the one-click POST mail providers send: suppressed, counted once, one event; a second click changes nothing", async () => {
    const { accountId, key } = await seedAccount();
    const hook = await subscribe(key);
    const { campaignId, recipients } = await seedCampaign(accountId, ["Ada.Lovelace@Example.com", "grace@example.org"]);
    const [ada] = recipients;

    const res = await click(ada!.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("set-cookie")).toBeNull();
    const html = await res.text();
    expect(html).toContain("You are unsubscribed");
    expect(html).toContain("A***e@Example.com");
    expect(html).not.toContain("Lovelace");

    const after = await state(accountId, campaignId, ada!.id);
    expect(after.unsubscribed).toBe(1);
    expect(after.at).toEqual(expect.any(Number));
    expect(after.listed.map((s) => [s.email, s.reason, s.campaignId, s.source])).toEqual([["ada.lovelace@example.com", "unsubscribed", campaignId, "recipient"]]);
    expect(after.events).toHaveLength(1);
    const data = { email: "Ada.Lovelace@Example.com", campaign_id: campaignId, recipient_id: ada!.id, unsubscribed_at: new Date(after.at!).toISOString() };
    expect(JSON.parse(after.events[0]!.data!)).toEqual(data);
    expect(after.events[0]!.subjectId).toBe(String(ada!.id));
    // Fanned out and delivered to the account's endpoint after the write.
    const deliveries = await received(hook);
    expect(deliveries.map((d) => JSON.parse(d.body) as { type: string; data: unknown })).toEqual([{ type: "recipient.unsubscribed", timestamp: expect.any(String), data }]);
    // Zapier's editor is shown the real one now.
    expect(await (await call("/api/v1/hooks/samples?event=recipient.unsubscribed", { key })).json()).toEqual([data]);

    // The same link again, and two more at once: the same answer, nothing more counted or told.
    const again = await Promise.all([click(ada!.token), click(ada!.token), click(ada!.token.toUpperCase())]);
    for (const r of again) {
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("You are unsubscribed");
    }
    const still = await state(accountId, campaignId, ada!.id);
    expect([still.unsubscribed, still.at, still.listed.length, still.events.length]).toEqual([1, after.at, 1, 1]);
    expect(await received(hook)).toHaveLength(1);
  });

  it("takes multipart/form-data and an empty body too, and counts each recipient once", async () => {
    const { accountId, key } = await seedAccount();
    const { campaignId, recipients } = await seedCampaign(accountId, ["a@example.com", "b@example.com", "c@example.com"]);
    const form = new FormData();
    form.set("List-Unsubscribe", "One-Click");
    expect((await click(recipients[0]!.token, { body: form })).status).toBe(200);
    expect((await click(recipients[1]!.token, { body: "" })).status).toBe(200);
    const after = await state(accountId, campaignId, recipients[0]!.id);
    expect(after.unsubscribed).toBe(2);
    expect(after.listed.map((s) => s.email).sort()).toEqual(["a@example.com", "b@example.com"]);
    // No endpoint for the event: no outbox row either.
    expect(after.events).toEqual([]);
    // An address the account had suppressed itself keeps that entry; the recipient still counts.
    const manual = await call("/api/v1/suppressions", { method: "POST", key, body: JSON.stringify({ email: "c@example.com" }), headers: { "content-type": "application/json" } });
    expect(manual.status).toBe(201);
    expect((await click(recipients[2]!.token)).status).toBe(200);
    const third = await state(accountId, campaignId, recipients[2]!.id);
    expect(third.unsubscribed).toBe(3);
    expect(third.at).toEqual(expect.any(Number));
    expect(third.listed.find((s) => s.email === "c@example.com")).toMatchObject({ reason: "manual", campaignId: null });
  });

  it("shows a page with one button on GET, and GET never unsubscribes", async () => {
    const { accountId } = await seedAccount();
    const { campaignId, recipients } = await seedCampaign(accountId, ["<script>@example.com"]);
    const [r] = recipients;
    const res = await call(`/u/${r!.token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain("&lt;***&gt;@example.com");
    expect(html).not.toMatch(/<script/i);
    expect(html).toMatch(/<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe<\/button><\/form>/);
    expect(await state(accountId, campaignId, r!.id)).toMatchObject({ unsubscribed: 0, at: null, listed: [] });

    // Once unsubscribed, the page says so and offers nothing to press.
    expect((await click(r!.token)).status).toBe(200);
    const done = await (await call(`/u/${r!.token}`)).text();
    expect(done).toContain("You are unsubscribed");
    expect(done).not.toContain("<form");

    const preview = await call("/u/preview");
    expect(preview.status).toBe(200);
    expect(await preview.text()).toMatch(/a\*\*\*e@example\.com[\s\S]*<button type="submit" disabled>/);
    expect((await call("/u/preview", { method: "POST", ...ONE_CLICK })).status).toBe(404);
  });

  it("answers 404, with no detail, to a token that is forged, tampered with, for another campaign or row, or unknown; and caps the body", async () => {
    const { accountId } = await seedAccount();
    const { campaignId, recipients } = await seedCampaign(accountId, ["ada@example.com"]);
    const other = await seedCampaign(accountId, ["grace@example.org"]);
    const [r] = recipients;
    const flip = (t: string) => t.slice(0, -1) + (t.endsWith("0") ? "1" : "0");
    const rotatedSecret = env.SESSION_SECRET_PREVIOUS!.split(",").at(-1)!.trim();
    const tokens = [
      flip(r!.token),
      // The right row, signed as if it were another campaign's or account's.
      await recipientToken(env.SESSION_SECRET, { accountId, campaignId: other.campaignId, recipientId: r!.id }),
      await recipientToken(env.SESSION_SECRET, { accountId: "acc_someoneelse", campaignId, recipientId: r!.id }),
      // Another row's MAC on this row's id.
      `${r!.id.toString(36)}-${other.recipients[0]!.token.split("-")[1]}`,
      await recipientToken("not-our-secret-0123456789abcdef", { accountId, campaignId, recipientId: r!.id }),
      await recipientToken(env.SESSION_SECRET, { accountId, campaignId, recipientId: 2 ** 40 }),
      "garbage",
      "0-00000000000000000000",
    ];
    for (const token of tokens) {
      for (const method of ["GET", "POST"]) {
        const res = await call(`/u/${token}`, { method, ...(method === "POST" ? ONE_CLICK : {}) });
        expect([token, method, res.status]).toEqual([token, method, 404]);
        const html = await res.text();
        expect(html).toContain("This unsubscribe link is not valid.");
      }
    }
    expect(await state(accountId, campaignId, r!.id)).toMatchObject({ unsubscribed: 0, at: null, listed: [] });

    const big = await click(r!.token, { body: `List-Unsubscribe=One-Click&pad=${"x".repeat(1_100)}`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(big.status).toBe(413);
    expect(await state(accountId, campaignId, r!.id)).toMatchObject({ unsubscribed: 0, at: null, listed: [] });

    // A link minted before SESSION_SECRET was rotated still works.
    const old = await recipientToken(rotatedSecret, { accountId, campaignId, recipientId: r!.id });
    expect((await click(old)).status).toBe(200);
    expect(await state(accountId, campaignId, r!.id)).toMatchObject({ unsubscribed: 1 });
  });
});
