import { describe, expect, it } from "vitest";
import { countdown, STALLED_AFTER_MS, tailText } from "./tail.ts";

const now = Date.parse("2030-01-01T00:00:00Z");
const at = (ms: number) => new Date(now + ms).toISOString();

describe("tailText", () => {
  it("says what the last addresses wait on, with a countdown from the page's clock", () => {
    const waiting = { greylisted: { count: 3, next_try_at: at(11_200) }, slow_server: { count: 1 } };
    expect(tailText({ waiting, left: 4, movedAt: now, now })).toBe("3 addresses waiting on greylisting, next try in 12 s; 1 address waiting on a slow mail server");
    expect(tailText({ waiting: { greylisted: { count: 1, next_try_at: at(-500) } }, left: 1, movedAt: now, now })).toBe("1 address waiting on greylisting, trying again now");
  });

  it("keeps the estimate while answers come, and says what is left once they stop with no reason given", () => {
    expect(tailText({ waiting: {}, left: 3, movedAt: now - STALLED_AFTER_MS + 1, now })).toBeNull();
    expect(tailText({ waiting: undefined, left: 3, movedAt: now - STALLED_AFTER_MS, now })).toBe("waiting on the last 3 addresses");
    expect(tailText({ waiting: { slow_server: { count: 2 } }, left: 0, movedAt: 0, now })).toBeNull();
  });

  it("counts down in seconds, then minutes", () => {
    expect(countdown(at(1), now)).toBe("in 1 s");
    expect(countdown(at(119_000), now)).toBe("in 119 s");
    expect(countdown(at(300_000), now)).toBe("in 5 min");
    expect(countdown(at(0), now)).toBe("now");
  });
});
