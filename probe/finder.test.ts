import { describe, expect, it } from "vitest";
import type { FindAnswer, FindCandidate, Result } from "../core/contracts.ts";
import { buildResult } from "../core/result.ts";
import type { RcptClass } from "../core/verdict.ts";
import { FindChain } from "./finder.ts";

// The chain alone, with a fake engine: which candidates it asks, when, and what it answers. The
// engine's tests run it against SMTP servers (probe/engine.test.ts).

const cand = (email: string, confidence = 40): FindCandidate => ({ email, pattern: "p", confidence });

function replied(email: string, rcpt: RcptClass, code: number): Result {
  return buildResult({
    email,
    normalized: email,
    facts: {
      syntax: { ok: true },
      disposable: false,
      role: false,
      free: false,
      dns: { kind: "mx", hosts: ["mx.test"] },
      smtp: { kind: "reply", rcpt, reply: { code, enhanced: null, message: rcpt }, mx: "mx.test" },
      catchAll: false,
    },
  });
}
const refused = (email: string) => replied(email, "mailbox_not_found", 550);
const accepted = (email: string) => replied(email, "accepted", 250);
const greylisted = (email: string) => replied(email, "greylisted", 451);

function chainOf(candidates: FindCandidate[]) {
  const checked: { email: string; slot: number }[] = [];
  const answers: FindAnswer[] = [];
  let prunes = 0;
  const chain = new FindChain(candidates, Date.now(), Number.POSITIVE_INFINITY, {
    check: (_parsed, email, slot) => checked.push({ email, slot }),
    prune: () => prunes++,
    answer: (a) => answers.push(a),
  });
  return { chain, checked, answers, prunes: () => prunes };
}

describe("FindChain", () => {
  it("asks 1, then 2, then 4 candidates, the waves after the first as follow-ups, and stops at the first accepted", () => {
    const candidates = ["a", "b", "c", "d", "e", "f", "g", "h"].map((l) => cand(`${l}@x.test`));
    const { chain, checked, answers } = chainOf(candidates);
    chain.start();
    expect(checked.map((c) => c.slot)).toEqual([0]);
    expect(chain.hooks(0).followUp).toBe(false); // the first wave opens the transaction
    chain.answered(0, refused("a@x.test"));
    expect(checked.map((c) => c.slot)).toEqual([0, 1, 2]);
    expect(chain.hooks(1).followUp).toBe(true);
    chain.answered(2, accepted("c@x.test"));
    chain.answered(1, refused("b@x.test"));
    expect(checked).toHaveLength(3); // found: no fourth wave
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ email: "c@x.test", reason: "accepted" });
  });

  it("ends the search at an answer that is not about the mailbox", () => {
    const { chain, checked, answers } = chainOf([cand("a@x.test"), cand("b@x.test")]);
    chain.start();
    chain.answered(0, greylisted("a@x.test"));
    expect(checked).toHaveLength(1);
    expect(answers[0]).toMatchObject({ email: null, reason: "greylisted" });
  });

  it("marks the candidates after a likelier accepted one as not needed, and prunes them while others are open", () => {
    const candidates = ["a", "b", "c"].map((l) => cand(`${l}@x.test`));
    const { chain, answers, prunes } = chainOf(candidates);
    chain.start();
    chain.answered(0, refused("a@x.test")); // b and c asked
    expect(chain.hooks(2).needed!()).toBe(true);
    chain.answered(1, accepted("b@x.test"));
    expect(prunes()).toBe(1);
    expect(chain.hooks(2).needed!()).toBe(false);
    expect(chain.hooks(0).needed!()).toBe(true);
    chain.answered(2, refused("c@x.test"));
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ email: "b@x.test" });
  });

  it("asks every remaining candidate at once when an unknown pattern's candidate is greylisted, but not a known pattern's", () => {
    const unknown = chainOf(["a", "b", "c", "d", "e"].map((l) => cand(`${l}@x.test`)));
    unknown.chain.start();
    unknown.chain.hooks(0).onGreylisted!(null);
    expect(unknown.checked.map((c) => c.slot)).toEqual([0, 1, 2, 3, 4]);
    expect(unknown.chain.hooks(1).followUp).toBe(true);

    const known = chainOf([cand("a@x.test", 90), cand("b@x.test")]);
    known.chain.start();
    known.chain.hooks(0).onGreylisted!(null);
    expect(known.checked.map((c) => c.slot)).toEqual([0]);
  });

  it("answers a candidate of bad syntax itself, and a person without candidates at once", () => {
    const bad = chainOf([cand("not an address"), cand("b@x.test")]);
    bad.chain.start();
    expect(bad.checked).toEqual([]); // not a mailbox refusal: the search ends
    expect(bad.answers).toHaveLength(1);
    expect(bad.answers[0]).toMatchObject({ email: null });
    expect(bad.answers[0]!.candidates.map((c) => c.email)).toEqual(["not an address"]);
    const none = chainOf([]);
    none.chain.start();
    expect(none.answers).toHaveLength(1);
    expect(none.answers[0]!.candidates).toEqual([]);
  });
});
