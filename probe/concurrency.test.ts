import { describe, expect, it } from "vitest";
import { AnswerWindow, FairGate, Semaphore, SingleFlight } from "./concurrency.ts";

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

describe("AnswerWindow", () => {
  it("holds answers behind an unanswered input when ordered, keeping their slots until they leave", async () => {
    const gate = new FairGate(3);
    const delivered: [string, number][] = [];
    const window = new AnswerWindow<string>(gate, true, false, (v, i) => delivered.push([v, i]));
    const admitted: number[] = [];
    let allIn!: () => void;
    const three = new Promise<void>((resolve) => (allIn = resolve));
    const done = window.pull(["a", "b", "c"], (_input, index) => {
      admitted.push(index);
      if (index === 2) allIn();
    });
    await three;
    expect(admitted).toEqual([0, 1, 2]);
    window.answer("C", 2);
    window.answer("B", 1);
    expect(delivered).toEqual([]); // the head (0) is unanswered
    expect(gate.inUse).toBe(3);
    window.answer("A", 0);
    expect(delivered).toEqual([["A", 0], ["B", 1], ["C", 2]]);
    expect(gate.inUse).toBe(0);
    await done;
  });

  it("hands answers over as they come when unordered, admitting more as slots free", async () => {
    const gate = new FairGate(1);
    const delivered: number[] = [];
    const window = new AnswerWindow<number>(gate, false, false, (_v, i) => delivered.push(i));
    const admitted: number[] = [];
    const done = window.pull([10, 11], (_input, index) => {
      admitted.push(index);
      queueMicrotask(() => window.answer(0, index));
    });
    await done;
    expect(admitted).toEqual([0, 1]);
    expect(delivered).toEqual([0, 1]);
    expect(gate.inUse).toBe(0);
  });

  it("rejects with the source's error only after what it admitted is answered", async () => {
    const gate = new FairGate(4);
    const delivered: number[] = [];
    const window = new AnswerWindow<string>(gate, false, false, (_v, i) => delivered.push(i));
    let thrown!: () => void;
    const sourceFailed = new Promise<void>((resolve) => (thrown = resolve));
    function* broken() {
      yield "a";
      thrown();
      throw new Error("disk gone");
    }
    let settled = false;
    const done = window.pull(broken(), () => {}).finally(() => (settled = true));
    await sourceFailed;
    await new Promise((resolve) => setImmediate(resolve)); // everything queued has run
    expect(settled).toBe(false); // input 0 is still in flight
    window.answer("A", 0);
    await expect(done).rejects.toThrow("disk gone");
    expect(delivered).toEqual([0]);
  });
});

describe("SingleFlight", () => {
  it("starts the work once per key in flight and hands back every waiter when it lands", () => {
    const flights = new SingleFlight<string, number>();
    expect(flights.join("a@x.test", 0)).toBe(true);
    expect(flights.join("a@x.test", 3)).toBe(false);
    expect(flights.join("b@x.test", 1)).toBe(true);
    expect(flights.land("a@x.test")).toEqual([0, 3]);
    expect(flights.land("a@x.test")).toEqual([]);
    expect(flights.join("a@x.test", 7)).toBe(true); // a new flight once the first has landed
  });
});
