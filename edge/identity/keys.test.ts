// API keys inside workerd against the real sqld: an account holds at most MAX_ACTIVE_KEYS
// unrevoked keys (each is a rate-limit allowance and a credential), decided by the insert itself.
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { accounts, members } from "../../db/schema.ts";
import { API_ERRORS } from "../api/errors.ts";
import { call, serviceCode as code, testDb as db, testServices as services } from "../testing.ts";
import { createApiKey, listApiKeys, MAX_ACTIVE_KEYS, revokeApiKey } from "./keys.ts";

/** An account owned by a fresh person, with `keys` keys already made. */
async function ownedAccount(keys = 0) {
  const accountId = newId("acc");
  const owner = `usr_${newId("req").slice(4)}`;
  await db().insert(accounts).values({ id: accountId, name: "keys", kind: "personal", creditBalance: 10 });
  await db().insert(members).values({ accountId, userId: owner, email: `${owner}@example.com`, role: "owner" });
  const made = [];
  for (let i = 0; i < keys; i++) made.push(await createApiKey(services(), { accountId, actor: owner }, { name: `key ${i}`, mode: "test" }));
  return { accountId, owner, made, who: { accountId, actor: owner } };
}

describe("keys per account", () => {
  it(`are at most ${MAX_ACTIVE_KEYS} unrevoked; revoking one makes room`, async () => {
    const { who, made } = await ownedAccount(MAX_ACTIVE_KEYS);
    const over = await createApiKey(services(), who, { name: "one more", mode: "live" }).then(() => null, (e: { code: string; message: string }) => e);
    expect(over?.code).toBe("conflict");
    expect(over?.message).toContain(`${MAX_ACTIVE_KEYS} active API keys`);
    expect(API_ERRORS.conflict).toBe(409);
    expect((await listApiKeys(services(), who)).length).toBe(MAX_ACTIVE_KEYS);
    await revokeApiKey(services(), who, made[0]!.view.id);
    const room = await createApiKey(services(), who, { name: "in its place", mode: "live" });
    expect((await call("/api/v1/account", { key: room.key })).status).toBe(200);
    expect(await code(createApiKey(services(), who, { name: "and another", mode: "live" }))).toBe("conflict");
  });

  it("are counted by the insert itself: two pages at once cannot both take the last place", async () => {
    const { who } = await ownedAccount(MAX_ACTIVE_KEYS - 1);
    const outcomes = await Promise.all([code(createApiKey(services(), who, { name: "a", mode: "live" })), code(createApiKey(services(), who, { name: "b", mode: "live" }))]);
    expect(outcomes.sort()).toEqual(["conflict", "ok"]);
    expect((await listApiKeys(services(), who)).filter((k) => k.revokedAt === null)).toHaveLength(MAX_ACTIVE_KEYS);
  });

  it("are another account's business: a full account leaves others free", async () => {
    await ownedAccount(MAX_ACTIVE_KEYS);
    const other = await ownedAccount();
    expect(await code(createApiKey(services(), other.who, { name: "mine", mode: "live" }))).toBe("ok");
  });
});
