import { describe, expect, it } from "vitest";
import { clip, MAX_SMTP_MESSAGE, MAX_TRACE_LINE, MAX_TRACE_LINES, ResultChunkSchema, ResultSchema } from "./contracts.ts";
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

  it("keeps a bounded SMTP message and trace, however long the server's reply", () => {
    const facts = { syntax: { ok: true } as const, disposable: false, role: false, free: false, catchAll: null, dns: { kind: "mx" as const, hosts: ["mx.x.test"] } };
    const reply = { code: 550, enhanced: "5.1.1", message: "x".repeat(800_000) };
    const r = buildResult({
      email: "a@x.test",
      normalized: "a@x.test",
      facts: { ...facts, smtp: { kind: "reply", rcpt: "mailbox_not_found", reply, mx: "mx.x.test" } },
      smtp: reply,
      trace: Array.from({ length: 5000 }, () => `S: 550-${"y".repeat(4000)}`),
    });
    expect(r.smtp!.message.length).toBe(MAX_SMTP_MESSAGE);
    expect(r.smtp!.message.endsWith("…")).toBe(true);
    expect(r.trace).toHaveLength(MAX_TRACE_LINES);
    expect(r.trace!.every((l) => l.length <= MAX_TRACE_LINE)).toBe(true);
    expect(r.trace!.at(-1)).toBe(`… ${5000 - MAX_TRACE_LINES + 1} more lines`);
    expect(JSON.stringify(r).length).toBeLessThan(MAX_TRACE_LINES * MAX_TRACE_LINE + 4096);
  });

  it("the chunk schema cuts a long message instead of refusing the chunk", () => {
    const r = unansweredResult("a@x.test", "a@x.test");
    const long = { ...r, smtp: { code: 550, enhanced: null, message: "z".repeat(100_000) } };
    const chunk = ResultChunkSchema.parse({ probe_id: "p", batch_id: "b", job_id: "j", seq: 0, final: true, results: [long] });
    expect(chunk.results[0]!.smtp!.message).toBe(`${"z".repeat(MAX_SMTP_MESSAGE - 1)}…`);
  });

  it("clip never splits a surrogate pair", () => {
    expect(clip("abc", 3)).toBe("abc");
    expect(clip("abcd", 3)).toBe("ab…");
    expect(clip("a😀bc", 3)).toBe("a…"); // the emoji's two halves would straddle the cut
    expect(clip("ab😀c", 4)).toBe("ab…");
  });
});
