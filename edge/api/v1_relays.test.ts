// /api/v1/relays inside workerd, on a database of its own whose only probes are paths of the
// scripted stand-in probe on loopback (e2e/standin-probe.ts), asked by the real probe client.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { RelayTestAnswer, RelayWire } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { openString, probeTransportKey } from "../../core/secrets.ts";
import { auditLog, probes, relays, senders } from "../../db/schema.ts";
import { buildServices } from "../context.ts";
import { createEdgeDb } from "../db.ts";
import { RELAY_PASSWORD_PURPOSE, RELAY_TESTS_PER_ACCOUNT_HOUR, relayTestCounter } from "../relays/relays.ts";
import { openSecret, vaultOf } from "../secrets/secrets.ts";
import { call, errorCode, receivedByStandIn, seedAccount, standInProbesAt } from "../testing.ts";

const bindings: Env = { ...env, TURSO_DATABASE_URL: env.RELAYS_TEST_DATABASE_URL! };
const privateAllowed: Env = { ...bindings, MXRAY_ALLOW_PRIVATE_TARGETS: "1" };
const db = createEdgeDb(bindings);
const services = () => buildServices(bindings, { waitUntil: () => {} }, "http://edge.test");

const PASSWORD = "s3cret-relay-password-Zq9";
const postmark = { name: "Postmark", host: "smtp.postmarkapp.com", port: 587, security: "starttls", username: "token-user", password: PASSWORD, max_per_minute: 100, max_per_day: 50_000 };

const api = (key: string, path: string, init: RequestInit & { env?: Env } = {}) => call(path, { env: bindings, ...init, key });
const send = (key: string, method: string, path: string, body: unknown, over: Env = bindings) =>
  api(key, path, { method, body: JSON.stringify(body), headers: { "content-type": "application/json" }, env: over });

interface Relay {
  id: string;
  has_password: boolean;
  [k: string]: unknown;
}

/** The answer, checked never to hold the password anywhere in its text. */
async function answer<T = Relay>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(text).not.toContain(PASSWORD);
  return JSON.parse(text) as T;
}

async function account() {
  const { accountId, key } = await seedAccount(0, db);
  return { accountId, key };
}

async function made(key: string, body: object = postmark): Promise<Relay> {
  return answer(await send(key, "POST", "/api/v1/relays", body), 201);
}

const storedPassword = async (id: string) => (await db.select({ password: relays.password }).from(relays).where(eq(relays.id, id)))[0]!.password;

