import { describe, expect, it } from "vitest";
import { accountWeight, fairOrder, type PendingBatch } from "./fairshare.ts";

/** `n` pending batches of one account, created from `t0` on, oldest first. */
const queue = (accountId: string, n: number, t0: number): PendingBatch[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${accountId}_${i}`, accountId, createdAt: t0 + i, rank: i + 1 }));

const one = () => 1;

describe("fairOrder", () => {
  it("alternates accounts, the older batch first on a tie, and gives the rest to the big one", () => {
    const order = fairOrder([...queue("a", 6, 0), ...queue("b", 2, 100)], new Map(), one).map((b) => b.id);
    expect(order).toEqual(["a_0", "b_0", "a_1", "b_1", "a_2", "a_3", "a_4", "a_5"]);
  });

  it("counts batches already in flight: an account with none goes first", () => {
    const order = fairOrder([...queue("a", 3, 0), ...queue("b", 2, 100)], new Map([["a", 4]]), one).map((b) => b.id);
    expect(order.slice(0, 2)).toEqual(["b_0", "b_1"]);
  });

  it("gives a weight-2 account two slots for each of a weight-1 account's", () => {
    const order = fairOrder([...queue("a", 10, 0), ...queue("b", 10, 100)], new Map(), (acc) => (acc === "b" ? 2 : 1));
    expect(order.slice(0, 6).filter((b) => b.accountId === "b")).toHaveLength(4);
  });

  it("fifo is oldest first whatever the account", () => {
    const order = fairOrder([...queue("b", 2, 100), ...queue("a", 3, 0)], new Map(), one, "fifo").map((b) => b.id);
    expect(order).toEqual(["a_0", "a_1", "a_2", "b_0", "b_1"]);
  });
});

describe("accountWeight", () => {
  it("doubles the Growth plan's share", () => {
    expect([accountWeight("plan_growth"), accountWeight("plan_starter"), accountWeight(null)]).toEqual([2, 1, 1]);
  });
});
