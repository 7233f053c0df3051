import { describe, expect, it } from "vitest";
import { SLOW_SERVER_AFTER_MS, WaitingBoard } from "./waiting.ts";

describe("WaitingBoard", () => {
  it("says nothing waits when nothing is in flight, or all in flight is recent", () => {
    const board = new WaitingBoard();
    expect(board.summary(1_000)).toEqual({});
    board.start({}, 1_000);
    expect(board.summary(1_000 + SLOW_SERVER_AFTER_MS - 1)).toEqual({});
  });

  it("counts greylisted addresses with their soonest retry, and the slow others", () => {
    const board = new WaitingBoard();
    const [a, b, c, d] = [{}, {}, {}, {}];
    for (const x of [a, b, c, d]) board.start(x, 0);
    board.greylisted(a, 30_000);
    board.greylisted(b, 12_000);
    expect(board.summary(10_000)).toEqual({ greylisted: { count: 2, next_try_at: new Date(12_000).toISOString() }, slow_server: { count: 2 } });
    // A retry refused again moves its time; one whose budget is spent waits no more.
    board.greylisted(b, 40_000);
    board.greylisted(a, null);
    expect(board.summary(10_000)).toEqual({ greylisted: { count: 1, next_try_at: new Date(40_000).toISOString() }, slow_server: { count: 3 } });
    for (const x of [a, b, c, d]) board.done(x);
    expect(board.summary(10_000)).toEqual({});
  });
});
