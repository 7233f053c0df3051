import { describe, expect, it } from "vitest";
import { durationWords, relativeWords } from "./time.tsx";

describe("relative time in words", () => {
  it("says a moment to the second below an hour", () => {
    expect(relativeWords(42_000, 0)).toBe("in 42 s");
    expect(relativeWords(0, 300_000)).toBe("5 min ago");
    expect(relativeWords(0, 303_400)).toBe("5 min 3 s ago");
    expect(relativeWords(500, 0)).toBe("now");
    expect(durationWords(2 * 3600_000 + 5 * 60_000 + 7_000)).toBe("2 h 5 min");
    expect(durationWords(3 * 86_400_000)).toBe("3 d");
  });
});
