// API key authentication: `Authorization: Bearer mx_live_…|mx_test_…`, checked by the identity
// capability (edge/identity/keys.ts checkApiKey); here only the header, the error envelope and
// the context's accountId/keyId. In local mode the dev key's account is made on its first use.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { EdgeDb } from "../db.ts";
import { checkApiKey, DEV_ACCOUNT_ID } from "../identity/keys.ts";
import type { AuditWho } from "../audit/audit.ts";
import type { Who } from "../context.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export const DEV_CREDITS = 10_000_000;
/** The ledger's actor for work asked with the dev key, which has no key row. */
export const DEV_KEY_ACTOR = "dev_key";

/** The authenticated key as the actor of what a request does (the audit log's "who"). */
export const apiWho = (c: Context<AppEnv>): AuditWho => ({ actor: c.var.keyId ?? DEV_KEY_ACTOR, request: c.var.services.request });
/** The key's account and the key as the actor: the `who` every service takes. */
export const whoOf = (c: Context<AppEnv>): Who => ({ accountId: c.var.accountId, actor: c.var.keyId ?? DEV_KEY_ACTOR });

/** Databases (by URL) in which this isolate already made the dev account: no write per request. */
const devAccountReady = new Set<string>();

async function ensureDevAccount(db: EdgeDb, databaseUrl: string): Promise<void> {
  if (devAccountReady.has(databaseUrl)) return;
  // One grant ever (idempotency key); the cached balance moves with it in the same write.
  await db.$client.batch(
    [
      { sql: "INSERT INTO accounts (id, name, kind) VALUES (?, 'Local development', 'personal') ON CONFLICT DO NOTHING", args: [DEV_ACCOUNT_ID] },
      {
        sql: "INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, idempotency_key, created_at) VALUES (?, ?, 'grant', 'admin_adjustment', 'system', 'grant:local-dev', ?) ON CONFLICT DO NOTHING",
        args: [DEV_ACCOUNT_ID, DEV_CREDITS, Date.now()],
      },
      { sql: "UPDATE accounts SET credit_balance = credit_balance + ? WHERE changes() = 1 AND id = ?", args: [DEV_CREDITS, DEV_ACCOUNT_ID] },
    ],
    "write",
  );
  devAccountReady.add(databaseUrl);
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!m) throw new ApiError("unauthorized", "Send your API key as `Authorization: Bearer mx_live_…`");
  const { services } = c.var;
  const key = await checkApiKey(services, m[1]!);
  if (!key.ok) throw new ApiError(key.code, key.message);
  if (key.dev) await ensureDevAccount(services.db, services.config.TURSO_DATABASE_URL);
  c.set("accountId", key.accountId);
  c.set("keyId", key.keyId);
  await next();
});