describe("/api/v1/relays", () => {
  it("creates, reads, lists, updates and deletes a relay; the password is sealed in the row and never answered", async () => {
    const { accountId, key } = await account();
    const relay = await made(key);
    expect(relay).toEqual({
      id: expect.stringMatching(/^rly_/),
      name: "Postmark",
      host: "smtp.postmarkapp.com",
      port: 587,
      security: "starttls",
      username: "token-user",
      has_password: true,
      max_per_minute: 100,
      max_per_day: 50_000,
      tested_at: null,
      test_ok: null,
      test_detail: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const sealed = (await storedPassword(relay.id))!;
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(await openSecret(await vaultOf(services()), accountId, { purpose: RELAY_PASSWORD_PURPOSE, recordId: relay.id }, sealed)).toBe(PASSWORD);

    expect(await answer(await api(key, `/api/v1/relays/${relay.id}`), 200)).toEqual(relay);
    const second = await made(key, { ...postmark, name: "SES", host: "email-smtp.eu-west-1.amazonaws.com", security: "tls", port: undefined });
    expect(second).toMatchObject({ security: "tls", port: 465 });
    const page1 = await answer<{ data: Relay[]; next_cursor: string }>(await api(key, "/api/v1/relays?limit=1"), 200);
    expect(page1.data.map((r) => r.id)).toEqual([second.id]);
    const page2 = await answer<{ data: Relay[]; next_cursor: string | null }>(await api(key, `/api/v1/relays?limit=1&cursor=${page1.next_cursor}`), 200);
    expect([page2.data.map((r) => r.id), page2.next_cursor]).toEqual([[relay.id], null]);

    // Absent keeps the password; a string replaces it; null (with the username) clears it.
    const renamed = await answer(await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { name: "Postmark EU", max_per_minute: 200 }), 200);
    expect(renamed).toMatchObject({ name: "Postmark EU", max_per_minute: 200, has_password: true });
    expect(await storedPassword(relay.id)).toBe(sealed);
    await answer(await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { password: "another-password" }), 200);
    const resealed = (await storedPassword(relay.id))!;
    expect(resealed).not.toBe(sealed);
    expect(await openSecret(await vaultOf(services()), accountId, { purpose: RELAY_PASSWORD_PURPOSE, recordId: relay.id }, resealed)).toBe("another-password");
    const cleared = await answer(await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { username: null, password: null, host: "relay.example.net", port: 2525 }), 200);
    expect(cleared).toMatchObject({ username: null, has_password: false, host: "relay.example.net", port: 2525 });
    expect(await storedPassword(relay.id)).toBeNull();

    expect((await api(key, `/api/v1/relays/${relay.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await api(key, `/api/v1/relays/${relay.id}`);
    expect([gone.status, await errorCode(gone)]).toEqual([404, "not_found"]);

    // Audited, never with the password.
    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.target, relay.id))).orderBy(auditLog.id);
    expect(audit.map((a) => a.action)).toEqual(["relay.created", "relay.updated", "relay.updated", "relay.updated", "relay.deleted"]);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
    expect(JSON.stringify(audit)).not.toContain("another-password");
    expect(audit.map((a) => JSON.parse(a.detail!).password ?? null)).toEqual([null, null, "set", "cleared", null]);
  });

  it("refuses bad bodies and bad relays with validation_failed, and changes nothing", async () => {
    const { key } = await account();
    const cases: object[] = [
      { ...postmark, port: 0 },
      { ...postmark, port: 65_536 },
      { ...postmark, security: "ssl" },
      { ...postmark, max_per_minute: 0 },
      { ...postmark, max_per_day: 1.5 },
      { ...postmark, max_per_minute: 100, max_per_day: 99 },
      { ...postmark, password: undefined },
      { ...postmark, username: undefined },
      { ...postmark, security: "none" },
      { ...postmark, name: "   " },
      { ...postmark, host: "smtp .example.com" },
      { ...postmark, host: "-smtp.example.com" },
      { ...postmark, host: "smtp.exämple.com" },
      { ...postmark, host: "10.0.0.010" },
      { ...postmark, host: "2130706433" },
      { ...postmark, colour: "blue" },
    ];
    for (const body of cases) {
      const res = await send(key, "POST", "/api/v1/relays", body);
      expect([res.status, await errorCode(res)], JSON.stringify(body)).toEqual([400, "validation_failed"]);
    }
    const bad = await api(key, "/api/v1/relays", { method: "POST", body: "{\"name\":", headers: { "content-type": "application/json" } });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "invalid_json"]);
    const list = await answer<{ data: Relay[] }>(await api(key, "/api/v1/relays"), 200);
    expect(list.data).toEqual([]);

    const relay = await made(key);
    const patch = await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { max_per_day: 10 });
    expect([patch.status, await errorCode(patch)]).toEqual([400, "validation_failed"]);
    const noTls = await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { security: "none" });
    expect([noTls.status, await errorCode(noTls)]).toEqual([400, "validation_failed"]);
    const half = await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { password: null });
    expect([half.status, await errorCode(half)]).toEqual([400, "validation_failed"]);
    expect(await answer(await api(key, `/api/v1/relays/${relay.id}`), 200)).toEqual(relay);
  });

  it("refuses loopback, private and internal hosts with host_not_allowed unless MXRAY_ALLOW_PRIVATE_TARGETS=1", async () => {
    const { key } = await account();
    const hosts = ["10.0.0.1", "127.0.0.1", "localhost", "LOCALHOST.", "mail.localhost", "printer.local", "metadata.google.internal", "169.254.169.254", "[::1]", "::ffff:127.0.0.1", "fd00::1", "postfix"];
    for (const host of hosts) {
      const res = await send(key, "POST", "/api/v1/relays", { ...postmark, host });
      expect([res.status, await errorCode(res)], host).toEqual([400, "host_not_allowed"]);
    }
    const relay = await made(key);
    const moved = await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { host: "192.168.1.10" });
    expect([moved.status, await errorCode(moved)]).toEqual([400, "host_not_allowed"]);
    expect(await answer(await api(key, `/api/v1/relays/${relay.id}`), 200)).toMatchObject({ host: "smtp.postmarkapp.com" });

    // The local relay sink: loopback, and a password without TLS, as a private network may.
    const sink = await answer(await send(key, "POST", "/api/v1/relays", { ...postmark, host: "127.0.0.1", port: 2525, security: "none" }, privateAllowed), 201);
    expect(sink).toMatchObject({ host: "127.0.0.1", security: "none", has_password: true });
    const named = await answer(await send(key, "POST", "/api/v1/relays", { ...postmark, host: "[::1]" }, privateAllowed), 201);
    expect(named).toMatchObject({ host: "::1" });
    expect(await answer(await send(key, "POST", "/api/v1/relays", { ...postmark, host: "relay.internal." }, privateAllowed), 201)).toMatchObject({ host: "relay.internal" });
  });

  it("answers another account's relay as not_found, to every operation", async () => {
    const owner = await account();
    const other = await account();
    const relay = await made(owner.key);
    const tries = [
      api(other.key, `/api/v1/relays/${relay.id}`),
      send(other.key, "PATCH", `/api/v1/relays/${relay.id}`, { name: "mine now" }),
      api(other.key, `/api/v1/relays/${relay.id}`, { method: "DELETE" }),
      api(other.key, `/api/v1/relays/${relay.id}/test`, { method: "POST" }),
    ];
    for (const res of await Promise.all(tries)) expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
    expect((await answer<{ data: Relay[] }>(await api(other.key, "/api/v1/relays"), 200)).data).toEqual([]);
    expect(await answer(await api(owner.key, `/api/v1/relays/${relay.id}`), 200)).toEqual(relay);
  });

  it("refuses to delete a relay a sender uses, naming the sender", async () => {
    const { accountId, key } = await account();
    const relay = await made(key);
    const spare = await made(key, { ...postmark, name: "spare" });
    const senderId = newId("snd");
    await db.insert(senders).values({ id: senderId, accountId, fromEmail: "news@example.com", fromName: "News", relayIds: JSON.stringify([spare.id, relay.id]) });
    const refused = await api(key, `/api/v1/relays/${relay.id}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("conflict");
    expect(body.error.message).toContain(senderId);
    expect(await answer(await api(key, `/api/v1/relays/${relay.id}`), 200)).toMatchObject({ id: relay.id });
    await db.delete(senders).where(eq(senders.id, senderId));
    expect((await api(key, `/api/v1/relays/${relay.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("POST /api/v1/relays/{id}/test", () => {
  beforeEach(async () => {
    await db.delete(probes);
  });
  const test = (key: string, id: string) => api(key, `/api/v1/relays/${id}/test`, { method: "POST" });

  it("asks a probe with the password sealed for probes, records the outcome, and answers it", async () => {
    await standInProbesAt(bindings, "ok");
    const { accountId, key } = await account();
    const relay = await made(key);
    const ok = await answer<RelayTestAnswer>(await test(key, relay.id), 200);
    expect(ok).toEqual({ ok: true, stage: "done", detail: "235 2.7.0 Authentication successful", reply: { code: 235, enhanced: "2.7.0", message: "Authentication successful" } });
    expect(await answer(await api(key, `/api/v1/relays/${relay.id}`), 200)).toMatchObject({ tested_at: expect.any(String), test_ok: true, test_detail: "235 2.7.0 Authentication successful" });

    // What the probe got: the relay, its password sealed under the probe transport key, never in clear.
    const [asked] = await receivedByStandIn<{ relay: RelayWire; budget_ms: number }>("v1/relays/test", relay.id);
    expect(asked!.relay).toMatchObject({ id: relay.id, host: "smtp.postmarkapp.com", port: 587, security: "starttls", username: "token-user", max_per_minute: 100, max_per_day: 50_000 });
    expect(JSON.stringify(asked)).not.toContain(PASSWORD);
    expect(asked!.relay.password).not.toBe(await storedPassword(relay.id));
    expect(await openString(await probeTransportKey(env.PROBE_SECRET), { purpose: RELAY_PASSWORD_PURPOSE, recordId: relay.id }, asked!.relay.password!)).toBe(PASSWORD);
    expect(asked!.budget_ms).toBeGreaterThan(0);

    // A refused login is an answer, not an error: ok false, how far it got, and it is recorded.
    await answer(await send(key, "PATCH", `/api/v1/relays/${relay.id}`, { username: "bad-auth" }), 200);
    const refused = await answer<RelayTestAnswer>(await test(key, relay.id), 200);
    expect(refused).toMatchObject({ ok: false, stage: "auth", reply: { code: 535 } });
    expect(await answer(await api(key, `/api/v1/relays/${relay.id}`), 200)).toMatchObject({ test_ok: false, test_detail: "535 5.7.8 Authentication credentials invalid" });

    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.action, "relay.tested"))).orderBy(auditLog.id);
    expect(audit.map((a) => JSON.parse(a.detail!))).toEqual([{ ok: true, stage: "done" }, { ok: false, stage: "auth" }]);
  });

  it("asks the next probe when the first fails, and answers probe_unavailable when none is online or none answers", async () => {
    const { key } = await account();
    const relay = await made(key);
    const none = await test(key, relay.id);
    expect([none.status, none.headers.get("retry-after"), await errorCode(none)]).toEqual([503, "30", "probe_unavailable"]);

    await standInProbesAt(bindings, "error", "ok");
    expect(await answer(await test(key, relay.id), 200)).toMatchObject({ ok: true });
    expect(await receivedByStandIn("v1/relays/test", relay.id)).toHaveLength(2);

    await db.delete(probes);
    await standInProbesAt(bindings, "garbage", "error");
    const failing = await test(key, relay.id);
    expect([failing.status, await errorCode(failing)]).toEqual([503, "probe_unavailable"]);
  });

  it("refuses a relay whose password no longer opens with conflict, and an account's tests past the hourly cap with rate_limited", async () => {
    await standInProbesAt(bindings, "ok");
    const { accountId, key } = await account();
    const relay = await made(key);
    const s = services();
    const hour = Math.floor(Date.now() / 3_600_000);
    for (const h of [hour, hour + 1]) await s.cache.increment(relayTestCounter(accountId, h), 7_200, RELAY_TESTS_PER_ACCOUNT_HOUR);
    const limited = await test(key, relay.id);
    expect([limited.status, await errorCode(limited)]).toEqual([429, "rate_limited"]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);

    const other = await account();
    const moved = await made(other.key);
    // A sealed value copied from another relay does not open for this one.
    await db.update(relays).set({ password: await storedPassword(relay.id) }).where(eq(relays.id, moved.id));
    const unreadable = await test(other.key, moved.id);
    expect([unreadable.status, await errorCode(unreadable)]).toEqual([409, "conflict"]);
    expect(await receivedByStandIn("v1/relays/test", moved.id)).toEqual([]);
  });
});
