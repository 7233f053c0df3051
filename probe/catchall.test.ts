import { describe, expect, it } from "vitest";
import type { RcptClass } from "../core/verdict.ts";
import { CatchAll, type CatchAllTest } from "./catchall.ts";
import { createSharedMxState } from "./shared.ts";
import type { RecipientOutcome } from "./smtp/scheduler.ts";

// One domain's catch-all answer on this probe's own memory; the fleet's side (another probe's
// claim and answer, through Redis) is in probe/engine.test.ts.

const outcome = (rcpt: RcptClass, code: number): RecipientOutcome => ({
  smtp: { kind: "reply", rcpt, reply: { code, enhanced: null, message: "Ok" }, mx: "mx.x.test" },
  greylistedUntil: null,
});

function domain() {
  const shared = createSharedMxState({ probeId: "p1" });
  const settled: { waiting: string[]; value: boolean | null }[] = [];
  const testedHere: CatchAllTest[] = [];
  const catchAll = new CatchAll<string>("x.test", shared, 60_000, {
    settled: (waiting, value) => settled.push({ waiting, value }),
    testHere: (test) => testedHere.push(test),
  });
  return { catchAll, settled, testedHere, shared };
}

describe("CatchAll", () => {
  it("tests once with a random mailbox, holds the accepted addresses until the answer, and saves it", async () => {
    const { catchAll, settled, shared } = domain();
    await catchAll.lookup();
    const learning = catchAll.learn(Date.now() + 5_000, undefined);
    expect(learning?.kind).toBe("test");
    const test = (learning as { kind: "test"; test: CatchAllTest }).test;
    expect(test).toMatchObject({ domain: "x.test", catchAllProbe: true, smtputf8: false });
    expect(test.local).toMatch(/^[a-z][a-z0-9]{17}$/);
    expect(catchAll.learn(Date.now() + 5_000, undefined)).toBeNull(); // already being learned

    expect(catchAll.answerFor(outcome("accepted", 250))).toBeUndefined(); // must wait
    catchAll.wait("a@x.test");
    expect(catchAll.answerFor(outcome("mailbox_not_found", 550))).toBe(false); // it refuses some
    catchAll.tested(outcome("accepted", 250));
    expect(settled).toEqual([{ waiting: ["a@x.test"], value: true }]);
    expect(catchAll.describeEvidence()).toMatch(/^catch-all: yes: a random mailbox got 250 Ok from mx\.x\.test \(probe p1, /);
    expect(catchAll.answerFor(outcome("accepted", 250))).toBe(true);
    expect(await shared.lookupCatchAll("x.test")).toMatchObject({ catchAll: true, mx: "mx.x.test", probe: "p1" });
  });

  it("keeps no answer when the test could not tell, and does not test again in the call", () => {
    const { catchAll, settled } = domain();
    catchAll.learn(Date.now() + 5_000, undefined);
    catchAll.tested(outcome("policy", 550));
    expect(settled).toEqual([{ waiting: [], value: null }]);
    expect(catchAll.evidence).toBeNull();
    expect(catchAll.learn(Date.now() + 5_000, undefined)).toBeNull();
  });
});
