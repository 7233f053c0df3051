// API keys of an account: made here and shown once; stored as SHA-256 with a short prefix.
import { recordAudit, type RequestMeta } from "./audit.ts";
import { and, desc, eq, isNull } from "drizzle-orm";
import { generateApiKey, hashApiKey, keyPrefix, type KeyMode } from "../../core/apikeys.ts";
import { newId } from "../../core/ids.ts";
import { apiKeys } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import type { EdgeDb } from "../db.ts";

export interface KeyView {
  id: string;
  name: string;
  mode: KeyMode;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export async function createApiKey(db: EdgeDb, accountId: string, createdBy: string, name: string, mode: KeyMode, request: RequestMeta | null = null): Promise<{ key: string; view: KeyView }> {
  const label = name.trim().slice(0, 100);
  if (!label) throw new ServiceError("validation_failed", "name: give the key a name, such as where it will be used");
  const key = generateApiKey(mode);
  const [row] = await db
    .insert(apiKeys)
    .values({ id: newId("key"), accountId, name: label, mode, prefix: keyPrefix(key), hash: await hashApiKey(key), createdBy })
    .returning();
  await recordAudit(db, request, { accountId, actor: createdBy, action: "api_key.created", target: row!.id, detail: { name: label, mode } });
  return { key, view: toView(row!) };
}

export async function listApiKeys(db: EdgeDb, accountId: string): Promise<KeyView[]> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.accountId, accountId)).orderBy(desc(apiKeys.createdAt));
  return rows.map(toView);
}

/** Revokes one of the account's keys; revoking twice is harmless, another account's key is not found. */
export async function revokeApiKey(db: EdgeDb, accountId: string, keyId: string, actor: string, request: RequestMeta | null = null): Promise<void> {
  const [row] = await db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId)));
  if (!row) throw new ServiceError("not_found", `No key ${keyId}`);
  const revoked = await db.update(apiKeys).set({ revokedAt: Date.now() }).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt))).returning({ id: apiKeys.id });
  if (revoked.length > 0) await recordAudit(db, request, { accountId, actor, action: "api_key.revoked", target: keyId });
}

const toView = (r: typeof apiKeys.$inferSelect): KeyView => ({
  id: r.id, name: r.name, mode: r.mode, prefix: r.prefix, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt, revokedAt: r.revokedAt,
});
