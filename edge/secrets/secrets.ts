// Secrets at rest (docs/decisions/008-secrets-at-rest.md): the one writer of `data_keys`. Each
// account's secrets are sealed under its own data key (core/secrets.ts), made on first use and
// stored only wrapped by the primary master key of MXRAY_ENCRYPTION_KEYS. Capabilities that keep
// a secret (webhooks now; relays and mailboxes next) seal and open it here, naming its purpose
// and row. No Worker-only types: `npm run secrets:rotate` runs this from Node.
import { eq, inArray, sql } from "drizzle-orm";
import { dataKeySet, importKeyring, newDataKey, openString, rewrapDataKey, seal, SecretError, unwrapDataKey, type KeySpec, type Keyring, type SealingKey, type SecretRef } from "../../core/secrets.ts";
import { dataKeys } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";

export { SecretError };

/** The master keys and the database, with the data keys opened so far (one request, one sweep or one command run). */
export interface Vault {
  db: EdgeDb;
  keyring: Keyring;
  /** Data keys opened by account; null: the account has none. */
  opened: Map<string, Promise<SealingKey | null>>;
}

const keyrings = new WeakMap<readonly KeySpec[], Promise<Keyring>>();
const vaults = new WeakMap<object, Promise<Vault>>();

/** A vault over the keys of a loaded config (imported once per isolate). */
export async function createVault(db: EdgeDb, keys: readonly KeySpec[]): Promise<Vault> {
  let keyring = keyrings.get(keys);
  if (!keyring) keyrings.set(keys, (keyring = importKeyring(keys)));
  return { db, keyring: await keyring, opened: new Map() };
}

/** The vault of a request's services, made on first use. */
export function vaultOf(s: { db: EdgeDb; config: { MXRAY_ENCRYPTION_KEYS: readonly KeySpec[] } }): Promise<Vault> {
  let vault = vaults.get(s);
  if (!vault) vaults.set(s, (vault = createVault(s.db, s.config.MXRAY_ENCRYPTION_KEYS)));
  return vault;
}

async function readDataKey(v: Vault, accountId: string): Promise<SealingKey | null> {
  const [row] = await v.db.select().from(dataKeys).where(eq(dataKeys.accountId, accountId));
  return row ? unwrapDataKey(v.keyring, accountId, row.id, row.wrapped) : null;
}

/** The account's data key, made (and stored wrapped) when it has none. */
async function dataKeyFor(v: Vault, accountId: string): Promise<SealingKey> {
  const known = await (v.opened.get(accountId) ?? null);
  if (known) return known;
  const read = readDataKey(v, accountId).then(async (existing) => {
    if (existing) return existing;
    const made = await newDataKey(v.keyring, accountId);
    // Two first secrets of one account at once: one insert wins, and both use the winner's key.
    const inserted = await v.db.insert(dataKeys).values({ accountId, id: made.id, wrapped: made.wrapped }).onConflictDoNothing().returning({ id: dataKeys.id });
    if (inserted.length > 0) return made.key;
    const winner = await readDataKey(v, accountId);
    if (!winner) throw new SecretError("unknown_key", `the data key of ${accountId} was deleted while it was being made`);
    return winner;
  });
  v.opened.set(accountId, read);
  read.catch(() => v.opened.delete(accountId));
  return read as Promise<SealingKey>;
}

/**
 * Opens the data keys of many accounts in one read, for openSecret to use: a probe's heartbeat
 * carries mailboxes of many accounts. An account without a key, or whose key does not open, fails
 * only its own secrets, when they are opened.
 */
export async function openDataKeys(v: Vault, accountIds: readonly string[]): Promise<void> {
  const missing = [...new Set(accountIds)].filter((id) => !v.opened.has(id));
  if (missing.length === 0) return;
  const rows = await v.db.select().from(dataKeys).where(inArray(dataKeys.accountId, missing));
  const byAccount = new Map(rows.map((r) => [r.accountId, r]));
  for (const accountId of missing) {
    if (v.opened.has(accountId)) continue; // opened by another caller while this read was out
    const row = byAccount.get(accountId);
    const key = row ? unwrapDataKey(v.keyring, accountId, row.id, row.wrapped) : Promise.resolve(null);
    v.opened.set(accountId, key);
    key.catch(() => v.opened.delete(accountId));
  }
}

/** Seals `plaintext` for `ref` under the account's data key. */
export async function sealSecret(v: Vault, accountId: string, ref: SecretRef, plaintext: string): Promise<string> {
  return seal(await dataKeyFor(v, accountId), ref, plaintext);
}

/**
 * Opens a value sealed by sealSecret. Throws SecretError: `unknown_key` when the account's data
 * key is gone (deleted) or was replaced, `unreadable` when the value was moved or changed.
 */
export async function openSecret(v: Vault, accountId: string, ref: SecretRef, sealed: string): Promise<string> {
  let opened = v.opened.get(accountId);
  if (!opened) {
    opened = readDataKey(v, accountId);
    v.opened.set(accountId, opened);
    opened.catch(() => v.opened.delete(accountId));
  }
  const key = await opened;
  if (!key) throw new SecretError("unknown_key", `the ${ref.purpose} of ${ref.recordId} is sealed under a data key that ${accountId} no longer has`);
  return openString(dataKeySet(key), ref, sealed);
}

/**
 * Deletes the account's data key: every secret sealed under it is unreadable from now on, and the
 * next secret sealed for the account gets a new key. Answers whether there was one.
 */
export async function deleteDataKey(v: Vault, accountId: string): Promise<boolean> {
  v.opened.delete(accountId);
  const gone = await v.db.delete(dataKeys).where(eq(dataKeys.accountId, accountId)).returning({ id: dataKeys.id });
  return gone.length > 0;
}

/**
 * Rewraps every data key not yet under the primary master key, `batch` rows a round trip. The
 * secrets under the data keys are untouched: rewrapping is the whole rotation. Each write is
 * conditional on the wrapped value read, so a concurrent rewrap or delete is never undone.
 * Answers how many moved and how many remain under other keys (0 once the old key may go).
 */
export async function rewrapDataKeys(v: Vault, batch = 200, now = Date.now()): Promise<{ rewrapped: number; remaining: number }> {
  // Not LIKE: a key id may hold "_", a LIKE wildcard.
  const prefix = `v1.${v.keyring.primary.id}.`;
  const notPrimary = sql`substr(${dataKeys.wrapped}, 1, ${prefix.length}) <> ${prefix}`;
  let rewrapped = 0;
  let after = "";
  for (;;) {
    const rows = await v.db
      .select({ accountId: dataKeys.accountId, wrapped: dataKeys.wrapped })
      .from(dataKeys)
      .where(sql`${notPrimary} AND ${dataKeys.accountId} > ${after}`)
      .orderBy(dataKeys.accountId)
      .limit(batch);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.accountId;
    const updates = [];
    for (const row of rows) {
      const next = await rewrapDataKey(v.keyring, row.accountId, row.wrapped);
      if (next) updates.push({ sql: "UPDATE data_keys SET wrapped = ?1, updated_at = ?2 WHERE account_id = ?3 AND wrapped = ?4", args: [next, now, row.accountId, row.wrapped] });
    }
    if (updates.length === 0) continue;
    const results = await v.db.$client.batch(updates, "write");
    rewrapped += results.reduce((n, r) => n + r.rowsAffected, 0);
  }
  const [left] = await v.db.select({ n: sql<number>`count(*)` }).from(dataKeys).where(notPrimary);
  return { rewrapped, remaining: Number(left?.n ?? 0) };
}
