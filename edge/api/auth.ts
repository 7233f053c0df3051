// API key authentication: `Authorization: Bearer mx_live_…|mx_test_…`. Keys are looked up by
// their SHA-256 on every request (no cache: a revocation holds from the next request); a revoked
// key gets its own code so a client can tell it from a typo. A key acts only while the person who
// made it is a member of its account whose role may make keys: the same lookup joins their
// membership. In local mode (MXRAY_MODE=local) MXRAY_DEV_API_KEY is accepted as the key of a
// local account with ample credits; in a deployment it is an unknown key like any other.
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { hashApiKey } from "../../core/apikeys.ts";
import { constantTimeEqual } from "../../core/signing.ts";
import { can } from "../../core/roles.ts";
import { accounts, apiKeys, members } from "../../db/schema.ts";
import { localMode, type Config } from "../config.ts";
import { ensureDevAccount } from "../identity/accounts.ts";
import { revokeKeysOfFormerMaker } from "../identity/keys.ts";
import type { Who } from "../context.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

/** The ledger's actor for work asked with the dev key, which has no key row. */
export const DEV_KEY_ACTOR = "dev_key";

/** The key's account and the key as the actor: the `who` every service takes. */
export const whoOf = (c: Context<AppEnv>): Who => ({ accountId: c.var.accountId, actor: c.var.keyId ?? DEV_KEY_ACTOR });

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

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new ApiError("unauthorized", "Send your API key as `Authorization: Bearer mx_live_…`");
  const key = m[1]!;
  const { db, config } = c.var.services;
  const hash = await hashApiKey(key);
  if (await isDevKeyHash(config, hash)) {
    c.set("accountId", await ensureDevAccount(db, config.TURSO_DATABASE_URL));
    c.set("keyId", null);
    return next();
  }
  // One query: the key, its account, and its maker's membership there (the members primary key).
  const [found] = await db
    .select({ key: apiKeys, disabledReason: accounts.disabledReason, disabledAt: accounts.disabledAt, makerRole: members.role })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .leftJoin(members, and(eq(members.accountId, apiKeys.accountId), eq(members.userId, apiKeys.createdBy)))
    .where(eq(apiKeys.hash, hash));
  if (!found) throw new ApiError("unauthorized", "Unknown API key");
  const row = found.key;
  if (row.revokedAt !== null) throw new ApiError("key_revoked", "This API key was revoked");
  // A key with no recorded maker (older keys) stays valid until an owner or admin revokes it.
  if (row.createdBy !== null && (found.makerRole === null || !can(found.makerRole, "keys:manage"))) {
    // Missed by whatever changed the membership (a change made before revocations existed, or
    // around the services): revoked now, for the keys page and the audit log too.
    c.executionCtx.waitUntil(revokeKeysOfFormerMaker(db, row.accountId, row.createdBy).catch(() => undefined));
    throw new ApiError("key_revoked", "This API key was revoked: the person who made it is no longer an owner or admin of its account");
  }
  if (found.disabledAt !== null) throw new ApiError("account_disabled", `This account is disabled: ${found.disabledReason ?? "ask support"}`);
  c.set("accountId", row.accountId);
  c.set("keyId", row.id);
  const now = Date.now();
  if (row.lastUsedAt === null || now - row.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    c.executionCtx.waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id)).then(() => undefined, () => undefined));
  }
  await next();
});
