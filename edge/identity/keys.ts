// API keys: who a request with `Authorization: Bearer mx_…` is (checkApiKey, which establishes
// who someone is and so takes `(services, key)`), and an account's keys, made here and shown once,
// stored as SHA-256 with a short prefix (the rest act for someone: `(services, who, input)`). A key
// acts for the account only while the person who made it may still make keys there: removing them
// or taking that right away revokes their keys (revokeKeysOfStatement), and the key check refuses
// a key whose maker is not such a member any more. A key with no recorded maker (made before
// makers were recorded, or seeded by an operator) stays valid until an owner or admin revokes it.
// In local mode (MXRAY_MODE=local) MXRAY_DEV_API_KEY is the key of a local account with ample
// credits; in a deployment it is an unknown key like any other. A publishable key (`mx_pk_…`,
// issue 25) is made with the origins it may be used from; what it may reach is the API's to
// enforce (edge/api/publishable.ts), so the check says which kind a key is and its origins.
import { and, desc, eq } from "drizzle-orm";
import { generateApiKey, generatePublishableKey, hashApiKey, keyPrefix, PUBLISHABLE_KEY_MODE, type KeyKind, type KeyMode } from "../../core/apikeys.ts";
import { newId } from "../../core/ids.ts";
import { parseAllowedOrigins } from "../../core/origins.ts";
import { can, ROLES } from "../../core/roles.ts";
import { constantTimeEqual } from "../../core/signing.ts";
import { accounts, apiKeys, members } from "../../db/schema.ts";
import { auditStatement, recordAudit, type AuditServices } from "../audit/audit.ts";
import { localMode, type Config } from "../config.ts";
import type { Services, Who } from "../context.ts";
import { systemWho } from "../who.ts";
import { ServiceError } from "../errors.ts";

/**
 * Keys an account may hold unrevoked at once: each is a full rate-limit allowance of its own and
 * a credential to keep safe; an integration needs one or two, and a revoked key frees its place.
 */
export const MAX_ACTIVE_KEYS = 25;

/** The roles that may make keys, and so keep them working, as an SQL list: ('owner', 'admin'). */
export const KEY_MAKER_ROLES_SQL = `(${ROLES.filter((r) => can(r, "keys:manage")).map((r) => `'${r}'`).join(", ")})`;

/** Why keys were revoked without anyone pressing "Revoke" (the audit entry's `reason`). */
export type KeyRevocationReason =
  /** Their maker left or was removed from the team. */
  | "member_removed"
  /** Their maker's new role may not make keys. */
  | "role_changed"
  /** Found at use: the maker was no longer a member who may make keys (a change made elsewhere). */
  | "maker_not_member"
  /** The Clerk organization (the team) was deleted. */
  | "organization_deleted"
  /** The maker's Clerk user was deleted. */
  | "user_deleted";

