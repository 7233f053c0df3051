// GET /api/v1/account: who the key belongs to, and its credit balance.
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { accounts } from "../../db/schema.ts";
import type { AppEnv } from "./app.ts";
import { requireApiKey } from "./auth.ts";
import { ApiError } from "./errors.ts";

export function registerAccountGet(app: Hono<AppEnv>): void {
  app.get("/api/v1/account", requireApiKey, async (c) => {
    const [acc] = await c.var.db.select().from(accounts).where(eq(accounts.id, c.var.accountId));
    if (!acc) throw new ApiError("not_found", "The key's account no longer exists");
    return c.json({ id: acc.id, name: acc.name, kind: acc.kind, credits: acc.creditBalance, key_id: c.var.keyId });
  });
}
