// Secrets we must read back (webhook signing secrets now; relay and mailbox passwords next), sealed
// at rest with AES-256-GCM through Web Crypto (the same code in workerd and Node). Each value gets
// a random 96-bit nonce, and the record's purpose and id as associated data, so a ciphertext copied
// to another row or column does not open. A sealed value names the key that sealed it:
//
//   v1.<key id>.<base64url nonce>.<base64url ciphertext and tag>
//
// Envelope encryption (docs/decisions/008-secrets-at-rest.md): each account's secrets are sealed
// under its own random data key, and the data key is stored sealed ("wrapped") under a master key
// of MXRAY_ENCRYPTION_KEYS (`id:base64key,…`; the first seals, all open). Rotating the master key
// rewraps the data keys only; deleting an account's data key makes its secrets unreadable at once.
// Pure: no I/O. The data keys' table is the edge's (edge/secrets/secrets.ts).

const encoder = new TextEncoder();
/** Bytes on a plain ArrayBuffer, as Web Crypto's types ask. */
type Bytes = Uint8Array<ArrayBuffer>;
const utf8 = (s: string): Bytes => new Uint8Array(encoder.encode(s));
const VERSION = "v1";
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** What a sealed value is for and whose it is: bound to the ciphertext as associated data. */
export interface SecretRef {
  /** e.g. "webhook_endpoint.secret", "data_key". */
  purpose: string;
  /** The id of the row that holds the value (an endpoint id; the account id for a data key). */
  recordId: string;
}

export type SecretErrorCode = "malformed" | "unknown_key" | "unreadable";

/** Why a sealed value did not open; never carries key material or plaintext. */
export class SecretError extends Error {
  constructor(
    readonly code: SecretErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "SecretError";
  }
}

export interface KeySpec {
  id: string;
  bytes: Bytes;
}

export interface SealingKey {
  id: string;
  key: CryptoKey;
}

/** Keys that may open a value, by id, and where they come from (said when one is missing). */
export interface KeySet {
  byId: ReadonlyMap<string, SealingKey>;
  source: string;
}

/** The master keys: `primary` (the first of MXRAY_ENCRYPTION_KEYS) seals, every key opens. */
export interface Keyring extends KeySet {
  primary: SealingKey;
}

function fromBase64(s: string): Bytes | null {
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(std)) return null;
  try {
    return Uint8Array.from(atob(std), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function toBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Parses MXRAY_ENCRYPTION_KEYS: comma-separated `id:base64key` pairs, each key 32 bytes (e.g.
 * `k2:$(openssl rand -base64 32)`), ids unique. Messages name the entry, never its key.
 */
export function parseEncryptionKeys(raw: string): { ok: true; keys: KeySpec[] } | { ok: false; message: string } {
  const entries = raw.split(",").map((e) => e.trim()).filter((e) => e.length > 0);
  if (entries.length === 0) return { ok: false, message: "no keys: give at least one `id:base64key` pair (32-byte keys)" };
  const keys: KeySpec[] = [];
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(":");
    const id = colon < 0 ? "" : entry.slice(0, colon);
    if (!KEY_ID.test(id)) return { ok: false, message: `entry ${i + 1} is not \`id:base64key\` with an id of letters, digits, _ or - (at most 32)` };
    if (keys.some((k) => k.id === id)) return { ok: false, message: `key id ${id} appears twice` };
    const bytes = fromBase64(entry.slice(colon + 1));
    if (!bytes) return { ok: false, message: `key ${id} is not base64` };
    if (bytes.length !== KEY_BYTES) return { ok: false, message: `key ${id} is ${bytes.length} bytes; AES-256 needs ${KEY_BYTES} (e.g. openssl rand -base64 32)` };
    keys.push({ id, bytes });
  }
  return { ok: true, keys };
}

async function importAes(id: string, bytes: Bytes): Promise<SealingKey> {
  // Not extractable: once imported, a key's bytes cannot be read back out of Web Crypto.
  return { id, key: await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]) };
}

export async function importKeyring(specs: readonly KeySpec[], source = "MXRAY_ENCRYPTION_KEYS"): Promise<Keyring> {
  if (specs.length === 0) throw new SecretError("unknown_key", `${source} holds no key`);
  const keys = await Promise.all(specs.map((s) => importAes(s.id, s.bytes)));
  return { primary: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])), source };
}

function associatedData(keyId: string, ref: SecretRef): Bytes {
  return utf8(JSON.stringify(["mxray-sealed", VERSION, keyId, ref.purpose, ref.recordId]));
}

/** Seals `plaintext` under `key` for `ref`, with a fresh random nonce. */
export async function seal(key: SealingKey, ref: SecretRef, plaintext: Bytes | string): Promise<string> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const data = typeof plaintext === "string" ? utf8(plaintext) : plaintext;
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: associatedData(key.id, ref) }, key.key, data));
  return `${VERSION}.${key.id}.${toBase64url(nonce)}.${toBase64url(ct)}`;
}

