import { describe, expect, it } from "vitest";
import { decide, REASON_VERDICT, type Facts, type RcptClass, type SmtpFacts } from "./verdict.ts";

const base: Facts = {
  syntax: { ok: true },
  disposable: false,
  role: false,
  free: false,
  dns: { kind: "mx", hosts: ["mx.example.com"] },
  smtp: null,
  catchAll: false,
};

function rcpt(cls: RcptClass, code = 250, enhanced: string | null = null): SmtpFacts {
  return { kind: "reply", rcpt: cls, reply: { code, enhanced, message: "" }, mx: "mx.example.com" };
}

describe("decide", () => {
  const cases: [string, Partial<Facts>, string, string][] = [
    ["accepted, not catch-all", { smtp: rcpt("accepted") }, "deliverable", "accepted"],
    ["accepted on catch-all", { smtp: rcpt("accepted"), catchAll: true }, "risky", "catch_all"],
    ["bad syntax", { syntax: { ok: false, reason: "invalid_syntax" }, dns: null }, "undeliverable", "invalid_syntax"],
    ["domain literal", { syntax: { ok: false, reason: "domain_literal" }, dns: null }, "undeliverable", "domain_literal"],
    ["NXDOMAIN", { dns: { kind: "nxdomain" } }, "undeliverable", "no_such_domain"],
    ["null MX", { dns: { kind: "null_mx" } }, "undeliverable", "null_mx"],
    ["no MX, no address", { dns: { kind: "no_mail" } }, "undeliverable", "no_mail_server"],
    ["every MX target without an address", { dns: { kind: "no_mx_address", hosts: ["mx.gone.example"] } }, "undeliverable", "no_mx_address"],
    ["disposable, MX targets gone", { disposable: true, dns: { kind: "no_mx_address", hosts: ["mx.gone.example"] } }, "undeliverable", "no_mx_address"],
    ["SERVFAIL", { dns: { kind: "error", detail: "servfail" } }, "unknown", "dns_error"],
    ["5.1.1", { smtp: rcpt("mailbox_not_found", 550, "5.1.1") }, "undeliverable", "mailbox_not_found"],
    ["5.2.1", { smtp: rcpt("mailbox_disabled", 550, "5.2.1") }, "undeliverable", "mailbox_disabled"],
    ["full", { smtp: rcpt("mailbox_full", 452, "4.2.2") }, "risky", "mailbox_full"],
    ["disposable beats acceptance", { disposable: true, smtp: rcpt("accepted") }, "risky", "disposable"],
    ["disposable but NXDOMAIN", { disposable: true, dns: { kind: "nxdomain" } }, "undeliverable", "no_such_domain"],
    ["policy 5.7.1 is never undeliverable", { smtp: rcpt("policy", 550, "5.7.1") }, "unknown", "policy_block"],
    ["greylisted", { smtp: rcpt("greylisted", 450, "4.7.1") }, "unknown", "greylisted"],
    ["rate limited", { smtp: rcpt("rate_limited", 421, "4.7.0") }, "unknown", "rate_limited"],
    ["temporary", { smtp: rcpt("temporary", 451, "4.3.0") }, "unknown", "temporary_failure"],
    ["ambiguous 5xx", { smtp: rcpt("ambiguous", 554) }, "unknown", "ambiguous_reply"],
    ["SMTPUTF8 refused", { smtp: rcpt("smtputf8_unsupported", 553, "5.6.7") }, "undeliverable", "smtputf8_unsupported"],
    ["timeout", { smtp: { kind: "timeout", mx: "mx", phase: "greeting" } }, "unknown", "timeout"],
    ["all MX down", { smtp: { kind: "unreachable", detail: "ECONNREFUSED" } }, "unknown", "mx_unreachable"],
    ["protocol", { smtp: { kind: "protocol_error", mx: "mx", detail: "x", reply: null } }, "unknown", "protocol_error"],
    ["MX on a private address", { smtp: { kind: "private_target", mx: "mx", address: "127.0.0.1" } }, "unknown", "private_target"],
  ];
  it.each(cases)("%s", (_n, facts, verdict, reason) => {
    const d = decide({ ...base, ...facts });
    expect(d.verdict).toBe(verdict);
    expect(d.reason).toBe(reason);
    expect(REASON_VERDICT[d.reason]).toBe(d.verdict);
  });

  it("keeps a role account's verdict and lowers its score", () => {
    const plain = decide({ ...base, smtp: rcpt("accepted") });
    const role = decide({ ...base, role: true, smtp: rcpt("accepted") });
    expect(role.verdict).toBe("deliverable");
    expect(role.score).toBeLessThan(plain.score);
  });

  it("orders scores by verdict", () => {
    const s = (f: Partial<Facts>) => decide({ ...base, ...f }).score;
    const deliverable = s({ smtp: rcpt("accepted") });
    const risky = s({ smtp: rcpt("accepted"), catchAll: true });
    const unknown = s({ smtp: rcpt("greylisted", 450) });
    const undeliverable = s({ smtp: rcpt("mailbox_not_found", 550) });
    expect(deliverable).toBeGreaterThan(risky);
    expect(risky).toBeGreaterThan(undeliverable);
    expect(unknown).toBeGreaterThan(undeliverable);
    for (const v of [deliverable, risky, unknown, undeliverable]) expect(v).toBeGreaterThanOrEqual(0);
  });

  it("flags greylisting", () => {
    expect(decide({ ...base, smtp: rcpt("greylisted", 450) }).greylisted).toBe(true);
    expect(decide({ ...base, smtp: rcpt("accepted") }).greylisted).toBe(false);
  });
});
