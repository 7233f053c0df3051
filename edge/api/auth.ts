// API key authentication: `Authorization: Bearer mx_live_…|mx_test_…`. Keys are looked up by
// their SHA-256; a revoked key gets its own code so a client can tell it from a typo. In local
// runs MXRAY_DEV_API_KEY is accepted as the key of a local account with ample credits.
import { eq, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { hashApiKey } from "../../core/apikeys.ts";
import { accounts, apiKeys, creditLedger } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export const DEV_ACCOUNT_ID = "acc_local_dev";
export const DEV_CREDITS = 10_000_000;

async function ensureDevAccount(db: EdgeDb): Promise<void> {
  await db.insert(accounts).values({ id: DEV_ACCOUNT_ID, name: "Local development", kind: "personal" }).onConflictDoNothing();
  // One grant ever (idempotency key); the cached balance moves with it in the same batch.
  const granted = await db
    .insert(creditLedger)
    .values({ accountId: DEV_ACCOUNT_ID, delta: DEV_CREDITS, kind: "grant", idempotencyKey: "grant:local-dev" })
    .onConflictDoNothing()
    .returning({ id: creditLedger.id });
  if (granted.length > 0) {
    await db.update(accounts).set({ creditBalance: sql`${accounts.creditBalance} + ${DEV_CREDITS}` }).where(eq(accounts.id, DEV_ACCOUNT_ID));
  }
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new ApiError("unauthorized", "Send your API key as `Authorization: Bearer mx_live_…`");
  const key = m[1]!;
  const { db, config } = c.var.services;
  if (config.MXRAY_DEV_API_KEY && key === config.MXRAY_DEV_API_KEY) {
    await ensureDevAccount(db);
    c.set("accountId", DEV_ACCOUNT_ID);
    c.set("keyId", null);
    return next();
  }
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.hash, await hashApiKey(key)));
  if (!row) throw new ApiError("unauthorized", "Unknown API key");
  if (row.revokedAt !== null) throw new ApiError("key_revoked", "This API key was revoked");
  c.set("accountId", row.accountId);
  c.set("keyId", row.id);
  c.executionCtx.waitUntil(
    db.update(apiKeys).set({ lastUsedAt: Date.now() }).where(eq(apiKeys.id, row.id)).then(() => undefined),
  );
  await next();
});
