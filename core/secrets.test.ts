import { describe, expect, it } from "vitest";
import { thrownCode } from "./testing.ts";
import {
  dataKeySet,
  importKeyring,
  isSealed,
  newDataKey,
  open,
  openString,
  parseEncryptionKeys,
  rewrapDataKey,
  seal,
  SecretError,
  sealedKeyId,
  unwrapDataKey,
  type KeySpec,
} from "./secrets.ts";

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const keyBytes = (fill: number) => new Uint8Array(32).fill(fill);
const spec = (id: string, fill: number): KeySpec => ({ id, bytes: keyBytes(fill) });
const ref = { purpose: "webhook_endpoint.secret", recordId: "whk_1" };

const code = (work: Promise<unknown>) => thrownCode(work, SecretError);

describe("MXRAY_ENCRYPTION_KEYS", () => {
  it("parses id:base64 pairs in order, standard or url-safe base64, spaces around commas", () => {
    const parsed = parseEncryptionKeys(` k2:${b64(keyBytes(2))} , k1:${b64(keyBytes(0xfb)).replace(/\+/g, "-").replace(/\//g, "_")}`);
    expect(parsed.ok && parsed.keys.map((k) => [k.id, k.bytes[0]])).toEqual([["k2", 2], ["k1", 0xfb]]);
  });

  it.each([
    ["", "no keys"],
    ["k1", "entry 1 is not"],
    [`:${b64(keyBytes(1))}`, "entry 1 is not"],
    [`bad id:${b64(keyBytes(1))}`, "entry 1 is not"],
    [`k1:${b64(keyBytes(1))},k1:${b64(keyBytes(2))}`, "key id k1 appears twice"],
    ["k1:not base64!", "key k1 is not base64"],
    [`k1:${b64(new Uint8Array(16))}`, "key k1 is 16 bytes; AES-256 needs 32"],
  ])("refuses %j (%s) without echoing key material", (raw, message) => {
    const parsed = parseEncryptionKeys(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.message).toContain(message);
      expect(parsed.message).not.toContain(b64(keyBytes(1)));
    }
  });
});

describe("sealing", () => {
  it("round-trips, names its key, and uses a fresh nonce each time", async () => {
    const ring = await importKeyring([spec("k1", 1)]);
    const a = await seal(ring.primary, ref, "whsec_abc");
    const b = await seal(ring.primary, ref, "whsec_abc");
    expect(a).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("whsec_abc");
    expect(sealedKeyId(a)).toBe("k1");
    expect(isSealed("whsec_abc")).toBe(false);
    expect(await openString(ring, ref, a)).toBe("whsec_abc");
    expect(await openString(ring, ref, b)).toBe("whsec_abc");
  });

  it("does not open for another record or purpose (associated data), nor when changed", async () => {
    const ring = await importKeyring([spec("k1", 1)]);
    const sealed = await seal(ring.primary, ref, "whsec_abc");
    expect(await code(open(ring, { ...ref, recordId: "whk_2" }, sealed))).toBe("unreadable");
    expect(await code(open(ring, { ...ref, purpose: "relay.password" }, sealed))).toBe("unreadable");
    const [v, id, nonce, ct] = sealed.split(".");
    const at = ct!.length - 2; // a character of the tag, changed to another
    const flipped = `${ct!.slice(0, at)}${ct![at] === "A" ? "B" : "A"}${ct!.slice(at + 1)}`;
    expect(await code(open(ring, ref, [v, id, nonce, flipped].join(".")))).toBe("unreadable");
    expect(await code(open(ring, ref, "whsec_abc"))).toBe("malformed");
    expect(await code(open(ring, ref, `v1.k1.${nonce}.`))).toBe("malformed");
  });

  it("fails clearly on a key id it does not hold, and on the right id with the wrong key", async () => {
    const sealed = await seal((await importKeyring([spec("k9", 9)])).primary, ref, "whsec_abc");
    const ring = await importKeyring([spec("k1", 1)]);
    const err = await open(ring, ref, sealed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretError);
    expect((err as SecretError).code).toBe("unknown_key");
    expect((err as SecretError).message).toBe("the webhook_endpoint.secret of whk_1 is sealed under key k9, which MXRAY_ENCRYPTION_KEYS does not hold");
    const impostor = await importKeyring([spec("k9", 1)]);
    expect(await code(open(impostor, ref, sealed))).toBe("unreadable");
  });

  it("keeps values sealed under an older key readable after a rotation; new values use the first key", async () => {
    const before = await importKeyring([spec("k1", 1)]);
    const old = await seal(before.primary, ref, "whsec_old");
    const after = await importKeyring([spec("k2", 2), spec("k1", 1)]);
    expect(await openString(after, ref, old)).toBe("whsec_old");
    expect(sealedKeyId(await seal(after.primary, ref, "whsec_new"))).toBe("k2");
  });
});

describe("data keys (envelope)", () => {
  it("seals an account's secrets under its own data key, wrapped by the master key for that account only", async () => {
    const ring = await importKeyring([spec("k1", 1)]);
    const a = await newDataKey(ring, "acc_a");
    const b = await newDataKey(ring, "acc_b");
    expect(a.id).toMatch(/^dk_[0-9a-z]{20}$/);
    expect(sealedKeyId(a.wrapped)).toBe("k1");
    const secret = await seal(a.key, ref, "whsec_a");
    expect(sealedKeyId(secret)).toBe(a.id);
    const unwrapped = await unwrapDataKey(ring, "acc_a", a.id, a.wrapped);
    expect(await openString(dataKeySet(unwrapped), ref, secret)).toBe("whsec_a");
    // Another account's data key, or a's wrapped key claimed for b, opens nothing.
    expect(await code(open(dataKeySet(b.key), ref, secret))).toBe("unknown_key");
    expect(await code(unwrapDataKey(ring, "acc_b", a.id, a.wrapped))).toBe("unreadable");
  });

  it("a deleted data key leaves its secrets unreadable, even to the master key", async () => {
    const ring = await importKeyring([spec("k1", 1)]);
    const old = await newDataKey(ring, "acc_a");
    const secret = await seal(old.key, ref, "whsec_a");
    // The account's row now holds only a new data key (the old one was deleted).
    const next = await newDataKey(ring, "acc_a");
    expect(await code(open(dataKeySet(next.key), ref, secret))).toBe("unknown_key");
    expect(await code(open(ring, ref, secret))).toBe("unknown_key");
  });

  it("rewraps a data key under the newest master key; the secrets under it are untouched and still open", async () => {
    const ring1 = await importKeyring([spec("k1", 1)]);
    const dk = await newDataKey(ring1, "acc_a");
    const secret = await seal(dk.key, ref, "whsec_a");
    const ring2 = await importKeyring([spec("k2", 2), spec("k1", 1)]);
    const rewrapped = await rewrapDataKey(ring2, "acc_a", dk.wrapped);
    expect(sealedKeyId(rewrapped!)).toBe("k2");
    expect(await rewrapDataKey(ring2, "acc_a", rewrapped!)).toBeNull();
    // k1 can now be dropped.
    const only2 = await importKeyring([spec("k2", 2)]);
    const unwrapped = await unwrapDataKey(only2, "acc_a", dk.id, rewrapped!);
    expect(await openString(dataKeySet(unwrapped), ref, secret)).toBe("whsec_a");
    expect(await code(unwrapDataKey(only2, "acc_a", dk.id, dk.wrapped))).toBe("unknown_key");
  });
});
