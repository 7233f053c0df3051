import { describe, expect, it } from "vitest";
import { BREAKER_COOLDOWN_MS, BREAKER_FAILURES, CircuitBreakers, Semaphore } from "./scheduler.ts";

describe("Semaphore", () => {
  it("admits up to its size and hands slots on in arrival order", async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    const order: number[] = [];
    const third = s.acquire().then(() => order.push(3));
    const fourth = s.acquire().then(() => order.push(4));
    expect(s.inUse).toBe(2);
    s.release();
    await third;
    s.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    s.release();
    s.release();
    expect(s.inUse).toBe(0);
  });
});

describe("CircuitBreakers", () => {
  it("opens after repeated failures, for the cool-down, and closes on success", () => {
    const b = new CircuitBreakers();
    const err = { kind: "refused" as const, detail: "ECONNREFUSED" };
    for (let i = 0; i < BREAKER_FAILURES - 1; i++) b.failure("127.0.0.9", err, 1000);
    expect(b.isOpen("127.0.0.9", 1000)).toBeNull();
    b.failure("127.0.0.9", err, 1000);
    expect(b.isOpen("127.0.0.9", 1001)).toEqual(err);
    expect(b.isOpen("127.0.0.8", 1001)).toBeNull();
    expect(b.isOpen("127.0.0.9", 1000 + BREAKER_COOLDOWN_MS + 1)).toBeNull();
    b.failure("127.0.0.9", err, 2000);
    b.success("127.0.0.9");
    expect(b.isOpen("127.0.0.9", 2001)).toBeNull();
  });
});
