// Secrets at rest inside workerd, against the real sqld: each account's data key (made once,
// wrapped by the primary master key, bound to the account), what opens what, crypto-shredding by
// deleting a data key, and a master-key rotation by rewrapping. The Worker's keys are
// TEST_ENCRYPTION_KEYS (vitest.workers.config.ts): t2 seals, t1 still opens.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { thrownCode } from "../../core/testing.ts";
import { newId } from "../../core/ids.ts";
import { parseEncryptionKeys, SecretError, sealedKeyId, type KeySpec } from "../../core/secrets.ts";
import { accounts, dataKeys } from "../../db/schema.ts";
import { ConfigError, ConfigSchema, loadConfig } from "../config.ts";
import { testDb as db } from "../testing.ts";
import { createVault, deleteDataKey, openSecret, rewrapDataKeys, sealSecret, vaultOf, type Vault } from "./secrets.ts";

const keys = (ids: string[]): KeySpec[] => loadConfig(env).MXRAY_ENCRYPTION_KEYS.filter((k) => ids.includes(k.id)).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
const ref = (recordId: string) => ({ purpose: "webhook_endpoint.secret", recordId });

async function account(): Promise<string> {
  const id = newId("acc");
  await db().insert(accounts).values({ id, name: id, kind: "personal" });
  return id;
}

const code = (work: Promise<unknown>) => thrownCode(work, SecretError);

const wrappedOf = async (accountId: string) => (await db().select().from(dataKeys).where(eq(dataKeys.accountId, accountId)))[0];

describe("MXRAY_ENCRYPTION_KEYS in the Worker's configuration", () => {
  it("is required, and a bad value fails naming the field and the entry, never the key", () => {
    const { MXRAY_ENCRYPTION_KEYS: _, ...without } = env;
    const missing = ConfigSchema.safeParse(without);
    expect(missing.success).toBe(false);
    expect(missing.error!.issues.map((i) => i.path.join("."))).toEqual(["MXRAY_ENCRYPTION_KEYS"]);
    const short = `k1:${btoa("sixteen byte key")}`;
    expect(() => loadConfig({ ...env, MXRAY_ENCRYPTION_KEYS: short })).toThrow(new ConfigError("Worker configuration: MXRAY_ENCRYPTION_KEYS: key k1 is 16 bytes; AES-256 needs 32 (e.g. openssl rand -base64 32)"));
    expect(loadConfig(env).MXRAY_ENCRYPTION_KEYS.map((k) => k.id)).toEqual(["t2", "t1"]);
  });
});

