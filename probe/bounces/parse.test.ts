import { describe, expect, it } from "vitest";
import { classifyBounce, contradictsDeliverable } from "../../core/bounces.ts";
import { MAX_BOUNCE_RAW, ParsedMessageSchema, type ParsedMessage } from "../../core/contracts.ts";
import {
  arfComplaint,
  BOUNCE_STYLES,
  delayedDsn,
  eximBounce,
  eximPlainBounce,
  exchangeBounce,
  exchangeLegacyBounce,
  gmailBounce,
  mailboxFullDsn,
  outOfOffice,
  policyDsn,
  postfixBounce,
  qmailBounce,
  sampleOriginal,
  unrelatedBounce,
  unrelatedMail,
  yahooBounce,
} from "../../e2e/bounce-mail.ts";
import { parseMessage } from "./parse.ts";

const orig = sampleOriginal();
const TOKEN = "c-0f1e2d3c4b5a69788796";
const MESSAGE_ID = "<12.cmp_fixture0000000000000@shop.example>";
const ARRIVED = new Date("2025-06-10T09:32:00Z");

/** Parses, and checks that whatever comes back is what the edge accepts. */
async function parse(source: string | Buffer, uid = 7): Promise<ParsedMessage | null> {
  const parsed = await parseMessage(uid, source, { arrivedAt: ARRIVED });
  if (parsed) expect(ParsedMessageSchema.parse(parsed)).toEqual(parsed);
  return parsed;
}

async function parsed(source: string | Buffer): Promise<ParsedMessage> {
  const p = await parse(source);
  expect(p).not.toBeNull();
  return p!;
}

/** The verdict every reader of a recipient row (the edge included) derives from it. */
const verdictOf = (p: ParsedMessage, i = 0) => classifyBounce(p.recipients[i]!.action, p.recipients[i]!.status);

/** A message with CRLF line ends from readable lines. */
const mail = (...lines: string[]) => lines.join("\r\n");

