import { describe, expect, it } from "vitest";
import { generateApiKey, generatePublishableKey, hashApiKey, KEY_PATTERN, keyKind, keyMode, keyPrefix } from "./apikeys.ts";

describe("API keys", () => {
  it("makes distinct keys of the documented shape", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey("live")));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(KEY_PATTERN);
    expect(keyMode(generateApiKey("test"))).toBe("test");
    expect(keyMode("mx_live_short")).toBeNull();
  });
  it("hashes deterministically to hex SHA-256 and shows only a prefix", async () => {
    const key = "mx_live_0123456789ABCDEFGHIJKLMNOPQRSTUV";
    expect(await hashApiKey(key)).toBe(await hashApiKey(key));
    expect(await hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashApiKey(key)).not.toBe(await hashApiKey(key.replace(/V$/, "W")));
    expect(keyPrefix(key)).toBe("mx_live_0123");
    expect(keyPrefix("mx_test_0123456789ABCDEFGHIJKLMNOPQRSTUV")).toBe("mx_test_0123");
  });
  it("makes publishable keys `mx_pk_` + 32 base62, live, listed as `mx_pk_` and four characters", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generatePublishableKey()));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^mx_pk_[0-9A-Za-z]{32}$/);
    const key = "mx_pk_0123456789ABCDEFGHIJKLMNOPQRSTUV";
    expect([keyKind(key), keyMode(key), keyPrefix(key)]).toEqual(["publishable", "live", "mx_pk_0123"]);
    expect([keyKind(generateApiKey("live")), keyKind(generateApiKey("test"))]).toEqual(["secret", "secret"]);
    expect([keyKind("mx_pk_short"), keyKind("mx_sk_0123456789ABCDEFGHIJKLMNOPQRSTUV")]).toEqual([null, null]);
  });
});
