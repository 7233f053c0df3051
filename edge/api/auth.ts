// API key authentication: `Authorization: Bearer mx_live_…|mx_test_…` (secret keys; publishable
// ones are edge/api/publishable.ts's), checked by the identity capability (edge/identity/keys.ts
// checkApiKey); here only the header, the error envelope and the context's accountId/keyId. In
// local mode the dev key's account is made on its first use.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ensureDevAccount } from "../identity/accounts.ts";
import { checkApiKey } from "../identity/keys.ts";
import type { Who } from "../context.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

/** The ledger's actor for work asked with the dev key, which has no key row. */
export const DEV_KEY_ACTOR = "dev_key";

/** The key's account and the key as the actor: the `who` every service takes. */
export const whoOf = (c: Context<AppEnv>): Who => ({ accountId: c.var.accountId, actor: c.var.keyId ?? DEV_KEY_ACTOR });

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!m) throw new ApiError("unauthorized", "Send your API key as `Authorization: Bearer mx_live_…`");
  const { services } = c.var;
  const key = await checkApiKey(services, m[1]!);
  if (!key.ok) throw new ApiError(key.code, key.message);
  // edge/api/publishable.ts refuses one by its shape first; this holds whatever its shape.
  if (key.kind === "publishable") throw new ApiError("publishable_key_forbidden", "A publishable key can only make single checks from a web page; use a secret key");
  if (key.dev) await ensureDevAccount(services.db, services.config.TURSO_DATABASE_URL);
  c.set("accountId", key.accountId);
  c.set("keyId", key.keyId);
  await next();
});
