import { describe, expect, it } from "vitest";
import { FindAnswerSchema, type Result } from "../contracts.ts";
import { buildResult } from "../result.ts";
import type { RcptClass } from "../verdict.ts";
import { composeFind, names, refusesMailbox, waveSize } from "./answer.ts";

const cand = (email: string, pattern: string, confidence = 40) => ({ email, pattern, confidence });

function replied(email: string, rcpt: RcptClass, code: number, catchAll: boolean | null = false): Result {
  const smtp = { code, enhanced: null, message: "" };
  const facts = { syntax: { ok: true } as const, disposable: false, role: false, free: false, catchAll, dns: { kind: "mx" as const, hosts: ["mx.x.test"] }, smtp: { kind: "reply" as const, rcpt, reply: smtp, mx: "mx.x.test" } };
  return buildResult({ email, normalized: email, facts, mx: "mx.x.test", smtp });
}

describe("composeFind", () => {
  const c = [cand("ada.lovelace@x.test", "first.last", 45), cand("alovelace@x.test", "flast", 20), cand("ada@x.test", "first", 9)];

  it("answers the first candidate that names a mailbox, with its verdict, pattern and score", () => {
    const a = composeFind(c, [replied(c[0]!.email, "mailbox_not_found", 550), replied(c[1]!.email, "accepted", 250)], 12.4);
    expect(FindAnswerSchema.parse(a)).toEqual(a);
    expect(a).toMatchObject({ email: "alovelace@x.test", verdict: "deliverable", reason: "accepted", pattern: "flast", catch_all: false, duration_ms: 12 });
    expect(a.confidence).toBe(replied(c[1]!.email, "accepted", 250).score);
    expect(a.candidates.map((t) => t.reason)).toEqual(["mailbox_not_found", "accepted"]);
  });

  it("gives a catch-all answer the pattern's confidence, not the server's word", () => {
    const a = composeFind(c, [replied(c[0]!.email, "accepted", 250, true)], 1);
    expect(a).toMatchObject({ email: "ada.lovelace@x.test", verdict: "risky", reason: "catch_all", confidence: 45, catch_all: true });
  });

  it("takes a full mailbox as found: the mailbox exists", () => {
    expect(composeFind(c, [replied(c[0]!.email, "mailbox_full", 452)], 1)).toMatchObject({ email: "ada.lovelace@x.test", verdict: "risky", reason: "mailbox_full" });
  });

  it("explains no address with what stopped the search, else the last refusal", () => {
    const blocked = composeFind(c, [replied(c[0]!.email, "mailbox_not_found", 550), replied(c[1]!.email, "policy", 550)], 1);
    expect(blocked).toMatchObject({ email: null, verdict: "unknown", reason: "policy_block", confidence: 0, pattern: null });
    const refused = composeFind(c, c.map((x) => replied(x.email, "mailbox_not_found", 550)), 1);
    expect(refused).toMatchObject({ email: null, verdict: "undeliverable", reason: "mailbox_not_found", catch_all: false });
    expect(refused.candidates).toHaveLength(3);
  });

  it("lists only the candidates asked, in candidate order", () => {
    const a = composeFind(c, [undefined, replied(c[1]!.email, "accepted", 250)], 1);
    expect(a.candidates.map((t) => t.email)).toEqual(["alovelace@x.test"]);
  });

  it("goes on only after a mailbox refusal; waves double", () => {
    expect(refusesMailbox(replied("a@x.test", "mailbox_disabled", 550))).toBe(true);
    expect(refusesMailbox(replied("a@x.test", "greylisted", 451))).toBe(false);
    expect(names(replied("a@x.test", "accepted", 250, null))).toBe(true);
    expect([0, 1, 2, 3].map(waveSize)).toEqual([1, 2, 4, 8]);
  });
});
