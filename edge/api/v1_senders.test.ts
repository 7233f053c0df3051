// /api/v1/senders and the confirmation link's page inside workerd, on a database of its own whose
// only probes are paths of the scripted stand-in probe on loopback (e2e/standin-probe.ts), asked
// by the real probe client: what the stand-in received is what a probe would have sent.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { RelayWire } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { openString, probeTransportKey } from "../../core/secrets.ts";
import { signToken } from "../../core/signedtoken.ts";
import { auditLog, campaigns, probes, senders } from "../../db/schema.ts";
import { buildServices } from "../context.ts";
import { createEdgeDb } from "../db.ts";
import { RELAY_PASSWORD_PURPOSE } from "../relays/relays.ts";
import { CONFIRM_TOKEN_PURPOSE, CONFIRM_TTL_MS, confirmToken } from "../senders/confirmation.ts";
import { CONFIRMATIONS_PER_SENDER_HOUR, confirmationCounter, confirmSender } from "../senders/senders.ts";
import { call, errorCode, receivedByStandIn, seedAccount, standInProbesAt } from "../testing.ts";

const bindings: Env = { ...env, TURSO_DATABASE_URL: env.SENDERS_TEST_DATABASE_URL! };
const db = createEdgeDb(bindings);
const services = () => buildServices(bindings, { waitUntil: () => {} }, "http://edge.test");

