import { describe, expect, it } from "vitest";
import { isTombstone, tombstoneOf } from "./tombstone.ts";

describe("tombstones", () => {
  it("are sha256: and the hex SHA-256 of the normalised address (FIPS 180-2's 'abc' vector)", async () => {
    expect(await tombstoneOf("abc")).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await tombstoneOf("ada@example.com")).toBe(await tombstoneOf("ada@example.com"));
    expect(await tombstoneOf("ada@example.com")).not.toBe(await tombstoneOf("bob@example.com"));
  });

  it("are told from addresses and from look-alikes", async () => {
    expect(isTombstone(await tombstoneOf("ada@example.com"))).toBe(true);
    for (const no of ["ada@example.com", "sha256:", "sha256:ABC", `sha256:${"0".repeat(63)}`, `SHA256:${"0".repeat(64)}`, `sha256:${"0".repeat(64)}@x.test`]) expect(isTombstone(no)).toBe(false);
  });
});