/** The id of the key a sealed value names, or null when the value is not sealed (e.g. a legacy clear value). */
export function sealedKeyId(value: string): string | null {
  const parts = value.split(".");
  return parts.length === 4 && parts[0] === VERSION && KEY_ID.test(parts[1]!) ? parts[1]! : null;
}

export const isSealed = (value: string): boolean => sealedKeyId(value) !== null;

/**
 * Opens a sealed value for `ref`. Throws SecretError: `unknown_key` when its key is not in `keys`,
 * `unreadable` when the key is wrong or the value was changed or moved to another record or purpose.
 */
export async function open(keys: KeySet, ref: SecretRef, sealed: string): Promise<Bytes> {
  const keyId = sealedKeyId(sealed);
  if (keyId === null) throw new SecretError("malformed", `the ${ref.purpose} of ${ref.recordId} is not a sealed value`);
  const key = keys.byId.get(keyId);
  if (!key) throw new SecretError("unknown_key", `the ${ref.purpose} of ${ref.recordId} is sealed under key ${keyId}, which ${keys.source} does not hold`);
  const [, , nonceText, ctText] = sealed.split(".");
  const nonce = fromBase64(nonceText!);
  const ct = fromBase64(ctText!);
  if (!nonce || nonce.length !== NONCE_BYTES || !ct || ct.length < 16) throw new SecretError("malformed", `the ${ref.purpose} of ${ref.recordId} is not a sealed value`);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: associatedData(keyId, ref) }, key.key, ct));
  } catch {
    throw new SecretError("unreadable", `the ${ref.purpose} of ${ref.recordId} does not open under key ${keyId}: the value was changed or belongs to another record`);
  }
}

export async function openString(keys: KeySet, ref: SecretRef, sealed: string): Promise<string> {
  return new TextDecoder().decode(await open(keys, ref, sealed));
}

// ---- Envelope: one data key per account, wrapped by the master keyring ----

export const DATA_KEY_PURPOSE = "data_key";

const dataKeyRef = (accountId: string): SecretRef => ({ purpose: DATA_KEY_PURPOSE, recordId: accountId });

/** A data key's id (`dk_…`): what the account's sealed values name, so a replaced data key fails as `unknown_key`. */
export function newDataKeyId(): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  return `dk_${Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => alphabet[b % 36]).join("")}`;
}

/** A new random AES-256 data key for `accountId`: its id, the key to seal with, and its wrapped form to store. */
export async function newDataKey(keyring: Keyring, accountId: string): Promise<{ id: string; key: SealingKey; wrapped: string }> {
  const raw = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const id = newDataKeyId();
  const [key, wrapped] = await Promise.all([importAes(id, raw), seal(keyring.primary, dataKeyRef(accountId), raw)]);
  raw.fill(0);
  return { id, key, wrapped };
}

/** The account's data key from its stored (wrapped) form: opens only under a master key, for that account. */
export async function unwrapDataKey(keyring: Keyring, accountId: string, dataKeyId: string, wrapped: string): Promise<SealingKey> {
  const raw = await open(keyring, dataKeyRef(accountId), wrapped);
  try {
    if (raw.length !== KEY_BYTES) throw new SecretError("malformed", `the data key of ${accountId} is not ${KEY_BYTES} bytes`);
    return await importAes(dataKeyId, raw);
  } finally {
    raw.fill(0);
  }
}

/** The data key wrapped under the keyring's primary key; null when it already is. */
export async function rewrapDataKey(keyring: Keyring, accountId: string, wrapped: string): Promise<string | null> {
  if (sealedKeyId(wrapped) === keyring.primary.id) return null;
  const raw = await open(keyring, dataKeyRef(accountId), wrapped);
  try {
    return await seal(keyring.primary, dataKeyRef(accountId), raw);
  } finally {
    raw.fill(0);
  }
}

/** The keys that open an account's values: its one data key. */
export const dataKeySet = (key: SealingKey): KeySet => ({ byId: new Map([[key.id, key]]), source: "the account's data key" });

// ---- In transit to a probe: relay passwords ride in send batches sealed under the probe secret ----

/**
 * The key that seals what the edge hands a probe (relay passwords in send batches, which QStash
 * carries and stores): AES-256-GCM derived by HKDF-SHA-256 from PROBE_SECRET, which both hold, so
 * neither QStash nor its logs ever see a password in clear. Rotating PROBE_SECRET rotates it.
 */
export async function probeTransportKey(probeSecret: string): Promise<SealingKey & KeySet> {
  const base = await crypto.subtle.importKey("raw", utf8(probeSecret), "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: utf8("mxray-probe-transport"), info: utf8("v1") },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  const sealing: SealingKey = { id: "probe", key };
  return { ...sealing, byId: new Map([["probe", sealing]]), source: "PROBE_SECRET" };
}
