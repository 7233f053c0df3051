import { describe, expect, it } from "vitest";
import { FairGate, Semaphore } from "./concurrency.ts";

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

describe("FairGate", () => {
  /** Waits a flow's `n` acquisitions, recording each admission under `name`. */
  const queue = (gate: FairGate, flow: ReturnType<FairGate["flow"]>, name: string, n: number, log: string[]) =>
    Array.from({ length: n }, () => gate.acquire(flow).then(() => log.push(name)));

  it("hands a freed slot to the waiting flow holding the fewest, not to the oldest backlog", async () => {
    const gate = new FairGate(4);
    const big = gate.flow();
    const small = gate.flow();
    const log: string[] = [];
    await Promise.all(queue(gate, big, "big", 4, log)); // the window is full of the big batch
    const bigWaiting = queue(gate, big, "big", 6, log); // its backlog queues first
    const smallWaiting = queue(gate, small, "small", 2, log);
    log.length = 0;
    for (let i = 0; i < 4; i++) gate.release(big);
    await Promise.all(smallWaiting);
    // The small flow holds 0 while the big one holds 3, then 1 against 2: both of its slots come first.
    expect(log.slice(0, 2)).toEqual(["small", "small"]);
    expect(gate.inUse).toBe(4);
    for (let i = 0; i < 2; i++) gate.release(small);
    for (let i = 0; i < 6; i++) gate.release(big);
    await Promise.all(bigWaiting);
    expect(log.filter((n) => n === "big")).toHaveLength(6);
  });

  it("admits an urgent flow (a single check) before any batch, and frees slots nobody waits for", async () => {
    const gate = new FairGate(1);
    const batch = gate.flow();
    const check = gate.flow(true);
    const log: string[] = [];
    await gate.acquire(batch);
    const batchNext = gate.acquire(batch).then(() => log.push("batch"));
    const checkNext = gate.acquire(check).then(() => log.push("check"));
    gate.release(batch);
    await checkNext;
    expect(log).toEqual(["check"]);
    gate.release(check);
    await batchNext;
    gate.release(batch);
    expect(gate.inUse).toBe(0);
    await gate.acquire(batch); // a free slot is taken at once
    expect(gate.inUse).toBe(1);
  });
});