export interface KeyView {
  id: string;
  name: string;
  mode: KeyMode;
  kind: KeyKind;
  /** A publishable key's allowed origins (core/origins.ts); null for a secret key. */
  origins: string[] | null;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** What a new key is: a secret key of a mode, or a publishable key with its allowed origins (as typed). */
export type NewKey = { name: string; kind?: "secret"; mode: KeyMode } | { name: string; kind: "publishable"; origins: string | readonly string[] };

/**
 * Makes a key for `who`, who must be a member of the account whose role may make keys, and only
 * while the account holds fewer than MAX_ACTIVE_KEYS unrevoked keys (publishable ones count too).
 * Both are checked by the insert itself, so two pages at once cannot pass the cap, nor a
 * just-demoted admin make a key. A publishable key is live (PUBLISHABLE_KEY_MODE).
 */
export async function createApiKey(s: AuditServices, who: Who, input: NewKey, now = Date.now()): Promise<{ key: string; view: KeyView }> {
  const { accountId, actor: createdBy } = who;
  const label = input.name.trim().slice(0, 100);
  if (!label) throw new ServiceError("validation_failed", "name: give the key a name, such as where it will be used");
  let origins: string[] | null = null;
  if (input.kind === "publishable") {
    const parsed = parseAllowedOrigins(input.origins);
    if (!parsed.ok) throw new ServiceError("validation_failed", `origins: ${parsed.message}`);
    origins = parsed.origins;
  }
  const kind: KeyKind = origins ? "publishable" : "secret";
  const mode = input.kind === "publishable" ? PUBLISHABLE_KEY_MODE : input.mode;
  const key = origins ? generatePublishableKey() : generateApiKey(mode);
  const id = newId("key");
  const made = await s.db.$client.execute({
    sql: `INSERT INTO api_keys (id, account_id, name, mode, kind, origins, prefix, hash, created_by, created_at)
          SELECT ?1, ?2, ?3, ?4, ?10, ?11, ?5, ?6, ?7, ?8
          WHERE EXISTS (SELECT 1 FROM members WHERE account_id = ?2 AND user_id = ?7 AND role IN ${KEY_MAKER_ROLES_SQL})
            AND (SELECT count(*) FROM api_keys WHERE account_id = ?2 AND revoked_at IS NULL) < ?9`,
    args: [id, accountId, label, mode, keyPrefix(key), await hashApiKey(key), createdBy, now, MAX_ACTIVE_KEYS, kind, origins ? JSON.stringify(origins) : null],
  });
  if (made.rowsAffected === 0) {
    const [active] = (await s.db.$client.execute({ sql: "SELECT count(*) AS n FROM api_keys WHERE account_id = ? AND revoked_at IS NULL", args: [accountId] })).rows;
    if (Number(active?.n ?? 0) >= MAX_ACTIVE_KEYS) {
      throw new ServiceError("conflict", `This account already has ${MAX_ACTIVE_KEYS} active API keys, the most it may hold; revoke one it no longer uses first`);
    }
    throw new ServiceError("forbidden", "Only an owner or admin of this account can make API keys");
  }
  await recordAudit(s, who, { action: "api_key.created", target: id, detail: { name: label, mode, ...(origins ? { kind, origins } : {}) } }, now);
  return { key, view: { id, name: label, mode, kind, origins, prefix: keyPrefix(key), createdAt: now, lastUsedAt: null, revokedAt: null } };
}

/** The keys of `who`'s account, newest first. */
export async function listApiKeys(s: Pick<Services, "db">, who: Who): Promise<KeyView[]> {
  const rows = await s.db.select().from(apiKeys).where(eq(apiKeys.accountId, who.accountId)).orderBy(desc(apiKeys.createdAt));
  return rows.map(toView);
}

/** Revokes one of the account's keys; revoking twice is harmless, another account's key is not found. */
export async function revokeApiKey(s: AuditServices, who: Who, keyId: string): Promise<void> {
  const done = await s.db.$client.execute({
    sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL RETURNING id",
    args: [Date.now(), keyId, who.accountId],
  });
  if (done.rows.length > 0) {
    await recordAudit(s, who, { action: "api_key.revoked", target: keyId });
    return;
  }
  const [row] = await s.db.select({ id: apiKeys.id, accountId: apiKeys.accountId }).from(apiKeys).where(eq(apiKeys.id, keyId));
  if (!row || row.accountId !== who.accountId) throw new ServiceError("not_found", `No key ${keyId}`);
}

/**
 * The statement that revokes the keys `userId` made in `accountId` unless they are, as the
 * statement runs, a member there whose role may make keys. Put after a membership change in the
 * same batch, it revokes exactly when the change took that right away; with `afterChange`, only
 * if that change (the batch's previous statement) was made at all. Its RETURNING names the keys.
 */
export function revokeKeysOfStatement(accountId: string, userId: string, now: number, opts: { afterChange?: boolean } = {}) {
  return {
    sql: `UPDATE api_keys SET revoked_at = ? WHERE ${opts.afterChange ? "changes() > 0 AND " : ""}account_id = ? AND created_by = ? AND revoked_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM members m WHERE m.account_id = api_keys.account_id AND m.user_id = api_keys.created_by AND m.role IN ${KEY_MAKER_ROLES_SQL})
          RETURNING id`,
    args: [now, accountId, userId],
  };
}

/**
 * Revokes the keys `maker` made in `who`'s account when they no longer may make keys there, with
 * the reason in the audit log: for a change the key check noticed before any service did (one
 * made before revocations existed, or around the services). `who` is the system that noticed, so
 * no request is named in the entries.
 */
export async function revokeKeysOfFormerMaker(s: Pick<Services, "db">, who: Who, maker: string, now = Date.now()): Promise<void> {
  const done = await s.db.$client.execute(revokeKeysOfStatement(who.accountId, maker, now));
  await auditKeysRevoked({ db: s.db, request: null }, who, { keyIds: done.rows.map((r) => String(r.id)), reason: "maker_not_member", maker }, now);
}

/** One `api_key.revoked` entry per key revoked for its maker's sake, saying why and whose. */
export async function auditKeysRevoked(s: AuditServices, who: Who, e: { keyIds: readonly string[]; reason: KeyRevocationReason; maker: string }, now = Date.now()): Promise<void> {
  if (e.keyIds.length === 0) return;
  await s.db.$client.batch(
    e.keyIds.map((id) => auditStatement({ accountId: who.accountId, actor: who.actor, action: "api_key.revoked", target: id, detail: { reason: e.reason, maker: e.maker } }, s.request, now)),
    "write",
  );
}

const toView = (r: typeof apiKeys.$inferSelect): KeyView => ({
  id: r.id, name: r.name, mode: r.mode, kind: r.kind, origins: storedOrigins(r.origins), prefix: r.prefix, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt, revokedAt: r.revokedAt,
});

/** A publishable key's stored origins (a JSON array written by createApiKey); null for a secret key. */
function storedOrigins(json: string | null): string[] | null {
  if (json === null) return null;
  const list: unknown = JSON.parse(json);
  return Array.isArray(list) ? list.filter((o): o is string => typeof o === "string") : [];
}

/** The dev key's account (local mode): it has no key row, so its actor is the API's `dev_key`. */
export const DEV_ACCOUNT_ID = "acc_local_dev";

/** The dev key's digest per parsed config (one per isolate), not one more SHA-256 per request. */
const devKeyHashes = new WeakMap<Config, Promise<string>>();

/**
 * Whether a key's SHA-256 is the dev key's. The dev key trusts the machine: honoured in local mode
 * only, and compared as equal-length digests in constant time, so answer times tell nothing of it.
 */
export async function isDevKeyHash(config: Config, hash: string): Promise<boolean> {
  if (!localMode(config) || !config.MXRAY_DEV_API_KEY) return false;
  let devHash = devKeyHashes.get(config);
  if (!devHash) devKeyHashes.set(config, (devHash = hashApiKey(config.MXRAY_DEV_API_KEY)));
  return constantTimeEqual(hash, await devHash);
}

/** last_used_at is kept to the minute: a write per request would contend with the hot write path. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * What a key is: the account it acts for and its id (the dev key has none), or why it is refused,
 * with a code of its own for a revoked key so a client can tell it from a typo.
 */
export type KeyCheck =
  | { ok: true; dev: true; accountId: typeof DEV_ACCOUNT_ID; keyId: null; kind: "secret"; origins: null }
  | { ok: true; dev: false; accountId: string; keyId: string; kind: KeyKind; origins: string[] | null }
  | { ok: false; code: "unauthorized" | "key_revoked" | "account_disabled"; message: string };

/**
 * Who a key is. Looked up by its SHA-256 on every call (no cache: a revocation holds from the
 * next request), with its account and its maker's membership there in the same query.
 */
export async function checkApiKey(s: Pick<Services, "db" | "config" | "waitUntil">, key: string, now = Date.now()): Promise<KeyCheck> {
  const hash = await hashApiKey(key);
  if (await isDevKeyHash(s.config, hash)) return { ok: true, dev: true, accountId: DEV_ACCOUNT_ID, keyId: null, kind: "secret", origins: null };
  // One query: the key, its account, and its maker's membership there (the members primary key).
  const [found] = await s.db
    .select({ key: apiKeys, disabledReason: accounts.disabledReason, disabledAt: accounts.disabledAt, makerRole: members.role })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .leftJoin(members, and(eq(members.accountId, apiKeys.accountId), eq(members.userId, apiKeys.createdBy)))
    .where(eq(apiKeys.hash, hash));
  if (!found) return { ok: false, code: "unauthorized", message: "Unknown API key" };
  const row = found.key;
  if (row.revokedAt !== null) return { ok: false, code: "key_revoked", message: "This API key was revoked" };
  // A key with no recorded maker (older keys) stays valid until an owner or admin revokes it.
  if (row.createdBy !== null && (found.makerRole === null || !can(found.makerRole, "keys:manage"))) {
    // Missed by whatever changed the membership (a change made before revocations existed, or
    // around the services): revoked now, for the keys page and the audit log too.
    s.waitUntil(revokeKeysOfFormerMaker(s, systemWho(row.accountId), row.createdBy).catch(() => undefined));
    return { ok: false, code: "key_revoked", message: "This API key was revoked: the person who made it is no longer an owner or admin of its account" };
  }
  if (found.disabledAt !== null) return { ok: false, code: "account_disabled", message: `This account is disabled: ${found.disabledReason ?? "ask support"}` };
  if (row.lastUsedAt === null || now - row.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    s.waitUntil(s.db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id)).then(() => undefined, () => undefined));
  }
  return { ok: true, dev: false, accountId: row.accountId, keyId: row.id, kind: row.kind, origins: storedOrigins(row.origins) };
}
