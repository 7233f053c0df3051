import { describe, expect, it } from "vitest";
import type { Result } from "./contracts.ts";
import { buildResult } from "./result.ts";
import { campaignRules, DEFAULT_RULES, parseRules, rated, refusalOf, RulesSchema, safeToSend, type Ruled, type Rules } from "./rules.ts";
import { VERDICTS, type Facts } from "./verdict.ts";

/** Every verdict with every combination of the flags the rules read, at a few scores. */
function everyCombination(): Ruled[] {
  const out: Ruled[] = [];
  for (const verdict of VERDICTS)
    for (const catch_all of [true, false, null])
      for (const disposable of [true, false])
        for (const role of [true, false])
          for (const free of [true, false])
            for (const score of [0, 49, 50, 95]) out.push({ verdict, catch_all, disposable, role, free, score });
  return out;
}

describe("the rules' schema", () => {
  it("fills every field left out with its default, and the defaults are today's rule", () => {
    expect(RulesSchema.parse({})).toEqual(DEFAULT_RULES);
    expect(DEFAULT_RULES).toEqual({ risky: "refuse", catch_all: "risky", disposable: "risky", role: "allow", free: "allow", min_score: 0 });
    expect(RulesSchema.parse({ free: "refuse" })).toEqual({ ...DEFAULT_RULES, free: "refuse" });
  });

  it("refuses unknown fields, unknown choices and scores out of 0–100 or not whole", () => {
    for (const bad of [{ min_scor: 5 }, { risky: "maybe" }, { role: true }, { min_score: 101 }, { min_score: -1 }, { min_score: 2.5 }, { min_score: "50" }, null, []]) {
      expect(RulesSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it("reads stored rules, null meaning the defaults", () => {
    expect(parseRules(null)).toEqual(DEFAULT_RULES);
    expect(parseRules(JSON.stringify({ min_score: 60 }))).toEqual({ ...DEFAULT_RULES, min_score: 60 });
  });
});

describe("safeToSend", () => {
  it("with the default rules, is exactly today's audience: deliverable; and risky too for a campaign with include_risky", () => {
    for (const r of everyCombination()) {
      expect(safeToSend(r, DEFAULT_RULES), JSON.stringify(r)).toBe(r.verdict === "deliverable");
      expect(safeToSend(r, campaignRules(DEFAULT_RULES, true)), JSON.stringify(r)).toBe(r.verdict === "deliverable" || r.verdict === "risky");
      expect(campaignRules(DEFAULT_RULES, false)).toBe(DEFAULT_RULES);
    }
  });

  it("never sends to undeliverable or unknown, whatever the rules allow", () => {
    const lax: Rules = { risky: "allow", catch_all: "risky", disposable: "risky", role: "allow", free: "allow", min_score: 0 };
    for (const r of everyCombination().filter((r) => r.verdict === "undeliverable" || r.verdict === "unknown")) expect(refusalOf(r, lax)).toBe("verdict");
  });

  it("refuses each kind of address only under its own rule", () => {
    const allowRisky = { ...DEFAULT_RULES, risky: "allow" } as const;
    const cases: [Partial<Rules>, (r: Ruled) => boolean, string][] = [
      [{ catch_all: "refuse" }, (r) => r.catch_all === true, "catch_all"],
      [{ disposable: "refuse" }, (r) => r.disposable === true, "disposable"],
      [{ role: "refuse" }, (r) => r.role === true, "role"],
      [{ free: "refuse" }, (r) => r.free === true, "free"],
      [{ min_score: 50 }, (r) => (r.score ?? 0) < 50, "min_score"],
    ];
    for (const [rule, refused, name] of cases) {
      for (const r of everyCombination()) {
        const sendable = r.verdict === "deliverable" || r.verdict === "risky";
        expect(refusalOf(r, { ...allowRisky, ...rule }), `${name} ${JSON.stringify(r)}`).toBe(!sendable ? "verdict" : refused(r) ? name : null);
      }
    }
  });

  it("a campaign's include_risky lets risky rows through, never past another rule", () => {
    const b2b: Rules = { ...DEFAULT_RULES, free: "refuse" };
    const riskyFree: Ruled = { verdict: "risky", catch_all: true, disposable: false, role: false, free: true, score: 55 };
    expect(refusalOf(riskyFree, b2b)).toBe("risky");
    expect(refusalOf(riskyFree, campaignRules(b2b, true))).toBe("free");
    expect(refusalOf({ ...riskyFree, free: false }, campaignRules(b2b, true))).toBeNull();
  });

  it("reads a stored record without a flag as not flagged, and without a score as 0", () => {
    expect(safeToSend({ verdict: "deliverable" }, { ...DEFAULT_RULES, free: "refuse", role: "refuse", catch_all: "refuse", disposable: "refuse" })).toBe(true);
    expect(refusalOf({ verdict: "deliverable" }, { ...DEFAULT_RULES, min_score: 1 })).toBe("min_score");
  });

  it("rates real records as the probe builds them", () => {
    const facts: Facts = { syntax: { ok: true }, disposable: false, role: false, free: true, dns: { kind: "mx", hosts: ["mx.gmail.test"] }, catchAll: false,
      smtp: { kind: "reply", rcpt: "accepted", reply: { code: 250, enhanced: "2.1.5", message: "OK" }, mx: "mx.gmail.test" } };
    const gmail: Result = buildResult({ email: "ada@gmail.test", normalized: "ada@gmail.test", facts });
    expect(rated(gmail, DEFAULT_RULES)).toEqual({ ...gmail, safe_to_send: true });
    expect(rated(gmail, { ...DEFAULT_RULES, free: "refuse" }).safe_to_send).toBe(false);
    // An accept-all domain's address is risky: sent to only where risky is allowed, and catch-all not refused.
    const acceptAll = buildResult({ email: "bob@corp.test", normalized: "bob@corp.test", facts: { ...facts, free: false, catchAll: true } });
    expect([acceptAll.verdict, acceptAll.score]).toEqual(["risky", 55]);
    expect(safeToSend(acceptAll, { ...DEFAULT_RULES, risky: "allow" })).toBe(true);
    expect(refusalOf(acceptAll, { ...DEFAULT_RULES, risky: "allow", catch_all: "refuse" })).toBe("catch_all");
    expect(refusalOf(acceptAll, { ...DEFAULT_RULES, risky: "allow", min_score: 60 })).toBe("min_score");
  });
});
