// /api/v1/bounce-mailboxes inside workerd, on a database of its own (a heartbeat takes every
// mailbox no live probe reads) whose only probes are paths of the scripted stand-in probe on
// loopback (e2e/standin-probe.ts), asked by the real probe client: what the stand-in received is
// what a probe would have got.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { MailboxTestAnswer, MailboxWire } from "../../core/contracts.ts";
import { openString, probeTransportKey } from "../../core/secrets.ts";
import { auditLog, bounceMailboxes, probes } from "../../db/schema.ts";
import { buildServices } from "../context.ts";
import { createEdgeDb } from "../db.ts";
import { MAILBOX_TESTS_PER_ACCOUNT_HOUR, mailboxTestCounter } from "../bounces/mailboxes.ts";
import { MAILBOX_PASSWORD_PURPOSE } from "../bounces/mailboxwire.ts";
import { openSecret, vaultOf } from "../secrets/secrets.ts";
import { call, errorCode, receivedByStandIn, seedAccount, standInProbesAt } from "../testing.ts";

const bindings: Env = { ...env, TURSO_DATABASE_URL: env.BOUNCE_MAILBOXES_TEST_DATABASE_URL! };
const privateAllowed: Env = { ...bindings, MXRAY_ALLOW_PRIVATE_TARGETS: "1" };
const db = createEdgeDb(bindings);
const services = () => buildServices(bindings, { waitUntil: () => {} }, "http://edge.test");

const PASSWORD = "s3cret-imap-password-Wq7";
const fastmail = { name: "Bounces at Fastmail", host: "imap.fastmail.com", security: "tls", username: "bounces@news.example.com", password: PASSWORD };

const api = (key: string, path: string, init: RequestInit & { env?: Env } = {}) => call(path, { env: bindings, ...init, key });
const send = (key: string, method: string, path: string, body: unknown, over: Env = bindings) =>
  api(key, path, { method, body: JSON.stringify(body), headers: { "content-type": "application/json" }, env: over });

interface Mailbox {
  id: string;
  has_password: boolean;
  probe_id: string | null;
  [k: string]: unknown;
}

/** The answer, checked never to hold the password anywhere in its text. */
async function answer<T = Mailbox>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(text).not.toContain(PASSWORD);
  return JSON.parse(text) as T;
}

const account = () => seedAccount(0, db);
const made = async (key: string, body: object = fastmail): Promise<Mailbox> => answer(await send(key, "POST", "/api/v1/bounce-mailboxes", body), 201);
const stored = async (id: string) => (await db.select().from(bounceMailboxes).where(eq(bounceMailboxes.id, id)))[0]!;
const opens = async (accountId: string, id: string, sealed: string) => openSecret(await vaultOf(services()), accountId, { purpose: MAILBOX_PASSWORD_PURPOSE, recordId: id }, sealed);
const fromProbe = async (id: string, sealed: string) => openString(await probeTransportKey(env.PROBE_SECRET), { purpose: MAILBOX_PASSWORD_PURPOSE, recordId: id }, sealed);

/** Probes are never deleted (edge/bounces/assign.ts): earlier tests' probes are made dead instead. */
const fleetDown = () => db.update(probes).set({ status: "dead" });

