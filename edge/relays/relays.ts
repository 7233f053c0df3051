// Relays (issue 23): the customer's own SMTP relays (SES, SendGrid, Postmark, their Postfix…) that
// campaign mail leaves through. The one writer of `relays`. A password is sealed under the
// account's data key (edge/secrets, purpose "relay.password", the relay's row) and never returned;
// it travels to a probe sealed again under the probe transport key (wireRelays). A test asks a
// live probe to connect, upgrade and authenticate, sending nothing. docs/decisions/009-campaigns.md
import { and, desc, eq, inArray } from "drizzle-orm";
import type { RelayWire } from "../../core/contracts.ts";
import type { RelaySecurity } from "../../core/enums.ts";
import { newId } from "../../core/ids.ts";
import { probeTransportKey, seal } from "../../core/secrets.ts";
import { checkTargetHost } from "../../core/targethost.ts";
import { relays } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { openSecret, sealSecret, SecretError, vaultOf, type Vault } from "../secrets/secrets.ts";
import { askProbes } from "../dispatch/probes.ts";
import { relayView, type RelayRow, type RelayTestResult, type RelayView } from "./views.ts";

export const RELAY_PASSWORD_PURPOSE = "relay.password";
const passwordRef = (relayId: string) => ({ purpose: RELAY_PASSWORD_PURPOSE, recordId: relayId });

/** The port each security usually listens on (RFC 6409 submission, RFC 8314 implicit TLS). */
export const DEFAULT_PORTS: Record<RelaySecurity, number> = { starttls: 587, tls: 465, none: 25 };

/** A relay test's time on the probe: connect, greet, upgrade, authenticate, QUIT. */
export const RELAY_TEST_BUDGET_MS = 20_000;

/** Each test makes a probe connect to a host the customer names: a few an hour per account is all a person needs. */
export const RELAY_TESTS_PER_ACCOUNT_HOUR = 30;
const HOUR_MS = 60 * 60_000;
export const relayTestCounter = (accountId: string, hour: number) => `relay-tests:${accountId}:${hour}`;

export interface RelayFields {
  name: string;
  host: string;
  port: number;
  security: RelaySecurity;
  username: string | null;
  max_per_minute: number;
  max_per_day: number;
}

export interface NewRelay extends Omit<RelayFields, "port" | "username"> {
  port?: number | undefined;
  username?: string | null | undefined;
  password?: string | null | undefined;
}

/** Every field may change; `password`: a string sets it, null clears it, absent keeps it. */
export type RelayPatch = Partial<Omit<RelayFields, "username">> & { username?: string | null | undefined; password?: string | null | undefined };