describe("parseMessage: each style's verdict", () => {
  const cases: Array<{ name: string; build: () => string; kind: string; category: string; status: string | null; diagnostic: RegExp; remote: string | null; originalToken: string | null }> = [
    { name: "Postfix", build: () => postfixBounce(orig), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /Recipient address rejected: User unknown in virtual mailbox table$/, remote: "mx.example.com", originalToken: TOKEN },
    // Exim says 5.0.0 for every failure; the remote's own 5.1.1 is the status.
    { name: "Exim (report)", build: () => eximBounce(orig), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /550 5\.1\.1 <nobody@example\.com>/, remote: "mx.example.com", originalToken: TOKEN },
    { name: "Exim (plain text)", build: () => eximPlainBounce(orig), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /host mx\.example\.com \[192\.0\.2\.25\]: 550 5\.1\.1/, remote: null, originalToken: TOKEN },
    { name: "Exchange Online", build: () => exchangeBounce(orig), kind: "hard", category: "mailbox", status: "5.1.10", diagnostic: /RESOLVER\.ADR\.RecipientNotFound/, remote: null, originalToken: TOKEN },
    { name: "Exchange 2003 text", build: () => exchangeLegacyBounce(orig, { version: "2003" }), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /does not exist at the organization.*#5\.1\.1>$/, remote: null, originalToken: TOKEN },
    { name: "Exchange 2010 text", build: () => exchangeLegacyBounce(orig, { version: "2010" }), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /^550 5\.1\.1 RESOLVER\.ADR\.RecipNotFound; not found$/, remote: null, originalToken: TOKEN },
    { name: "Gmail", build: () => gmailBounce(orig), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /550-5\.1\.1 The email account that you tried to reach does not exist\. Please try 550-5\.1\.1/, remote: "gmail-smtp-in.l.google.com", originalToken: TOKEN },
    // A basic 554 and no enhanced status: hard, but nothing says which kind of failure.
    { name: "Yahoo", build: () => yahooBounce(orig), kind: "hard", category: "other", status: null, diagnostic: /^Remote host said: 554 delivery error: dd This user doesn't have a yahoo\.com account/, remote: null, originalToken: TOKEN },
    { name: "qmail", build: () => qmailBounce(orig), kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: /^192\.0\.2\.25 does not like recipient\. Remote host said: 550 5\.1\.1/, remote: null, originalToken: TOKEN },
    { name: "delayed", build: () => delayedDsn(orig), kind: "soft", category: "system", status: "4.4.1", diagnostic: /Connection timed out/, remote: "mx.example.com", originalToken: TOKEN },
    // x.2.2 is soft even as a final failure: a full mailbox empties.
    { name: "mailbox full", build: () => mailboxFullDsn(orig), kind: "soft", category: "mailbox_full", status: "5.2.2", diagnostic: /Mailbox full/, remote: "mx.example.com", originalToken: TOKEN },
    { name: "policy", build: () => policyDsn(orig), kind: "hard", category: "policy", status: "5.7.1", diagnostic: /rejected as spam/, remote: "mx.example.com", originalToken: TOKEN },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.kind} ${c.status ?? "(no status)"} ${c.category}, tied to its recipient`, async () => {
      const p = await parsed(c.build());
      expect(p.kind).toBe(c.kind);
      expect(p.recipients).toHaveLength(1);
      expect(p.recipients[0]).toMatchObject({ email: "nobody@example.com", status: c.status, remote_mta: c.remote });
      expect(p.recipients[0]!.diagnostic).toMatch(c.diagnostic);
      expect(verdictOf(p)).toEqual({ kind: c.kind, category: c.category });
      expect(p).toMatchObject({ uid: 7, token: TOKEN, original_message_id: MESSAGE_ID, original_token: c.originalToken, raw_truncated: false });
      expect(p.message_id).toMatch(/^<.+@.+>$/);
      expect(p.date).toBe("2025-06-10T09:31:02.000Z");
    });
  }

  it("keeps the raw message as it came", async () => {
    const source = postfixBounce(orig);
    const p = await parsed(Buffer.from(source));
    expect(p.raw).toBe(source);
  });

  it("unfolds a folded Diagnostic-Code into one line", async () => {
    const p = await parsed(postfixBounce(orig));
    expect(p.recipients[0]!.diagnostic).toBe("smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table");
  });

  it("only a 5.1.x mailbox bounce contradicts a deliverable verdict; a policy refusal or a full mailbox does not", async () => {
    const contradicts = async (source: string) => {
      const p = await parsed(source);
      return contradictsDeliverable(verdictOf(p)!.kind, p.recipients[0]!.status);
    };
    expect(await contradicts(postfixBounce(orig))).toBe(true);
    expect(await contradicts(exchangeBounce(orig))).toBe(true);
    expect(await contradicts(policyDsn(orig))).toBe(false);
    expect(await contradicts(mailboxFullDsn(orig))).toBe(false);
    expect(await contradicts(yahooBounce(orig))).toBe(false);
  });

  it("every style in BOUNCE_STYLES reads as the list says", async () => {
    for (const style of BOUNCE_STYLES) {
      const p = await parse(style.build(orig));
      expect({ style: style.name, kind: p?.kind ?? null }).toEqual({ style: style.name, kind: style.kind });
      expect(p !== null).toBe(style.ours);
    }
  });
});

describe("parseMessage: auto-replies and MTA notices that call themselves auto-replied", () => {
  it("an out-of-office reply is auto_reply with no recipients, tied by its VERP address and In-Reply-To", async () => {
    const p = await parsed(outOfOffice(orig));
    expect(p).toMatchObject({ kind: "auto_reply", recipients: [], token: TOKEN, original_message_id: MESSAGE_ID, original_token: null });
  });

  it("a DSN marked Auto-Submitted: auto-replied is still a bounce: the report decides", async () => {
    for (const source of [postfixBounce(orig), gmailBounce(orig), eximPlainBounce(orig)]) {
      expect(source).toMatch(/^Auto-Submitted: auto-replied\r$/im);
      expect((await parsed(source)).kind).toBe("hard");
    }
  });

  it("recognises the auto-reply headers and subjects mail clients write", async () => {
    const reply = (...headers: string[]) => mail(`From: someone@example.com`, `To: ${orig.verp}`, ...headers, "", "Back soon.", "");
    for (const headers of [
      ["Subject: Re: hello", "Auto-Submitted: auto-generated"],
      ["Subject: Re: hello", "X-Autoreply: yes"],
      ["Subject: Re: hello", "X-Autorespond: on"],
      ["Subject: Re: hello", "Precedence: auto_reply"],
      ["Subject: Out of Office: Your June offer"],
      ["Subject: Auto: Your June offer"],
      ["Subject: Autosvar: Your June offer"],
      ["Subject: Abwesenheitsnotiz: Your June offer"],
    ]) {
      expect({ headers, kind: (await parsed(reply(...headers))).kind }).toEqual({ headers, kind: "auto_reply" });
    }
    expect((await parsed(reply("Subject: Re: hello", "Auto-Submitted: no"))).kind).toBe("unclassified");
  });

  it("an auto-reply to mail that was not ours is not ours", async () => {
    const source = outOfOffice({ ...orig, verp: "alice@shop.example", messageId: "<CAF123@mail.gmail.com>" });
    expect(await parse(source)).toBeNull();
  });

  it("a report of successes only (Action: delivered) is no bounce", async () => {
    const source = postfixBounce(orig).replace("Action: failed", "Action: delivered").replace("Status: 5.1.1", "Status: 2.0.0").replace(/Diagnostic-Code: smtp; 550 5\.1\.1[^\r]*\r\n[^\r]*/, "Diagnostic-Code: smtp; 250 2.0.0 Ok");
    expect(await parsed(source)).toMatchObject({ kind: "auto_reply", recipients: [], token: TOKEN });
  });
});

describe("parseMessage: complaints", () => {
  it("an RFC 5965 abuse report is a complaint about Original-Rcpt-To, tied by the returned message", async () => {
    const p = await parsed(arfComplaint(orig));
    expect(p).toMatchObject({ kind: "complaint", token: TOKEN, original_message_id: MESSAGE_ID, original_token: TOKEN });
    expect(p.recipients).toEqual([{ email: "nobody@example.com", action: null, status: null, diagnostic: "Feedback-Type: abuse", remote_mta: "mx.example.com" }]);
  });

  it("without Original-Rcpt-To the returned message's To names the recipient", async () => {
    const source = arfComplaint(orig).replace(/^Original-Rcpt-To: .*\r\n/m, "");
    expect(source).not.toContain("Original-Rcpt-To");
    expect((await parsed(source)).recipients.map((r) => r.email)).toEqual(["nobody@example.com"]);
  });

  it("a report that hides the recipient is still a complaint, tied by its token and Message-ID", async () => {
    const p = await parsed(arfComplaint(orig, { redacted: true }));
    expect(p).toMatchObject({ kind: "complaint", recipients: [], token: TOKEN, original_message_id: MESSAGE_ID, original_token: TOKEN });
  });

  it("a feedback report that is not abuse is not a complaint", async () => {
    const p = await parsed(arfComplaint(orig).replace("Feedback-Type: abuse", "Feedback-Type: not-spam"));
    expect(p.kind).toBe("unclassified");
  });
});

describe("parseMessage: what is not ours never leaves the probe", () => {
  it("ordinary mail to the mailbox, even one that talks about undeliverable mail", async () => {
    expect(await parse(unrelatedMail(orig))).toBeNull();
  });

  it("a bounce of mail the customer sent from elsewhere, to the same recipient", async () => {
    const source = unrelatedBounce(orig);
    expect(source).toContain("nobody@example.com");
    expect(await parse(source)).toBeNull();
  });

  it("a person's mail quoting a campaign message's headers is not a bounce of it", async () => {
    const source = mail("From: Alice <alice@shop.example>", "To: bounces@shop.example", "Subject: look at this one", "", "It had these headers:", `Message-ID: ${MESSAGE_ID}`, `List-Unsubscribe: <${orig.unsubscribeUrl}>`, "");
    expect(await parse(source)).toBeNull();
  });

  it("a token-shaped address that is not a VERP address does not count", async () => {
    const source = mail(`From: x@example.com`, `To: news+${TOKEN}@shop.example`, "Subject: hi", "", "hello", "");
    expect(await parse(source)).toBeNull();
  });
});

describe("parseMessage: what ties a bounce to its campaign", () => {
  it("a bounce tied only by the returned Message-ID gives original_message_id", async () => {
    const source = postfixBounce({ ...orig, verp: "alice@shop.example", unsubscribeUrl: "https://shop.example/unsubscribe" });
    const p = await parsed(source);
    expect(p).toMatchObject({ kind: "hard", token: null, original_message_id: MESSAGE_ID, original_token: null });
    expect(p.recipients[0]!.email).toBe("nobody@example.com");
  });

  it("a bounce tied only by the List-Unsubscribe URL gives original_token", async () => {
    const p = await parsed(postfixBounce({ ...orig, verp: "alice@shop.example", messageId: "<abc@shop.example>" }));
    expect(p).toMatchObject({ token: null, original_message_id: null, original_token: TOKEN });
  });

  it("Gmail's X-Original-Message-ID ties a report whose returned message is missing", async () => {
    const source = gmailBounce({ ...orig, verp: "alice@shop.example" }).split("Content-Type: message/rfc822")[0]!;
    expect(await parsed(source)).toMatchObject({ token: null, original_message_id: MESSAGE_ID, original_token: null });
  });

  it("the VERP address under any of the delivery headers, in any case", async () => {
    for (const header of ["To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"]) {
      const source = mail("From: MAILER-DAEMON@relay.example", `${header}: ${orig.verp.toUpperCase()}`, "To: someone@shop.example", "Subject: failure notice", "", "Something went wrong.", "");
      expect({ header, token: (await parsed(source)).token }).toEqual({ header, token: TOKEN });
    }
  });

  it("a bounce that is ours but names no recipient readably is unclassified with no recipients", async () => {
    const source = mail("From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example>", `To: ${orig.verp}`, "Subject: Returned mail: see transcript for details", "", "The original message was received but could not be handled.", "");
    expect(await parsed(source)).toMatchObject({ kind: "unclassified", recipients: [], token: TOKEN });
  });

  it("a message to the VERP address that is neither bounce nor auto-reply is unclassified", async () => {
    const source = mail("From: spammer@example.net", `To: ${orig.verp}`, "Subject: cheap watches", "", "Buy now.", "");
    expect(await parsed(source)).toMatchObject({ kind: "unclassified", recipients: [] });
  });
});

describe("parseMessage: reports and text with more to read", () => {
  it("a report with several recipients lists each, and the message is as bad as the worst", async () => {
    const report = mail(
      "Reporting-MTA: dns; relay.example",
      "",
      "Final-Recipient: rfc822; full@example.com",
      "Action: failed",
      "Status: 5.2.2",
      "",
      "Final-Recipient: rfc822; later@example.com",
      "Action: delayed",
      "Status: 4.4.7",
      "",
      "Final-Recipient: rfc822; gone@example.com",
      "Original-Recipient: rfc822; Gone@Example.com",
      "Action: failed",
      "Status: 5.1.1 (user unknown)",
      "",
      "Final-Recipient: rfc822; fine@example.com",
      "Action: relayed",
      "Status: 2.0.0",
      "",
    );
    const p = await parsed(dsn(report));
    expect(p.kind).toBe("hard");
    expect(p.recipients.map((r) => [r.email, r.status])).toEqual([
      ["full@example.com", "5.2.2"],
      ["later@example.com", "4.4.7"],
      ["Gone@Example.com", "5.1.1"],
    ]);
  });

  it("a report with only soft failures is soft", async () => {
    const p = await parsed(dsn(mail("Final-Recipient: rfc822; later@example.com", "Action: delayed", "Status: 4.4.7", "")));
    expect(p.kind).toBe("soft");
  });

  it("a report with an unreadable status and action is unclassified, never guessed hard", async () => {
    const p = await parsed(dsn(mail("Final-Recipient: rfc822; who@example.com", "Action: something", "Status: broken", "Diagnostic-Code: smtp; it did not work", "")));
    expect(p.kind).toBe("unclassified");
    expect(p.recipients[0]).toMatchObject({ email: "who@example.com", status: null, action: "something" });
  });

  it("qmail's own '(#5.1.1)' code and Exim's delay warning", async () => {
    const local = qmailBounce(orig).replace(/192\.0\.2\.25 does not like recipient\.\r\nRemote host said: [^\r]*\r\nGiving up on 192\.0\.2\.25\./, "Sorry, no mailbox here by that name. (#5.1.1)");
    const q = await parsed(local);
    expect(q.recipients[0]).toMatchObject({ status: "5.1.1", diagnostic: "Sorry, no mailbox here by that name. (#5.1.1)" });
    expect(q.kind).toBe("hard");

    const warning = eximPlainBounce(orig)
      .replace("Mail delivery failed: returning message to sender", "Warning: message 1uOy delayed 24 hours")
      .replace(/A message that you sent could not be delivered to one or more of its\r\nrecipients\. This is a permanent error\. The following address\(es\) failed:/, "A message that you sent has not yet been delivered to one or more of its\r\nrecipients after more than 24 hours on the queue on relay.shop.example.")
      .replace(/550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown/, "Connection timed out");
    const w = await parsed(warning);
    expect(w.kind).toBe("soft");
    expect(w.recipients[0]).toMatchObject({ email: "nobody@example.com", action: "delayed", status: null });
    expect(verdictOf(w)).toEqual({ kind: "soft", category: "other" });
  });

  it("a text bounce with a basic 4xx is soft, with no code at all unclassified", async () => {
    const reply = (said: string) => yahooBounce(orig).replace(/Remote host said: [^\r]*/, said);
    const soft = await parsed(reply("Remote host said: 452 too many recipients, try later"));
    expect(soft.kind).toBe("soft");
    expect(verdictOf(soft)).toEqual({ kind: "soft", category: "other" });
    const none = await parsed(reply("The remote host hung up."));
    expect(none.kind).toBe("unclassified");
    expect(none.recipients[0]).toMatchObject({ email: "nobody@example.com", action: null, status: null });
    // Numbers that are no reply code (an IP address, a port) are not read as one.
    const port = await parsed(reply("Could not connect to 192.0.2.45 port 465 in time."));
    expect(port.kind).toBe("unclassified");
  });

  it("an Exim bounce we cannot read still names the addresses of its X-Failed-Recipients", async () => {
    const source = mail("From: Mail Delivery System <Mailer-Daemon@relay.example>", `To: ${orig.verp}`, "X-Failed-Recipients: a@example.com, b@example.com", "Subject: Mail delivery failed", "", "Something else entirely.", "");
    const p = await parsed(source);
    expect(p).toMatchObject({ kind: "unclassified" });
    expect(p.recipients.map((r) => r.email)).toEqual(["a@example.com", "b@example.com"]);
  });

  it("the date is the Date header, or the arrival when it is missing, unreadable or in the future", async () => {
    const withDate = (date: string | null) => mail("From: MAILER-DAEMON@relay.example", `To: ${orig.verp}`, ...(date === null ? [] : [`Date: ${date}`]), "Subject: failure notice", "", "x", "");
    expect((await parsed(withDate("Tue, 10 Jun 2025 09:31:02 -0700 (PDT)"))).date).toBe("2025-06-10T16:31:02.000Z");
    expect((await parsed(withDate(null))).date).toBe(ARRIVED.toISOString());
    expect((await parsed(withDate("not a date"))).date).toBe(ARRIVED.toISOString());
    expect((await parsed(withDate("Mon, 1 Jan 2035 00:00:00 +0000"))).date).toBe(ARRIVED.toISOString());
    expect((await parseMessage(1, withDate(null)))!.date).toBeNull();
  });
});

describe("parseMessage: hostile input is bounded and never throws", () => {
  it("empty, garbage and binary input", async () => {
    expect(await parse("")).toBeNull();
    expect(await parse("\r\n\r\n\r\n")).toBeNull();
    expect(await parse("just some words without headers")).toBeNull();
    const noise = Buffer.alloc(300_000);
    for (let i = 0, seed = 42; i < noise.length; i++) noise[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    expect(await parse(noise)).toBeNull();
    // Ours by its VERP address, then garbage: read as far as it goes, with no NUL kept.
    const tied = Buffer.concat([Buffer.from(`To: ${orig.verp}\r\nSubject: x\r\n\r\n`), noise]);
    const p = await parsed(tied);
    expect(p).toMatchObject({ kind: "unclassified", recipients: [], token: TOKEN, raw_truncated: true });
    expect(p.raw).toHaveLength(MAX_BOUNCE_RAW);
    expect(p.raw).not.toContain("\0");
  });

  it("a huge message is read by its head; the raw copy is cut", async () => {
    const big = postfixBounce(orig).replace("Content-Type: message/rfc822", `Content-Type: message/rfc822\r\nX-Filler: ${"x".repeat(100)}`) + "y".repeat(3_000_000);
    const p = await parsed(big);
    expect(p).toMatchObject({ kind: "hard", raw_truncated: true, token: TOKEN });
    expect(p.raw.length).toBe(MAX_BOUNCE_RAW);
  });

  it("a report with thousands of recipients gives 100", async () => {
    const blocks = Array.from({ length: 3_000 }, (_, i) => mail(`Final-Recipient: rfc822; r${i}@example.com`, "Action: failed", "Status: 5.1.1", ""));
    const p = await parsed(dsn(blocks.join("\r\n")));
    expect(p.recipients).toHaveLength(100);
    expect(p.recipients[99]!.email).toBe("r99@example.com");
  });

  it("a diagnostic of 20,000 characters is cut to 1000", async () => {
    const p = await parsed(dsn(mail("Final-Recipient: rfc822; a@example.com", "Action: failed", "Status: 5.1.1", `Diagnostic-Code: smtp; 550 5.1.1 ${"no such user ".repeat(1_500)}`, "")));
    expect(p.recipients[0]!.diagnostic).toHaveLength(1_000);
  });

  it("a diagnostic folded over thousands of lines stays bounded", async () => {
    const folded = "Diagnostic-Code: smtp; 550 5.1.1" + "\r\n continued".repeat(20_000);
    const p = await parsed(dsn(mail("Final-Recipient: rfc822; a@example.com", "Action: failed", "Status: 5.1.1", folded, "")));
    expect(p.recipients[0]!.diagnostic!.length).toBeLessThanOrEqual(1_000);
  });

  it("too many parts, endless headers and long lines fall back to the top-level headers", async () => {
    const parts = Array.from({ length: 5_000 }, () => "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n").join("");
    const many = mail(`To: ${orig.verp}`, 'Content-Type: multipart/mixed; boundary="b"', "", parts + "--b--", "");
    expect(await parsed(many)).toMatchObject({ kind: "unclassified", token: TOKEN });

    const fields = Array.from({ length: 100_000 }, (_, i) => `X-F${i}: ${i}`).join("\r\n");
    const endless = mail(`To: ${orig.verp}`, fields, "", "body", "");
    expect(await parsed(endless)).toMatchObject({ token: TOKEN });

    const longLine = mail(`To: ${orig.verp}`, "From: MAILER-DAEMON@relay.example", "", "Delivery has failed to these recipients or groups:", `${"(".repeat(200_000)}a@b@c`, "");
    expect(await parsed(longLine)).toMatchObject({ token: TOKEN, recipients: [] });

    const deep = Array.from({ length: 200 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}`).join("\r\n");
    expect(await parsed(mail(`To: ${orig.verp}`, deep, ""))).toMatchObject({ token: TOKEN });
  });

  it("a multipart/report with no boundary or a broken report", async () => {
    const noBoundary = mail(`To: ${orig.verp}`, "Content-Type: multipart/report; report-type=delivery-status", "", "Final-Recipient: rfc822; a@example.com", "");
    expect(await parsed(noBoundary)).toMatchObject({ token: TOKEN });
    const broken = dsn("Final-Recipient: rfc822; <<<>>>\r\nAction: failed\r\n\r\n:::\r\n\0\0\0\r\n");
    expect(await parsed(broken)).toMatchObject({ kind: "unclassified", recipients: [] });
  });
});

/** A minimal multipart/report to the VERP address around this delivery-status body. */
function dsn(report: string): string {
  return mail(
    "From: MAILER-DAEMON@relay.example",
    `To: ${orig.verp}`,
    "Subject: Undelivered Mail Returned to Sender",
    "Date: Tue, 10 Jun 2025 09:31:02 +0000",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
    "",
    "--r",
    "Content-Type: text/plain",
    "",
    "Some recipients failed.",
    "",
    "--r",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; relay.example",
    "",
    report,
    "--r--",
    "",
  );
}