describe("/api/v1/bounce-mailboxes", () => {
  it("creates, reads, lists, updates and deletes a mailbox; the password is sealed in the row and never answered", async () => {
    const { accountId, key } = await account();
    const mailbox = await made(key);
    expect(mailbox).toEqual({
      id: expect.stringMatching(/^bmx_/),
      name: "Bounces at Fastmail",
      host: "imap.fastmail.com",
      port: 993,
      security: "tls",
      username: "bounces@news.example.com",
      has_password: true,
      folder: "INBOX",
      processed_folder: "mxray-processed",
      probe_id: null,
      assigned_at: null,
      last_polled_at: null,
      last_error: null,
      messages_seen: 0,
      messages_ours: 0,
      tested_at: null,
      test_ok: null,
      test_detail: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const sealed = (await stored(mailbox.id)).password;
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(await opens(accountId, mailbox.id, sealed)).toBe(PASSWORD);

    expect(await answer(await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toEqual(mailbox);
    const second = await made(key, { host: "imap.example.net", security: "starttls", username: "bounce", password: PASSWORD, folder: "Bounces", processed_folder: null });
    expect(second).toMatchObject({ name: "bounce on imap.example.net", port: 143, folder: "Bounces", processed_folder: null });
    const page1 = await answer<{ data: Mailbox[]; next_cursor: string }>(await api(key, "/api/v1/bounce-mailboxes?limit=1"), 200);
    expect(page1.data.map((m) => m.id)).toEqual([second.id]);
    const page2 = await answer<{ data: Mailbox[]; next_cursor: string | null }>(await api(key, `/api/v1/bounce-mailboxes?limit=1&cursor=${page1.next_cursor}`), 200);
    expect([page2.data.map((m) => m.id), page2.next_cursor]).toEqual([[mailbox.id], null]);

    // A read has moved the cursor (edge/bounces/intake.ts writes it; set here as it would).
    await db.update(bounceMailboxes).set({ uidvalidity: 1_700_000_000, lastUid: 42, lastError: "NO [UNAVAILABLE] try later" }).where(eq(bounceMailboxes.id, mailbox.id));
    const cursor = async () => {
      const row = await stored(mailbox.id);
      return { epoch: row.epoch, uidvalidity: row.uidvalidity, last_uid: row.lastUid, last_error: row.lastError };
    };
    // The name and processed_folder change nothing of how it is read: same epoch, same cursor.
    expect(await answer(await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { name: "Fastmail", processed_folder: "Done" }), 200)).toMatchObject({ name: "Fastmail", processed_folder: "Done", has_password: true });
    expect(await cursor()).toEqual({ epoch: 0, uidvalidity: 1_700_000_000, last_uid: 42, last_error: "NO [UNAVAILABLE] try later" });
    expect((await stored(mailbox.id)).password).toBe(sealed);
    // A new password or port reads the same mailbox: a new epoch, the cursor kept, the old error gone.
    await answer(await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { password: "another-password", port: 9993 }), 200);
    expect(await cursor()).toEqual({ epoch: 1, uidvalidity: 1_700_000_000, last_uid: 42, last_error: null });
    const resealed = (await stored(mailbox.id)).password;
    expect(resealed).not.toBe(sealed);
    expect(await opens(accountId, mailbox.id, resealed)).toBe("another-password");
    // The same host written differently is the same host.
    await answer(await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { host: "IMAP.Fastmail.com." }), 200);
    expect(await cursor()).toMatchObject({ epoch: 1, last_uid: 42 });
    // Another folder is another mailbox: a new epoch and the cursor starts over.
    expect(await answer(await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { folder: "Bounces" }), 200)).toMatchObject({ folder: "Bounces" });
    expect(await cursor()).toEqual({ epoch: 2, uidvalidity: null, last_uid: 0, last_error: null });

    expect((await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`);
    expect([gone.status, await errorCode(gone)]).toEqual([404, "not_found"]);
    const again = await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`, { method: "DELETE" });
    expect([again.status, await errorCode(again)]).toEqual([404, "not_found"]);

    // Audited, never with the password.
    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.target, mailbox.id))).orderBy(auditLog.id);
    expect(audit.map((a) => a.action)).toEqual(["bounce_mailbox.created", "bounce_mailbox.updated", "bounce_mailbox.updated", "bounce_mailbox.updated", "bounce_mailbox.updated", "bounce_mailbox.deleted"]);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
    expect(JSON.stringify(audit)).not.toContain("another-password");
    expect(audit.map((a) => JSON.parse(a.detail!).password ?? null)).toEqual([null, null, "set", null, null, null]);
    expect(JSON.parse(audit[4]!.detail!)).toEqual({ folder: "Bounces", cursor_reset: true });
  });

  it("refuses bad bodies and bad mailboxes with validation_failed, and changes nothing", async () => {
    const { key } = await account();
    const cases: object[] = [
      { ...fastmail, port: 0 },
      { ...fastmail, port: 65_536 },
      { ...fastmail, security: "ssl" },
      { ...fastmail, security: "none" },
      { ...fastmail, password: undefined },
      { ...fastmail, password: "" },
      { ...fastmail, password: "line\r\nbreak" },
      { ...fastmail, username: undefined },
      { ...fastmail, username: "a\u0000b" },
      { ...fastmail, name: "   " },
      { ...fastmail, folder: "" },
      { ...fastmail, folder: "   " },
      { ...fastmail, folder: "Bounces\r\nA1 DELETE INBOX" },
      { ...fastmail, folder: "x".repeat(201) },
      { ...fastmail, processed_folder: "" },
      { ...fastmail, processed_folder: "Done\n" },
      { ...fastmail, processed_folder: "INBOX" },
      { ...fastmail, processed_folder: "inbox" },
      { ...fastmail, folder: "Bounces", processed_folder: "Bounces" },
      { ...fastmail, host: "imap .example.com" },
      { ...fastmail, host: "-imap.example.com" },
      { ...fastmail, host: "10.0.0.010" },
      { ...fastmail, colour: "blue" },
    ];
    for (const body of cases) {
      const res = await send(key, "POST", "/api/v1/bounce-mailboxes", body);
      expect([res.status, await errorCode(res)], JSON.stringify(body)).toEqual([400, "validation_failed"]);
    }
    const bad = await api(key, "/api/v1/bounce-mailboxes", { method: "POST", body: '{"host":', headers: { "content-type": "application/json" } });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "invalid_json"]);
    expect((await answer<{ data: Mailbox[] }>(await api(key, "/api/v1/bounce-mailboxes"), 200)).data).toEqual([]);

    const mailbox = await made(key);
    for (const patch of [{ processed_folder: "INBOX" }, { folder: "mxray-processed" }, { security: "none" }, { folder: "a\rb" }, { password: null }, { username: "" }]) {
      const res = await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, patch);
      expect([res.status, await errorCode(res)], JSON.stringify(patch)).toEqual([400, "validation_failed"]);
    }
    expect(await answer(await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toEqual(mailbox);
    expect((await stored(mailbox.id)).epoch).toBe(0);
  });

  it("refuses loopback, private and internal hosts with host_not_allowed unless MXRAY_ALLOW_PRIVATE_TARGETS=1", async () => {
    const { key } = await account();
    for (const host of ["127.0.0.1", "10.0.0.1", "localhost", "imap.local", "metadata.google.internal", "169.254.169.254", "[::1]", "dovecot"]) {
      const res = await send(key, "POST", "/api/v1/bounce-mailboxes", { ...fastmail, host });
      expect([res.status, await errorCode(res)], host).toEqual([400, "host_not_allowed"]);
    }
    const mailbox = await made(key);
    const moved = await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { host: "192.168.1.10" });
    expect([moved.status, await errorCode(moved)]).toEqual([400, "host_not_allowed"]);
    expect(await answer(await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toMatchObject({ host: "imap.fastmail.com" });

    // The local IMAP server: loopback, and no TLS, as a private network may.
    const local = await answer(await send(key, "POST", "/api/v1/bounce-mailboxes", { ...fastmail, host: "127.0.0.1", port: 1143, security: "none" }, privateAllowed), 201);
    expect(local).toMatchObject({ host: "127.0.0.1", port: 1143, security: "none", has_password: true });
  });

  it("answers another account's mailbox as not_found, to every operation", async () => {
    const owner = await account();
    const other = await account();
    const mailbox = await made(owner.key);
    const tries = [
      api(other.key, `/api/v1/bounce-mailboxes/${mailbox.id}`),
      send(other.key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { name: "mine now" }),
      api(other.key, `/api/v1/bounce-mailboxes/${mailbox.id}`, { method: "DELETE" }),
      api(other.key, `/api/v1/bounce-mailboxes/${mailbox.id}/test`, { method: "POST" }),
      api(other.key, `/api/v1/bounce-mailboxes/${mailbox.id}/poll`, { method: "POST" }),
    ];
    for (const res of await Promise.all(tries)) expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
    expect((await answer<{ data: Mailbox[] }>(await api(other.key, "/api/v1/bounce-mailboxes"), 200)).data).toEqual([]);
    expect(await answer(await api(owner.key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toEqual(mailbox);
    expect((await stored(mailbox.id)).pollRequestedAt).toBeNull();
  });
});

describe("POST /api/v1/bounce-mailboxes/{id}/test", () => {
  beforeEach(fleetDown);
  const test = (key: string, id: string) => api(key, `/api/v1/bounce-mailboxes/${id}/test`, { method: "POST" });

  it("asks a probe with the password sealed for probes, records the outcome, and answers it", async () => {
    const { accountId, key } = await account();
    const mailbox = await made(key);
    await standInProbesAt(bindings, "ok");
    const ok = await answer<MailboxTestAnswer>(await test(key, mailbox.id), 200);
    expect(ok).toEqual({ ok: true, stage: "done", detail: "INBOX opened: 12 messages", messages: 12 });
    expect(await answer(await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toMatchObject({ tested_at: expect.any(String), test_ok: true, test_detail: "INBOX opened: 12 messages" });

    // What the probe got: the mailbox, its password sealed under the probe transport key, never in clear.
    const [asked] = await receivedByStandIn<{ mailbox: MailboxWire; budget_ms: number }>("v1/mailboxes/test", mailbox.id);
    expect(asked!.mailbox).toMatchObject({ id: mailbox.id, host: "imap.fastmail.com", port: 993, security: "tls", username: "bounces@news.example.com", folder: "INBOX", processed_folder: "mxray-processed" });
    expect(JSON.stringify(asked)).not.toContain(PASSWORD);
    expect(asked!.mailbox.password).not.toBe((await stored(mailbox.id)).password);
    expect(await fromProbe(mailbox.id, asked!.mailbox.password)).toBe(PASSWORD);
    expect(asked!.budget_ms).toBeGreaterThan(0);

    // A refused login or a missing folder is an answer, not an error: ok false, how far it got, recorded.
    await answer(await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { username: "bad-auth" }), 200);
    expect(await answer<MailboxTestAnswer>(await test(key, mailbox.id), 200)).toMatchObject({ ok: false, stage: "auth", messages: null });
    expect(await answer(await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toMatchObject({ test_ok: false, test_detail: "NO [AUTHENTICATIONFAILED] Authentication failed." });
    await answer(await send(key, "PATCH", `/api/v1/bounce-mailboxes/${mailbox.id}`, { username: "bounces", folder: "Missing" }), 200);
    expect(await answer<MailboxTestAnswer>(await test(key, mailbox.id), 200)).toMatchObject({ ok: false, stage: "folder" });

    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.action, "bounce_mailbox.tested"))).orderBy(auditLog.id);
    expect(audit.map((a) => JSON.parse(a.detail!))).toEqual([{ ok: true, stage: "done" }, { ok: false, stage: "auth" }, { ok: false, stage: "folder" }]);
  });

  it("asks the next probe when the first fails, and answers probe_unavailable when none is online or none answers", async () => {
    const { key } = await account();
    const mailbox = await made(key);
    const none = await test(key, mailbox.id);
    expect([none.status, none.headers.get("retry-after"), await errorCode(none)]).toEqual([503, "30", "probe_unavailable"]);

    await standInProbesAt(bindings, "error", "ok");
    expect(await answer(await test(key, mailbox.id), 200)).toMatchObject({ ok: true });
    expect(await receivedByStandIn("v1/mailboxes/test", mailbox.id)).toHaveLength(2);

    await fleetDown();
    await standInProbesAt(bindings, "garbage", "error");
    const failing = await test(key, mailbox.id);
    expect([failing.status, await errorCode(failing)]).toEqual([503, "probe_unavailable"]);
    expect(await answer(await api(key, `/api/v1/bounce-mailboxes/${mailbox.id}`), 200)).toMatchObject({ test_ok: true });
  });

  it("refuses a mailbox whose password no longer opens with conflict, and an account's tests past the hourly cap with rate_limited", async () => {
    await standInProbesAt(bindings, "ok");
    const { accountId, key } = await account();
    const mailbox = await made(key);
    const hour = Math.floor(Date.now() / 3_600_000);
    for (const h of [hour, hour + 1]) await services().cache.increment(mailboxTestCounter(accountId, h), 7_200, MAILBOX_TESTS_PER_ACCOUNT_HOUR);
    const limited = await test(key, mailbox.id);
    expect([limited.status, await errorCode(limited)]).toEqual([429, "rate_limited"]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);

    const other = await account();
    const moved = await made(other.key);
    // A sealed value copied from another mailbox does not open for this one.
    await db.update(bounceMailboxes).set({ password: (await stored(mailbox.id)).password }).where(eq(bounceMailboxes.id, moved.id));
    const unreadable = await test(other.key, moved.id);
    expect([unreadable.status, await errorCode(unreadable)]).toEqual([409, "conflict"]);
    expect(await receivedByStandIn("v1/mailboxes/test", moved.id)).toEqual([]);
  });
});

describe("POST /api/v1/bounce-mailboxes/{id}/poll", () => {
  beforeEach(fleetDown);
  const poll = (key: string, id: string) => api(key, `/api/v1/bounce-mailboxes/${id}/poll`, { method: "POST" });

  it("asks the probe that reads the mailbox to read now, with the request on the mailbox", async () => {
    const { key } = await account();
    const mailbox = await made(key);
    // The probe's heartbeat takes the mailbox (epoch 1).
    const [reader] = await standInProbesAt(bindings, "ok");
    expect(await stored(mailbox.id)).toMatchObject({ probeId: reader, epoch: 1 });
    const before = Date.now();
    const polled = await answer(await poll(key, mailbox.id), 202);
    expect(polled).toMatchObject({ id: mailbox.id, probe_id: reader });
    const row = await stored(mailbox.id);
    expect(row.pollRequestedAt).toBeGreaterThanOrEqual(before);
    expect(row.epoch).toBe(1);
    const [asked] = await receivedByStandIn<{ mailbox: MailboxWire }>("v1/mailboxes/poll", mailbox.id);
    expect(asked!.mailbox).toMatchObject({ id: mailbox.id, epoch: 1, uidvalidity: null, last_uid: 0, poll_requested_at: new Date(row.pollRequestedAt!).toISOString() });
    expect(JSON.stringify(asked)).not.toContain(PASSWORD);
    expect(await fromProbe(mailbox.id, asked!.mailbox.password)).toBe(PASSWORD);
  });

  it("gives a mailbox no live probe reads to the live probe reading the fewest first", async () => {
    const { key } = await account();
    const busy = await made(key);
    const [first] = await standInProbesAt(bindings, "ok");
    expect((await stored(busy.id)).probeId).toBe(first);
    // Made after both heartbeats: nobody reads it until it is polled.
    const [second] = await standInProbesAt(bindings, "ok");
    const mailbox = await made(key);
    const polled = await answer(await poll(key, mailbox.id), 202);
    expect(polled).toMatchObject({ probe_id: second, assigned_at: expect.any(String) });
    expect(await stored(mailbox.id)).toMatchObject({ probeId: second, epoch: 1 });
    expect(await receivedByStandIn("v1/mailboxes/poll", mailbox.id)).toHaveLength(1);

    // Its probe dies: the next poll moves it to the live one.
    await db.update(probes).set({ lastHeartbeatAt: Date.now() - 10 * 60_000 }).where(eq(probes.id, second!));
    expect(await answer(await poll(key, mailbox.id), 202)).toMatchObject({ probe_id: first });
    expect(await stored(mailbox.id)).toMatchObject({ probeId: first, epoch: 2 });
  });

  it("answers probe_unavailable when no probe is online, keeping the request for the first probe that takes the mailbox", async () => {
    const { key } = await account();
    const mailbox = await made(key);
    const refused = await poll(key, mailbox.id);
    expect([refused.status, refused.headers.get("retry-after"), await errorCode(refused)]).toEqual([503, "30", "probe_unavailable"]);
    const waiting = (await stored(mailbox.id)).pollRequestedAt;
    expect(waiting).not.toBeNull();
    expect((await stored(mailbox.id)).probeId).toBeNull();

    // A probe whose answer is lost still reads it: its heartbeat carried the request.
    const [failing] = await standInProbesAt(bindings, "error");
    expect(await answer(await poll(key, mailbox.id), 202)).toMatchObject({ probe_id: failing });
  });
});