describe("data keys", () => {
  it("gives each account one data key, made on first use and wrapped under the primary master key", async () => {
    const [a, b] = [await account(), await account()];
    const v = await createVault(db(), keys(["t2", "t1"]));
    const sa1 = await sealSecret(v, a, ref("whk_1"), "whsec_a1");
    const sa2 = await sealSecret(await createVault(db(), keys(["t2", "t1"])), a, ref("whk_2"), "whsec_a2");
    const sb = await sealSecret(v, b, ref("whk_1"), "whsec_b");
    const [ka, kb] = [await wrappedOf(a), await wrappedOf(b)];
    expect(sealedKeyId(ka!.wrapped)).toBe("t2");
    // Both of a's secrets, sealed by two vaults, name a's one data key; b has its own.
    expect([sealedKeyId(sa1), sealedKeyId(sa2), sealedKeyId(sb)]).toEqual([ka!.id, ka!.id, kb!.id]);
    expect(ka!.id).not.toBe(kb!.id);
    const fresh = await createVault(db(), keys(["t2", "t1"]));
    expect(await openSecret(fresh, a, ref("whk_1"), sa1)).toBe("whsec_a1");
    expect(await openSecret(fresh, a, ref("whk_2"), sa2)).toBe("whsec_a2");
    // The same record id in another account: another data key, so nothing opens across tenants.
    expect(await code(openSecret(fresh, b, ref("whk_1"), sa1))).toBe("unknown_key");
    // Moved to another row of the same account: the associated data no longer matches.
    expect(await code(openSecret(fresh, a, ref("whk_2"), sa1))).toBe("unreadable");
  });

  it("makes one data key when an account's first two secrets are sealed at once", async () => {
    const a = await account();
    const sealed = await Promise.all([1, 2, 3].map(async (n) => sealSecret(await createVault(db(), keys(["t2", "t1"])), a, ref(`whk_${n}`), `whsec_${n}`)));
    const key = await wrappedOf(a);
    expect(sealed.map(sealedKeyId)).toEqual([key!.id, key!.id, key!.id]);
    const v = await createVault(db(), keys(["t2", "t1"]));
    expect(await Promise.all(sealed.map((x, i) => openSecret(v, a, ref(`whk_${i + 1}`), x)))).toEqual(["whsec_1", "whsec_2", "whsec_3"]);
  });

  it("deleting an account's data key makes its secrets unreadable at once; the next secret gets a new key", async () => {
    const a = await account();
    const v = await createVault(db(), keys(["t2", "t1"]));
    const sealed = await sealSecret(v, a, ref("whk_1"), "whsec_a");
    expect(await openSecret(v, a, ref("whk_1"), sealed)).toBe("whsec_a");
    expect(await deleteDataKey(v, a)).toBe(true);
    expect(await code(openSecret(v, a, ref("whk_1"), sealed))).toBe("unknown_key");
    expect(await code(openSecret(await createVault(db(), keys(["t2", "t1"])), a, ref("whk_1"), sealed))).toBe("unknown_key");
    const next = await sealSecret(v, a, ref("whk_2"), "whsec_next");
    expect(sealedKeyId(next)).not.toBe(sealedKeyId(sealed));
    expect(await code(openSecret(v, a, ref("whk_1"), sealed))).toBe("unknown_key");
  });

  it("fails clearly when the master key that wrapped a data key is not configured", async () => {
    const a = await account();
    const sealed = await sealSecret(await createVault(db(), keys(["t1"])), a, ref("whk_1"), "whsec_a");
    const err = await openSecret(await createVault(db(), keys(["t2"])), a, ref("whk_1"), sealed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretError);
    expect((err as SecretError).code).toBe("unknown_key");
    expect((err as SecretError).message).toBe(`the data_key of ${a} is sealed under key t1, which MXRAY_ENCRYPTION_KEYS does not hold`);
  });

  it("rotates the master key by rewrapping data keys: old secrets stay readable and the old key can go", async () => {
    const a = await account();
    const before: Vault = await createVault(db(), keys(["t1"]));
    const sealed = await sealSecret(before, a, ref("whk_1"), "whsec_a");
    const { id, wrapped } = (await wrappedOf(a))!;
    expect(sealedKeyId(wrapped)).toBe("t1");

    // t2 first, t1 still listed: the old value opens before the command runs.
    const during = await createVault(db(), keys(["t2", "t1"]));
    expect(await openSecret(during, a, ref("whk_1"), sealed)).toBe("whsec_a");
    const moved = await rewrapDataKeys(during, 1);
    expect(moved.rewrapped).toBeGreaterThanOrEqual(1);
    expect(moved.remaining).toBe(0);
    const after = (await wrappedOf(a))!;
    expect([after.id, sealedKeyId(after.wrapped)]).toEqual([id, "t2"]);
    expect(await rewrapDataKeys(during)).toEqual({ rewrapped: 0, remaining: 0 });

    // t1 dropped: the secret, untouched, still opens.
    expect(await openSecret(await createVault(db(), keys(["t2"])), a, ref("whk_1"), sealed)).toBe("whsec_a");
  });

  it("builds one vault per request's services, over the configured keys", async () => {
    const s = { db: db(), config: loadConfig(env) };
    expect(await vaultOf(s)).toBe(await vaultOf(s));
    expect((await vaultOf(s)).keyring.primary.id).toBe("t2");
    const parsed = parseEncryptionKeys(env.MXRAY_ENCRYPTION_KEYS);
    expect(parsed.ok && parsed.keys.map((k) => k.id)).toEqual(["t2", "t1"]);
  });
});
