import { describe, expect, it } from "vitest";
import { ResultSchema } from "./contracts.ts";
import { buildResult, invalidSyntaxResult, unansweredResult } from "./result.ts";

describe("result records", () => {
  it("invalid syntax is a whole, valid record: undeliverable with the syntax reason", () => {
    const bad = invalidSyntaxResult("not-an-address");
    expect(ResultSchema.parse(bad)).toEqual(bad);
    expect(bad).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax", normalized: null, score: 0 });
    expect(invalidSyntaxResult("postmaster@[192.0.2.1]")).toMatchObject({ reason: "domain_literal" });
  });

  it("an address no probe finished is unknown/timeout, a whole record", () => {
    const r = unansweredResult("a@x.test", "a@x.test");
    expect(ResultSchema.parse(r)).toEqual(r);
    expect(r).toMatchObject({ email: "a@x.test", normalized: "a@x.test", verdict: "unknown", reason: "timeout", smtp: null, mx: null });
  });

  it("carries the retry time only for greylisting, and the trace only when asked", () => {
    const facts = { syntax: { ok: true } as const, disposable: false, role: false, free: false, catchAll: null, dns: { kind: "mx" as const, hosts: ["mx.x.test"] } };
    const reply = { code: 451, enhanced: "4.7.1", message: "greylisted, try again later" };
    const grey = buildResult({ email: "a@x.test", normalized: "a@x.test", facts: { ...facts, smtp: { kind: "reply", rcpt: "greylisted", reply, mx: "mx.x.test" } }, smtp: reply, greylistedUntil: Date.UTC(2026, 0, 1), trace: ["S: 451"] });
    expect(grey).toMatchObject({ greylisted: true, retry_after: "2026-01-01T00:00:00.000Z", trace: ["S: 451"], smtp: reply });
    const ok = buildResult({ email: "a@x.test", normalized: "a@x.test", facts: { ...facts, smtp: { kind: "reply", rcpt: "accepted", reply: { code: 250, enhanced: "2.1.5", message: "ok" }, mx: "mx.x.test" } }, greylistedUntil: Date.UTC(2026, 0, 1) });
    expect(ok.retry_after).toBeNull();
    expect("trace" in ok).toBe(false);
  });
});
