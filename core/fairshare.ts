// Fair dispatch across accounts (issue 13): free probe capacity goes to pending batches in order
// of each account's virtual finish time, (batches in flight + the batch's rank in the account's
// queue) / weight: weighted fair queueing with a batch as the unit. An account with nothing in
// flight goes first, a small list never waits behind a big one, and a big one still takes every
// slot nobody else wants. Ties go to the older batch. docs/decisions/005-fair-dispatch.md.

export type DispatchOrder = "fair" | "fifo";

/** Weight of an account's share of probe capacity, from its active plan's lookup key. */
export function accountWeight(plan: string | null | undefined): number {
  return plan === "plan_growth" ? 2 : 1;
}

export interface PendingBatch {
  id: string;
  accountId: string;
  createdAt: number;
  /** 1 for the account's oldest pending batch, 2 for the next, … */
  rank: number;
}

/** Pending batches in the order they should go out; `fifo` is the old oldest-first order. */
export function fairOrder<T extends PendingBatch>(
  pending: readonly T[],
  inFlight: ReadonlyMap<string, number>,
  weight: (accountId: string) => number,
  order: DispatchOrder = "fair",
): T[] {
  const byAge = (a: T, b: T) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (order === "fifo") return [...pending].sort(byAge);
  const finish = (b: T) => ((inFlight.get(b.accountId) ?? 0) + b.rank) / Math.max(1, weight(b.accountId));
  return [...pending].sort((a, b) => finish(a) - finish(b) || byAge(a, b));
}
