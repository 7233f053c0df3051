// API keys: `mx_live_…` / `mx_test_…` followed by 32 random base62 characters (~190 bits). The
// key is shown once; we store its SHA-256 (a random key this long needs no salt or slow hash)
// and a short prefix to show in lists.
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS = 32;
export const KEY_PATTERN = /^mx_(live|test)_[0-9A-Za-z]{32}$/;
export const KEY_MODES = ["live", "test"] as const;
export type KeyMode = (typeof KEY_MODES)[number];
/** secret keys reach the whole API; publishable keys (`mx_pk_…`) only the single check, from allowed origins. */
export const KEY_KINDS = ["secret", "publishable"] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export function generateApiKey(mode: KeyMode): string {
  let out = "";
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  while (out.length < RANDOM_CHARS) {
    for (const b of crypto.getRandomValues(new Uint8Array(48))) {
      if (b < 248 && out.length < RANDOM_CHARS) out += BASE62[b % 62];
    }
  }
  return `mx_${mode}_${out}`;
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What lists show: the mode and the first four random characters. */
export function keyPrefix(key: string): string {
  return key.slice(0, "mx_live_".length + 4);
}

export function keyMode(key: string): KeyMode | null {
  const m = KEY_PATTERN.exec(key);
  return m ? (m[1] as KeyMode) : null;
}