/** The relay as it will be stored, checked as a whole (a change is checked with the fields it keeps). */
function checkRelay(s: Services, fields: RelayFields, hasPassword: boolean): RelayFields {
  const allowPrivate = s.config.MXRAY_ALLOW_PRIVATE_TARGETS;
  const host = checkTargetHost(fields.host, allowPrivate);
  if (!host.ok) throw new ServiceError(host.code, host.message);
  if (!Number.isInteger(fields.port) || fields.port < 1 || fields.port > 65_535) throw new ServiceError("validation_failed", "port: 1–65535");
  if ((fields.username === null) !== !hasPassword) throw new ServiceError("validation_failed", "username and password: give both (SMTP AUTH) or neither (a relay that trusts the probe's address)");
  // Never a password in clear over the internet (RFC 8314 §3); only a relay on a private network may go without TLS.
  if (fields.security === "none" && hasPassword && !allowPrivate) throw new ServiceError("validation_failed", "security: `none` would send the password in clear; use `starttls` or `tls`");
  for (const [name, n] of [["max_per_minute", fields.max_per_minute], ["max_per_day", fields.max_per_day]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new ServiceError("validation_failed", `${name}: a positive whole number`);
  }
  if (fields.max_per_day < fields.max_per_minute) throw new ServiceError("validation_failed", "max_per_day: at least max_per_minute");
  const name = fields.name.trim();
  if (name.length === 0) throw new ServiceError("validation_failed", "name: not blank");
  return { name, host: host.host, port: fields.port, security: fields.security, username: fields.username, max_per_minute: fields.max_per_minute, max_per_day: fields.max_per_day };
}

const sealPassword = async (s: Services, accountId: string, relayId: string, password: string) => sealSecret(await vaultOf(s), accountId, passwordRef(relayId), password);

export async function createRelay(s: Services, who: Who, input: NewRelay, now = Date.now()): Promise<RelayView> {
  const id = newId("rly");
  const { password: clear, ...given } = input;
  const hasPassword = clear != null;
  const fields = checkRelay(s, { ...given, port: given.port ?? DEFAULT_PORTS[given.security], username: given.username ?? null }, hasPassword);
  const password = clear != null ? await sealPassword(s, who.accountId, id, clear) : null;
  await s.db.insert(relays).values({
    id,
    accountId: who.accountId,
    name: fields.name,
    host: fields.host,
    port: fields.port,
    security: fields.security,
    username: fields.username,
    password,
    maxPerMinute: fields.max_per_minute,
    maxPerDay: fields.max_per_day,
    createdAt: now,
    updatedAt: now,
  });
  await recordAudit(s, who, { action: "relay.created", target: id, detail: auditDetail(fields, hasPassword) }, now);
  return getRelay(s, who, id);
}

/** What the audit log keeps of a relay: never the password, only whether there is one. */
const auditDetail = (f: Partial<RelayFields>, hasPassword?: boolean) => ({ ...f, ...(hasPassword === undefined ? {} : { has_password: hasPassword }) });

/** The account's relay, or not_found (another account's id too: ids are never confirmed across tenants). */
export async function relayRow(s: Services, who: Who, id: string): Promise<RelayRow> {
  const [row] = await s.db.select().from(relays).where(and(eq(relays.id, id), eq(relays.accountId, who.accountId)));
  if (!row) throw new ServiceError("not_found", `No relay ${id}`);
  return row;
}

export async function getRelay(s: Services, who: Who, id: string): Promise<RelayView> {
  return relayView(await relayRow(s, who, id));
}

/** Newest first, by cursor. */
export async function listRelays(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /rly_\w+/);
  const rows = await s.db
    .select()
    .from(relays)
    .where(and(eq(relays.accountId, who.accountId), afterCursor(relays.createdAt, relays.id, after)))
    .orderBy(desc(relays.createdAt), desc(relays.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, relayView);
}

export async function updateRelay(s: Services, who: Who, input: { id: string; patch: RelayPatch }, now = Date.now()): Promise<RelayView> {
  const { id, patch } = input;
  const row = await relayRow(s, who, id);
  const hasPassword = patch.password === undefined ? row.password !== null : patch.password !== null;
  const fields = checkRelay(
    s,
    {
      name: patch.name ?? row.name,
      host: patch.host ?? row.host,
      port: patch.port ?? row.port,
      security: patch.security ?? row.security,
      username: patch.username === undefined ? row.username : patch.username,
      max_per_minute: patch.max_per_minute ?? row.maxPerMinute,
      max_per_day: patch.max_per_day ?? row.maxPerDay,
    },
    hasPassword,
  );
  const password = typeof patch.password === "string" ? await sealPassword(s, who.accountId, id, patch.password) : patch.password;
  await s.db
    .update(relays)
    .set({
      name: fields.name,
      host: fields.host,
      port: fields.port,
      security: fields.security,
      username: fields.username,
      ...(password === undefined ? {} : { password }),
      maxPerMinute: fields.max_per_minute,
      maxPerDay: fields.max_per_day,
      updatedAt: now,
    })
    .where(and(eq(relays.id, id), eq(relays.accountId, who.accountId)));
  const { password: _secret, ...changed } = patch;
  const passwordChange = patch.password === undefined ? {} : { password: patch.password === null ? "cleared" : "set" };
  await recordAudit(s, who, { action: "relay.updated", target: id, detail: { ...changed, ...passwordChange } }, now);
  return getRelay(s, who, id);
}

/**
 * Deletes the relay unless a sender names it: the check is part of the delete, so a sender made
 * at the same moment cannot end up naming a relay that is gone.
 */
export async function deleteRelay(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<void> {
  const { id } = input;
  const row = await relayRow(s, who, id);
  const deleted = await s.db.$client.execute({
    sql: `DELETE FROM relays WHERE id = ?1 AND account_id = ?2
          AND NOT EXISTS (SELECT 1 FROM senders, json_each(senders.relay_ids) WHERE senders.account_id = ?2 AND json_each.value = ?1)`,
    args: [id, who.accountId],
  });
  if (deleted.rowsAffected === 0) {
    const users = await s.db.$client.execute({
      sql: "SELECT DISTINCT senders.id, senders.from_email FROM senders, json_each(senders.relay_ids) WHERE senders.account_id = ?2 AND json_each.value = ?1 ORDER BY senders.id LIMIT 10",
      args: [id, who.accountId],
    });
    if (users.rows.length === 0) throw new ServiceError("not_found", `No relay ${id}`);
    const named = users.rows.map((r) => `${String(r.id)} (${String(r.from_email)})`).join(", ");
    throw new ServiceError("conflict", `Relay ${id} is used by sender${users.rows.length > 1 ? "s" : ""} ${named}; remove it from them first`);
  }
  await recordAudit(s, who, { action: "relay.deleted", target: id, detail: { name: row.name, host: row.host } }, now);
}

/**
 * The relays as a probe needs them, in the order asked: each password opened from the account's
 * data key and sealed again under the probe transport key (core/secrets.ts probeTransportKey), so
 * neither QStash nor a probe's logs ever hold it in clear. Ids not of the account are not_found.
 */
export async function wireRelays(s: Services, accountId: string, ids: readonly string[]): Promise<RelayWire[]> {
  if (ids.length === 0) return [];
  const rows = await s.db.select().from(relays).where(and(eq(relays.accountId, accountId), inArray(relays.id, [...ids])));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const vault = await vaultOf(s);
  const transport = await probeTransportKey(s.config.PROBE_SECRET);
  return Promise.all(
    ids.map(async (id) => {
      const row = byId.get(id);
      if (!row) throw new ServiceError("not_found", `No relay ${id}`);
      const password = row.password === null ? null : await seal(transport, passwordRef(id), await openPassword(vault, row, row.password));
      return { id, host: row.host, port: row.port, security: row.security, username: row.username, password, max_per_minute: row.maxPerMinute, max_per_day: row.maxPerDay };
    }),
  );
}

/** A password that no longer opens (the account's data key was deleted) is the customer's to set again, not a crash. */
async function openPassword(vault: Vault, row: RelayRow, sealed: string): Promise<string> {
  try {
    return await openSecret(vault, row.accountId, passwordRef(row.id), sealed);
  } catch (e) {
    if (!(e instanceof SecretError)) throw e;
    throw new ServiceError("conflict", `The password of relay ${row.id} can no longer be read (${e.message}); set it again`, undefined, { cause: e });
  }
}

async function countRelayTest(s: Services, accountId: string, now: number): Promise<void> {
  const hour = Math.floor(now / HOUR_MS);
  if ((await s.cache.increment(relayTestCounter(accountId, hour), (2 * HOUR_MS) / 1000)) > RELAY_TESTS_PER_ACCOUNT_HOUR) {
    const retryAfterS = Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - now) / 1000));
    throw new ServiceError("rate_limited", `An account may test relays ${RELAY_TESTS_PER_ACCOUNT_HOUR} times an hour; retry in ${retryAfterS} s`, retryAfterS);
  }
}

/**
 * Asks a live probe to connect to the relay, upgrade and authenticate (nothing is sent), and
 * records the outcome on the relay. No live probe, or none answering: probe_unavailable.
 */
export async function testRelay(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<RelayTestResult> {
  const { id } = input;
  await relayRow(s, who, id);
  await countRelayTest(s, who.accountId, now);
  const [relay] = await wireRelays(s, who.accountId, [id]);
  const answer = await askProbes(s, (probe) => s.probeClient.testRelay(probe, relay!, RELAY_TEST_BUDGET_MS));
  await s.db
    .update(relays)
    .set({ testedAt: now, testOk: answer.ok, testDetail: answer.detail.slice(0, 1_024) })
    .where(and(eq(relays.id, id), eq(relays.accountId, who.accountId)));
  await recordAudit(s, who, { action: "relay.tested", target: id, detail: { ok: answer.ok, stage: answer.stage } }, now);
  return answer;
}
