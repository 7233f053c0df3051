// An address kept only as its hash (issue 25, docs/data-protection.md): `sha256:<64 hex>` of the
// normalised address (the key ingest and the suppression list use). Erasure leaves one in the
// suppression list, so an erased address that was suppressed stays suppressed, and retention
// leaves one on a finished campaign's recipient, so its unsubscribe link still works. It holds no
// '@', so it can never be taken for, or collide with, an address.

export const TOMBSTONE_PREFIX = "sha256:";

const TOMBSTONE = /^sha256:[0-9a-f]{64}$/;

/** The tombstone of a normalised address (lower-case, A-label domain: core/address.ts parseAddress). */
export async function tombstoneOf(normalized: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(normalized)));
  return TOMBSTONE_PREFIX + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const isTombstone = (value: string): boolean => TOMBSTONE.test(value);
