// API keys: `mx_live_…` / `mx_test_…` (secret) or `mx_pk_…` (publishable, issue 25) followed by
// 32 random base62 characters (~190 bits). The key is shown once; we store its SHA-256 (a random
// key this long needs no salt or slow hash) and a short prefix to show in lists.
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS = 32;
export const KEY_PATTERN = /^mx_(live|test|pk)_[0-9A-Za-z]{32}$/;
export const KEY_MODES = ["live", "test"] as const;
export type KeyMode = (typeof KEY_MODES)[number];
/** secret keys reach the whole API; publishable keys (`mx_pk_…`) only the single check, from allowed origins. */
export const KEY_KINDS = ["secret", "publishable"] as const;
export type KeyKind = (typeof KEY_KINDS)[number];
/** What every publishable key starts with: enough to refuse one wherever it does not belong. */
export const PUBLISHABLE_KEY_PREFIX = "mx_pk_";
/**
 * A publishable key's mode: its checks are real ones, charged like any (it has no test mode of
 * its own; a site tries the widget with a key of its own account, on a loopback origin).
 */
export const PUBLISHABLE_KEY_MODE: KeyMode = "live";

function randomPart(): string {
  let out = "";
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  while (out.length < RANDOM_CHARS) {
    for (const b of crypto.getRandomValues(new Uint8Array(48))) {
      if (b < 248 && out.length < RANDOM_CHARS) out += BASE62[b % 62];
    }
  }
  return out;
}

export function generateApiKey(mode: KeyMode): string {
  return `mx_${mode}_${randomPart()}`;
}

export function generatePublishableKey(): string {
  return `${PUBLISHABLE_KEY_PREFIX}${randomPart()}`;
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What lists show: the kind or mode (`mx_live_`, `mx_pk_`) and the first four random characters. */
export function keyPrefix(key: string): string {
  return key.slice(0, key.indexOf("_", "mx_".length) + 1 + 4);
}

/** A well-formed key's mode (a publishable key's is PUBLISHABLE_KEY_MODE), or null. */
export function keyMode(key: string): KeyMode | null {
  const m = KEY_PATTERN.exec(key);
  if (!m) return null;
  return m[1] === "pk" ? PUBLISHABLE_KEY_MODE : (m[1] as KeyMode);
}

/** A well-formed key's kind, or null. */
export function keyKind(key: string): KeyKind | null {
  const m = KEY_PATTERN.exec(key);
  if (!m) return null;
  return m[1] === "pk" ? "publishable" : "secret";
}