const PASSWORD = "relay-password-for-senders-7Hq";
const api = (key: string, path: string, init: RequestInit = {}) => call(path, { ...init, key, env: bindings });
const post = (key: string, path: string, body?: unknown) =>
  api(key, path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
const page = (token: string, method = "GET") => call(`/senders/confirm/${token}`, { method, env: bindings });

interface Sender {
  id: string;
  from_email: string;
  relay_ids: string[];
  confirmed: boolean;
  confirmed_at: string | null;
  confirmation_sent_at: string | null;
  checklist: { items: { check: string; status: string; name: string; seen: string[]; detail: string }[]; checked_at: string | null };
  confirmation?: { sent: boolean; detail: string };
  [k: string]: unknown;
}

interface Message {
  relays: RelayWire[];
  from_email: string;
  from_name: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

async function json<T = Sender>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(text).not.toContain(PASSWORD);
  return JSON.parse(text) as T;
}

/** An account with two relays. */
async function account() {
  const { accountId, key } = await seedAccount(0, db);
  const relay = async (name: string) =>
    (await json<{ id: string }>(await post(key, "/api/v1/relays", { name, host: `smtp.${name}.example.net`, security: "starttls", username: "u", password: PASSWORD, max_per_minute: 10, max_per_day: 100 }), 201)).id;
  return { accountId, key, relays: [await relay("primary"), await relay("backup")] };
}

/** A From address on a domain of its own, so what the stand-in received is this test's. */
const fromAddress = (prefix = "") => `news@${prefix}${newId("req").slice(4, 14)}.example.com`;

const linkIn = (text: string) => /http:\/\/edge\.test\/senders\/confirm\/(\S+)/.exec(text)?.[1];

describe("/api/v1/senders", () => {
  beforeEach(async () => {
    await db.delete(probes);
  });

  it("creates a sender, sends its confirmation through its relays and checks its domain; the link's page confirms only on POST", async () => {
    await standInProbesAt(bindings, "ok");
    const { accountId, key, relays } = await account();
    const from = fromAddress();
    const domain = from.split("@")[1]!;
    const made = await json(await post(key, "/api/v1/senders", { from_email: from, from_name: "Example News", reply_to: "hello@example.com", relay_ids: [relays[1], relays[0]], dkim_selector: "PM" }), 201);
    expect(made).toMatchObject({
      id: expect.stringMatching(/^snd_/),
      from_email: from,
      from_name: "Example News",
      reply_to: "hello@example.com",
      relay_ids: [relays[1], relays[0]],
      bounce_domain: domain,
      dkim_selector: "pm",
      confirmed: false,
      confirmed_at: null,
      confirmation_sent_at: expect.any(String),
      confirmation: { sent: true, detail: expect.stringMatching(/^250 2\.0\.0 Ok: queued as STANDIN\d+$/) },
    });
    expect(made.checklist.checked_at).toEqual(expect.any(String));
    expect(made.checklist.items.map((i) => [i.check, i.status, i.name])).toEqual([
      ["spf", "pass", domain],
      ["dkim", "pass", `pm._domainkey.${domain}`],
      ["dmarc", "pass", `_dmarc.${domain}`],
      ["bounce_mx", "pass", domain],
    ]);
    expect(made.checklist.items[2]!.seen).toEqual(["v=DMARC1; p=quarantine"]);

    // The message went to the From address, from it, through the pool in order, the passwords sealed for probes.
    const [message] = await receivedByStandIn<Message>("v1/messages", from);
    expect(message).toMatchObject({ from_email: from, from_name: "Example News", to: from, subject: `Confirm ${from} as a sender on mxray` });
    expect(message!.relays.map((r) => r.id)).toEqual([relays[1], relays[0]]);
    expect(JSON.stringify(message)).not.toContain(PASSWORD);
    const transport = await probeTransportKey(env.PROBE_SECRET);
    expect(await openString(transport, { purpose: RELAY_PASSWORD_PURPOSE, recordId: relays[1]! }, message!.relays[0]!.password!)).toBe(PASSWORD);
    const token = linkIn(message!.text)!;
    expect(token).toBeTruthy();
    expect(message!.html).toContain(`href="http://edge.test/senders/confirm/${token}"`);
    expect(await receivedByStandIn("v1/dns/sender-check", domain)).toEqual([{ domain, dkim_selector: "pm", bounce_domain: domain, budget_ms: expect.any(Number) }]);

    // A scanner's GET shows the button and confirms nothing.
    const shown = await page(token);
    expect([shown.status, shown.headers.get("content-type"), shown.headers.get("cache-control"), shown.headers.get("referrer-policy")]).toEqual([200, "text/html; charset=UTF-8", "no-store", "no-referrer"]);
    const html = await shown.text();
    expect(html).toContain('<form method="post"><button type="submit">Confirm</button></form>');
    expect(html).toContain(from);
    expect(await json(await api(key, `/api/v1/senders/${made.id}`), 200)).toMatchObject({ confirmed: false, confirmed_at: null });

    // The button's POST confirms, once.
    const confirmed = await page(token, "POST");
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain("Sender confirmed");
    const after = await json(await api(key, `/api/v1/senders/${made.id}`), 200);
    expect(after).toMatchObject({ confirmed: true, confirmed_at: expect.any(String) });
    expect((await page(token, "POST")).status).toBe(200);
    expect((await json(await api(key, `/api/v1/senders/${made.id}`), 200)).confirmed_at).toBe(after.confirmed_at);
    expect(await (await page(token)).text()).toContain("Sender confirmed");
    const again = await post(key, `/api/v1/senders/${made.id}/resend-confirmation`);
    expect([again.status, await errorCode(again)]).toEqual([409, "conflict"]);

    const list = await json<{ data: Sender[]; next_cursor: string | null }>(await api(key, "/api/v1/senders?limit=1"), 200);
    expect([list.data.map((s) => s.id), list.next_cursor]).toEqual([[made.id], null]);
    expect((await api(key, `/api/v1/senders/${made.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await api(key, `/api/v1/senders/${made.id}`);
    expect([gone.status, await errorCode(gone)]).toEqual([404, "not_found"]);
    expect((await page(token, "POST")).status).toBe(404);

    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.target, made.id))).orderBy(auditLog.id);
    expect(audit.map((a) => [a.action, a.actor === "confirmation_link"])).toEqual([
      ["sender.created", false],
      ["sender.confirmed", true],
      ["sender.deleted", false],
    ]);
  });

  it("refuses bad senders with validation_failed, a relay of another account included, and makes nothing", async () => {
    const { key, relays } = await account();
    const other = await account();
    const good = { from_email: fromAddress(), from_name: "News", relay_ids: [relays[0]] };
    const cases: object[] = [
      { ...good, from_email: "not an address" },
      { ...good, from_email: "news@localhost" },
      { ...good, from_name: "News\r\nBcc: victim@example.org" },
      { ...good, from_name: "  " },
      { ...good, reply_to: "nobody" },
      { ...good, relay_ids: [] },
      { ...good, relay_ids: Array.from({ length: 11 }, () => relays[0]) },
      { ...good, relay_ids: [relays[0], relays[0]] },
      { ...good, relay_ids: [relays[0], "rly_nonexistent00000000"] },
      { ...good, relay_ids: [other.relays[0]] },
      { ...good, bounce_domain: "bounces" },
      { ...good, bounce_domain: "bad_domain.example.com" },
      { ...good, dkim_selector: "pm._domainkey" + ".x".repeat(30) },
      { ...good, dkim_selector: "p m" },
      { ...good, colour: "blue" },
    ];
    for (const body of cases) {
      const res = await post(key, "/api/v1/senders", body);
      expect([res.status, await errorCode(res)], JSON.stringify(body)).toEqual([400, "validation_failed"]);
    }
    const foreign = (await (await post(key, "/api/v1/senders", { ...good, relay_ids: [other.relays[0]] })).json()) as { error: { message: string } };
    expect(foreign.error.message).toBe(`relay_ids: no relay ${other.relays[0]} in this account`);
    expect((await json<{ data: Sender[] }>(await api(key, "/api/v1/senders"), 200)).data).toEqual([]);
  });

  it("answers another account's sender as not_found, to every operation", async () => {
    await standInProbesAt(bindings, "ok");
    const owner = await account();
    const other = await account();
    const made = await json(await post(owner.key, "/api/v1/senders", { from_email: fromAddress(), from_name: "News", relay_ids: owner.relays }), 201);
    const tries = [
      api(other.key, `/api/v1/senders/${made.id}`),
      api(other.key, `/api/v1/senders/${made.id}`, { method: "DELETE" }),
      post(other.key, `/api/v1/senders/${made.id}/check`),
      post(other.key, `/api/v1/senders/${made.id}/resend-confirmation`),
    ];
    for (const res of await Promise.all(tries)) expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
    expect((await json<{ data: Sender[] }>(await api(other.key, "/api/v1/senders"), 200)).data).toEqual([]);
    expect(await json(await api(owner.key, `/api/v1/senders/${made.id}`), 200)).toMatchObject({ id: made.id });
  });

  it("makes the sender unconfirmed when no probe is online; resend-confirmation and check then send and check", async () => {
    const { key, relays } = await account();
    const from = fromAddress("weak.");
    const made = await json(await post(key, "/api/v1/senders", { from_email: from, from_name: "News", relay_ids: [relays[0]], bounce_domain: "Bounces.Example.com." }), 201);
    expect(made).toMatchObject({ confirmed: false, confirmation_sent_at: null, confirmation: { sent: false, detail: "No probe is online; try again shortly" }, bounce_domain: "bounces.example.com" });
    expect(made.checklist).toEqual({ items: [], checked_at: null });
    for (const path of ["check", "resend-confirmation"]) {
      const res = await post(key, `/api/v1/senders/${made.id}/${path}`);
      expect([res.status, res.headers.get("retry-after"), await errorCode(res)], path).toEqual([503, "30", "probe_unavailable"]);
    }

    await standInProbesAt(bindings, "error", "ok");
    const sent = await json(await post(key, `/api/v1/senders/${made.id}/resend-confirmation`), 200);
    expect(sent).toMatchObject({ confirmation_sent_at: expect.any(String), confirmation: { sent: true } });
    expect(await receivedByStandIn("v1/messages", from)).toHaveLength(2); // the failing probe, then the next
    const checked = await json(await post(key, `/api/v1/senders/${made.id}/check`), 200);
    expect(checked.checklist.items.map((i) => [i.check, i.status])).toEqual([
      ["spf", "pass"],
      ["dkim", "fail"],
      ["dmarc", "warn"],
      ["bounce_mx", "pass"],
    ]);
    expect(checked.checklist.items[3]!.name).toBe("bounces.example.com");
    expect(checked.checklist.checked_at).toEqual(expect.any(String));
  });

  it("keeps confirmation_sent_at null when the relay refuses the message, and caps resends an hour", async () => {
    await standInProbesAt(bindings, "ok");
    const { key, relays } = await account();
    const from = `refused.${fromAddress()}`;
    const made = await json(await post(key, "/api/v1/senders", { from_email: from, from_name: "News", relay_ids: relays }), 201);
    expect(made).toMatchObject({ confirmation_sent_at: null, confirmation: { sent: false, detail: "550 5.7.1 Sender address rejected" } });
    const retried = await json(await post(key, `/api/v1/senders/${made.id}/resend-confirmation`), 200);
    expect(retried).toMatchObject({ confirmation_sent_at: null, confirmation: { sent: false } });

    const hour = Math.floor(Date.now() / 3_600_000);
    for (const h of [hour, hour + 1]) await services().cache.increment(confirmationCounter(made.id, h), 7_200, CONFIRMATIONS_PER_SENDER_HOUR);
    const limited = await post(key, `/api/v1/senders/${made.id}/resend-confirmation`);
    expect([limited.status, await errorCode(limited)]).toEqual([429, "rate_limited"]);
    expect(await receivedByStandIn("v1/messages", from)).toHaveLength(2);
  });

  it("refuses to delete a sender a campaign that has not finished uses, naming it", async () => {
    const { accountId, key, relays } = await account();
    const made = await json(await post(key, "/api/v1/senders", { from_email: fromAddress(), from_name: "News", relay_ids: [relays[0]] }), 201);
    const campaignId = newId("cmp");
    await db.insert(campaigns).values({
      id: campaignId, accountId, name: "launch", jobId: newId("job"), senderId: made.id, templateId: newId("tpl"), status: "sending",
      consentBasis: "opt_in", consentSource: "signup form", createdBy: "key_test",
    });
    const refused = await api(key, `/api/v1/senders/${made.id}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect([body.error.code, body.error.message.includes(`${campaignId} (sending)`)]).toEqual(["conflict", true]);
    await db.update(campaigns).set({ status: "completed" }).where(eq(campaigns.id, campaignId));
    expect((await api(key, `/api/v1/senders/${made.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("/senders/confirm/{token}", () => {
  /** A sender made straight in the database, with a link for it signed at `at`. */
  async function unconfirmed(at = Date.now()) {
    const { accountId } = await seedAccount(0, db);
    const id = newId("snd");
    await db.insert(senders).values({ id, accountId, fromEmail: "news@example.com", fromName: "News", relayIds: "[]" });
    return { id, accountId, token: await confirmToken(services().config, { id, accountId }, at) };
  }
  const confirmedAt = async (id: string) => (await db.select({ at: senders.confirmedAt }).from(senders).where(eq(senders.id, id)))[0]!.at;

  it("refuses a tampered token, one for another purpose or another secret, and an expired one, confirming nothing", async () => {
    const { id, accountId, token } = await unconfirmed();
    const [payload, sig] = token.split(".") as [string, string];
    const forged = {
      tampered: `${payload}.${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`,
      otherSender: `${btoa(JSON.stringify({ sid: newId("snd"), acc: accountId, exp: Date.now() + CONFIRM_TTL_MS })).replace(/=+$/, "")}.${sig}`,
      otherPurpose: await signToken(env.SESSION_SECRET, "live-token", { sid: id, acc: accountId, exp: Date.now() + CONFIRM_TTL_MS }),
      otherSecret: await signToken("not-our-session-secret-0123456789", CONFIRM_TOKEN_PURPOSE, { sid: id, acc: accountId, exp: Date.now() + CONFIRM_TTL_MS }),
      garbage: "not-a-token",
    };
    for (const [what, bad] of Object.entries(forged)) {
      for (const method of ["GET", "POST"]) {
        const res = await page(bad, method);
        expect([res.status, (await res.text()).includes("This link is not valid")], `${what} ${method}`).toEqual([400, true]);
      }
    }
    // Signed eight days ago: past its seven.
    const old = await unconfirmed(Date.now() - 8 * 24 * 60 * 60_000);
    for (const method of ["GET", "POST"]) {
      const res = await page(old.token, method);
      expect([res.status, (await res.text()).includes("This link has expired")]).toEqual([410, true]);
    }
    expect([await confirmedAt(id), await confirmedAt(old.id)]).toEqual([null, null]);
  });

  it("holds a link for seven days from when it was sent, by the clock it is given", async () => {
    const sentAt = Date.now();
    const { id, token } = await unconfirmed(sentAt);
    expect(await confirmSender(services(), token, sentAt + CONFIRM_TTL_MS)).toEqual({ ok: false, reason: "expired" });
    expect(await confirmedAt(id)).toBeNull();
    expect(await confirmSender(services(), token, sentAt + CONFIRM_TTL_MS - 1)).toMatchObject({ ok: true, sender: { id } });
    expect(await confirmedAt(id)).toBe(sentAt + CONFIRM_TTL_MS - 1);
  });
});
