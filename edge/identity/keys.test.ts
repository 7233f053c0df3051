// API keys inside workerd against the real sqld: an account holds at most MAX_ACTIVE_KEYS
// unrevoked keys (each is a rate-limit allowance and a credential), decided by the insert itself;
// a publishable key (issue 25) is made with its allowed origins, listed with them and audited.
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { accounts, members } from "../../db/schema.ts";
import { API_ERRORS } from "../api/errors.ts";
import { listAudit } from "../audit/audit.ts";
import { call, serviceCode as code, testDb as db, testServices as services } from "../testing.ts";
import { checkApiKey, createApiKey, listApiKeys, MAX_ACTIVE_KEYS, revokeApiKey } from "./keys.ts";

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

describe("a publishable key", () => {
  const origins = "https://Shop.example/\nhttps://*.brand.example, http://localhost:3000";

  it("is mx_pk_ + 32 base62, live, made with its origins normalised, listed with them, audited, and known to the key check as publishable", async () => {
    const { who } = await ownedAccount();
    const made = await createApiKey(services(), who, { name: "Sign-up form", kind: "publishable", origins });
    expect(made.key).toMatch(/^mx_pk_[0-9A-Za-z]{32}$/);
    const want = ["https://shop.example", "https://*.brand.example", "http://localhost:3000"];
    expect(made.view).toMatchObject({ kind: "publishable", mode: "live", origins: want, prefix: made.key.slice(0, 10) });
    const listed = (await listApiKeys(services(), who)).find((k) => k.id === made.view.id);
    expect(listed).toMatchObject({ kind: "publishable", origins: want, revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(made.key);
    const entry = (await listAudit(services(), who, { limit: 5, action: "api_key.created" })).data[0];
    expect(entry).toMatchObject({ target: made.view.id, actor: who.actor, detail: { name: "Sign-up form", mode: "live", kind: "publishable", origins: want } });
    expect(await checkApiKey(services(), made.key)).toMatchObject({ ok: true, kind: "publishable", origins: want, keyId: made.view.id });
    // A secret key made beside it is what it always was.
    const secret = await createApiKey(services(), who, { name: "CRM", mode: "test" });
    expect(secret.key).toMatch(/^mx_test_/);
    expect(secret.view).toMatchObject({ kind: "secret", origins: null });
    expect(await checkApiKey(services(), secret.key)).toMatchObject({ ok: true, kind: "secret", origins: null });
  });

  it("needs at least one valid origin: no path, no wildcard but a leading *., http only for localhost; nothing is made otherwise", async () => {
    const { who } = await ownedAccount();
    for (const bad of ["", "https://shop.example/signup", "http://shop.example", "https://*.co.uk", "https://shop.*.example", "*", "shop.example"]) {
      const err = await createApiKey(services(), who, { name: "widget", kind: "publishable", origins: bad }).then(() => null, (e: { code: string; message: string }) => e);
      expect([bad, err?.code]).toEqual([bad, "validation_failed"]);
      expect(err?.message).toMatch(/^origins: /);
    }
    expect(await listApiKeys(services(), who)).toEqual([]);
  });

  it("counts among the account's keys, and is another account's business: not listed there, not revocable from there", async () => {
    const { who, made } = await ownedAccount(MAX_ACTIVE_KEYS - 1);
    const pk = await createApiKey(services(), who, { name: "widget", kind: "publishable", origins: ["https://shop.example"] });
    expect(await code(createApiKey(services(), who, { name: "one more", kind: "publishable", origins: ["https://shop.example"] }))).toBe("conflict");
    const other = await ownedAccount();
    expect((await listApiKeys(services(), other.who)).map((k) => k.id)).not.toContain(pk.view.id);
    expect(await code(revokeApiKey(services(), other.who, pk.view.id))).toBe("not_found");
    expect(await checkApiKey(services(), pk.key)).toMatchObject({ ok: true });
    // Its own account revokes it: refused from the next request.
    await revokeApiKey(services(), who, pk.view.id);
    expect(await checkApiKey(services(), pk.key)).toMatchObject({ ok: false, code: "key_revoked" });
    expect(made).toHaveLength(MAX_ACTIVE_KEYS - 1);
  });
});
