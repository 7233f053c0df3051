import { describe, expect, it } from "vitest";
import { BoundedCache } from "./cache.ts";

describe("BoundedCache", () => {
  it("never holds more than maxEntries, dropping the least recently used", () => {
    const c = new BoundedCache<string, number>({ maxEntries: 3 });
    for (const [i, k] of ["a", "b", "c"].entries()) c.set(k, i);
    expect(c.get("a")).toBe(0); // a is now the most recent
    c.set("d", 3);
    expect(c.size).toBe(3);
    expect(c.get("b")).toBeUndefined();
    expect([c.get("a"), c.get("c"), c.get("d")]).toEqual([0, 2, 3]);
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(3);
  });

  it("forgets an entry once its time to live has passed, on the injected clock", () => {
    let now = 1_000;
    const c = new BoundedCache<string, boolean>({ maxEntries: 10, now: () => now });
    c.set("x", true, 500);
    c.set("y", false);
    now += 499;
    expect(c.get("x")).toBe(true);
    now += 1;
    expect(c.get("x")).toBeUndefined();
    expect(c.size).toBe(1);
    now += 1e9;
    expect(c.get("y")).toBe(false);
  });
});
