import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, KEY_PATTERN, keyMode, keyPrefix } from "./apikeys.ts";

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
  });
});
