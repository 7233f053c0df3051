import { describe, expect, it } from "vitest";
import type { RcptClass } from "../../core/verdict.ts";
import { classifyRcpt, classifySessionFailure, greylistHintMs, isDeferral, isRecipientLimit, joinReply, parseReplyLine } from "./reply.ts";

/** Builds a reply the way the connection does: each raw line parsed, then joined. */
function reply(...lines: string[]) {
  const parsed = lines.map((l) => parseReplyLine(l)!);
  return joinReply(parsed[0]!.code, parsed.map((p) => p.text));
}

describe("parseReplyLine", () => {
  it("tells continuation lines from final ones", () => {
    expect(parseReplyLine("250-PIPELINING")).toEqual({ code: 250, final: false, text: "PIPELINING" });
    expect(parseReplyLine("250 OK")).toEqual({ code: 250, final: true, text: "OK" });
    expect(parseReplyLine("250")).toEqual({ code: 250, final: true, text: "" });
  });
  it("rejects lines that are not replies", () => {
    expect(parseReplyLine("hello")).toBeNull();
    expect(parseReplyLine("99 x")).toBeNull();
    expect(parseReplyLine("600 x")).toBeNull();
    expect(parseReplyLine("250x")).toBeNull();
  });
});

describe("joinReply", () => {
  it("joins Gmail's multi-line rejection and keeps one enhanced code", () => {
    const r = reply(
      "550-5.1.1 The email account that you tried to reach does not exist. Please try",
      "550-5.1.1 double-checking the recipient's email address for typos or",
      "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp",
    );
    expect(r.code).toBe(550);
    expect(r.enhanced).toBe("5.1.1");
    expect(r.message).toBe(
      "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp",
    );
  });
  it("ignores an enhanced code whose class does not match the reply (RFC 3463 §2)", () => {
    expect(reply("550 2.1.5 odd").enhanced).toBeNull();
  });
});

describe("classifyRcpt", () => {
  const cases: [string, string[], RcptClass][] = [
    ["Postfix accept", ["250 2.1.5 Ok"], "accepted"],
    ["will forward", ["251 User not local; will forward"], "accepted"],
    ["Postfix unknown user", ["550 5.1.1 <x@y.com>: Recipient address rejected: User unknown in virtual mailbox table"], "mailbox_not_found"],
    ["Gmail no such user", ["550-5.1.1 The email account that you tried to reach does not exist.", "550 5.1.1 https://support.google.com"], "mailbox_not_found"],
    ["null MX recipient", ["550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found"], "mailbox_not_found"],
    ["M365 edge blocking", ["550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"], "mailbox_not_found"],
    ["cPanel, no enhanced code", ["550 No Such User Here"], "mailbox_not_found"],
    ["Yahoo", ["554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]"], "mailbox_not_found"],
    ["Gmail disabled", ["550-5.2.1 The email account that you tried to reach is disabled."], "mailbox_disabled"],
    ["Yahoo disabled", ["554 delivery error: dd Sorry your message to x cannot be delivered. This mailbox is disabled (554.30)"], "mailbox_disabled"],
    ["Gmail over quota", ["452-4.2.2 The email account that you tried to reach is over quota."], "mailbox_full"],
    ["mailbox full 5.2.2", ["552 5.2.2 Mailbox full"], "mailbox_full"],
    ["full without code", ["452 Mailbox full"], "mailbox_full"],
    ["Spamhaus", ["550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"], "policy"],
    ["5.7.1 user unknown is still policy", ["550 5.7.1 <x@y>: Recipient address rejected: User unknown"], "policy"],
    ["relay denied", ["554 5.7.1 <x@y>: Relay access denied"], "policy"],
    ["RBL, no enhanced code", ["554 Refused. Your IP address is listed in the RBL at rbl.example"], "policy"],
    ["Postgrey", ["450 4.2.0 <x@y>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/y.html"], "greylisted"],
    ["Exim greylist", ["451 4.7.1 Please try again later"], "greylisted"],
    ["policy deferral", ["450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]"], "policy"],
    ["service closing", ["421 4.7.0 Too many errors"], "rate_limited"],
    ["too many errors 4.7.0", ["451 4.7.0 Temporary rate limit, slow down"], "rate_limited"],
    ["SMTPUTF8", ["553 5.6.7 SMTPUTF8 not supported"], "smtputf8_unsupported"],
    ["local error", ["451 4.3.0 Local error in processing"], "temporary"],
    ["unknown 5xx", ["554 5.0.0 Transaction failed"], "ambiguous"],
    ["bad syntax claimed by server", ["553 5.1.3 Bad recipient address syntax"], "ambiguous"],
  ];
  it.each(cases)("%s", (_name, lines, expected) => {
    expect(classifyRcpt(reply(...lines))).toBe(expected);
  });
});

describe("session-level failures", () => {
  it("never turn a greeting or MAIL refusal into a mailbox verdict", () => {
    expect(classifySessionFailure(reply("550 5.1.1 Sender unknown"))).toBe("ambiguous");
    expect(classifySessionFailure(reply("554 5.7.1 Access denied"))).toBe("policy");
    expect(classifySessionFailure(reply("452 4.2.2 Mailbox full"))).toBe("temporary");
  });
});

describe("helpers", () => {
  it("spots a per-transaction recipient limit", () => {
    expect(isRecipientLimit(reply("452 4.5.3 Error: too many recipients"))).toBe(true);
    expect(isRecipientLimit(reply("452 Too many recipients received this hour"))).toBe(true);
    expect(isRecipientLimit(reply("452 4.2.2 Mailbox full"))).toBe(false);
  });
  it("tells a provider's deferral from a session limit or greylisting", () => {
    // Before any RCPT, every 4xx is the provider asking this IP to come back later.
    expect(isDeferral(reply("421 4.7.0 Too many concurrent SMTP connections from this IP"), true)).toBe(true);
    expect(isDeferral(reply("450 Service temporarily unavailable"), true)).toBe(true);
    expect(isDeferral(reply("554 5.7.1 Access denied"), true)).toBe(false);
    // At RCPT: 421 or a rate named under 4.7.x.
    expect(isDeferral(reply("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume"), false)).toBe(true);
    expect(isDeferral(reply("451 4.7.500 Server busy. Please try again later from [192.0.2.1]"), false)).toBe(true);
    expect(isDeferral(reply("451 4.7.0 Temporary rate limit, slow down"), false)).toBe(true);
    expect(isDeferral(reply("451 4.7.1 Please try again later"), false)).toBe(false); // greylisting
    expect(isDeferral(reply("450 4.2.0 Greylisted, see http://postgrey"), false)).toBe(false);
    // Limits on this one session are met with a new session, not a pause.
    expect(isDeferral(reply("421 4.7.0 Error: too many errors"), false)).toBe(false);
    expect(isDeferral(reply("421 4.7.0 Too many recipients on this connection, closing"), false)).toBe(false);
    expect(isDeferral(reply("421 4.7.0 Error: too many errors"), true)).toBe(false);
  });
  it("reads a greylisting server's hint", () => {
    expect(greylistHintMs(reply("450 4.7.1 Greylisted, try again in 60 seconds"))).toBe(60_000);
    expect(greylistHintMs(reply("451 Greylisted for 5 minutes"))).toBe(300_000);
    expect(greylistHintMs(reply("451 4.7.1 Please try again later"))).toBeNull();
  });
});
