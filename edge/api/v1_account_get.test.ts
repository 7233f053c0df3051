import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, keyPrefix } from "../../core/apikeys.ts";
import { DEFAULT_RULES } from "../../core/rules.ts";
import { accounts, apiKeys } from "../../db/schema.ts";
import { createEdgeDb } from "../db.ts";
import { DEV_CREDITS } from "../identity/accounts.ts";
import { DEV_ACCOUNT_ID } from "../identity/keys.ts";

const get = (key?: string) =>
  exports.default.fetch("http://edge.test/api/v1/account", key ? { headers: { authorization: `Bearer ${key}` } } : {});
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

async function accountWithKey() {
  const db = createEdgeDb(env);
  const id = crypto.randomUUID().slice(0, 8);
  const key = generateApiKey("live");
  await db.insert(accounts).values({ id: `acc_${id}`, name: `Team ${id}`, kind: "team", creditBalance: 42 });
  await db.insert(apiKeys).values({ id: `key_${id}`, accountId: `acc_${id}`, name: "ci", mode: "live", prefix: keyPrefix(key), hash: await hashApiKey(key) });
  return { db, id, key };
}

describe("GET /api/v1/account", () => {
  it("answers the key's own account", async () => {
    const { id, key } = await accountWithKey();
    const res = await get(key);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: `acc_${id}`, name: `Team ${id}`, kind: "team", credits: 42, key_id: `key_${id}`, features: { people_data: false }, rules: DEFAULT_RULES, retention_days: null });
  });

  it("refuses a missing, unknown or revoked key", async () => {
    expect([(await get()).status, await code(await get())]).toEqual([401, "unauthorized"]);
    const unknown = await get(generateApiKey("live"));
    expect([unknown.status, await code(unknown)]).toEqual([401, "unauthorized"]);
    const { db, id, key } = await accountWithKey();
    await db.update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, `key_${id}`));
    const revoked = await get(key);
    expect([revoked.status, await code(revoked)]).toEqual([401, "key_revoked"]);
  });

  it("accepts MXRAY_DEV_API_KEY as a local account with credits granted once", async () => {
    const first = await get(env.MXRAY_DEV_API_KEY);
    expect(await first.json()).toMatchObject({ id: DEV_ACCOUNT_ID, credits: DEV_CREDITS });
    const second = await get(env.MXRAY_DEV_API_KEY);
    expect(await second.json()).toMatchObject({ credits: DEV_CREDITS });
  });
});
