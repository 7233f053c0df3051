// Real-format bounces, complaints and auto-replies for a campaign message (issue 24), written from
// the formats their senders document or are known to produce: RFC 3464 delivery status
// notifications as Postfix (bounce(5) templates), Exim (4.8x with its report part, and its plain
// text), Microsoft 365 / Exchange Online, older Exchange (2003 and 2007/2010 text NDRs), Gmail's
// "Delivery Status Notification (Failure)"; Yahoo's and qmail's text (QSBMF, qmail-send's bounce
// format); RFC 5965 ARF complaints; RFC 3834 auto-replies; and the mail a bounce mailbox also holds
// that is not ours. The one source of these messages for the parser's tests, the IMAP monitor's
// mailbox, the benchmark and the demo. Every message is a string with CRLF line ends, and the same
// input gives the same bytes (no clock, no randomness).

/** The campaign message a bounce is about, as composed by probe/sending/compose.ts. */
export interface OriginalMessage {
  /** The campaign's From address, e.g. "news@shop.example". */
  from: string;
  /** The recipient the message was sent to. */
  to: string;
  /** The VERP envelope sender `bounce+{token}@{bounce domain}`: the bounce goes there. */
  verp: string;
  /** `<{recipient id}.{campaign id}@{from domain}>`. */
  messageId: string;
  /** The RFC 8058 one-click URL, ending /u/{token}. */
  unsubscribeUrl: string;
  subject: string;
  /** When it was sent (default: 2025-06-10 09:30:00 UTC). */
  date?: Date;
  /** The message exactly as sent (e.g. what a relay sink received); default: one built from the fields above. */
  raw?: string;
}

/** The value of a header of a raw message's header section, unfolded (RFC 5322 §2.2.3); null when absent. */
function headerValue(raw: string, name: string): string | null {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(head);
  return m ? m[1]!.trim() : null;
}

/**
 * A campaign message as a relay received it (e.g. a relay sink's SunkMessage: its envelope and
 * bytes), as the original its bounces are about: the real VERP envelope sender, Message-ID,
 * unsubscribe URL and bytes, and the time it was sent (so its bounces are dated after it).
 */
export function sentOriginal(sent: { mailFrom: string; rcptTo: string[]; raw: string; receivedAt: number }): OriginalMessage {
  const from = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(headerValue(sent.raw, "From") ?? "")?.[1] ?? headerValue(sent.raw, "From");
  const messageId = headerValue(sent.raw, "Message-ID");
  const unsubscribeUrl = /^<([^>]+)>/.exec(headerValue(sent.raw, "List-Unsubscribe") ?? "")?.[1];
  if (!from || !messageId || !unsubscribeUrl || !/^bounce\+[^@]+@/.test(sent.mailFrom) || sent.rcptTo.length !== 1) {
    throw new Error(`not a campaign message (From, Message-ID, List-Unsubscribe, a VERP MAIL FROM and one recipient): ${sent.mailFrom} → ${sent.rcptTo.join(", ")}`);
  }
  return {
    from,
    to: sent.rcptTo[0]!,
    verp: sent.mailFrom,
    messageId,
    unsubscribeUrl,
    subject: headerValue(sent.raw, "Subject") ?? "",
    date: new Date(sent.receivedAt),
    raw: sent.raw,
  };
}

export interface BounceOptions {
  /** The bounce's own Date (default: the original's date plus 62 s). */
  date?: Date;
}

const DEFAULT_SENT = new Date("2025-06-10T09:30:00Z");
const CRLF = "\r\n";

/** A campaign message for tests: recipient row 12 of campaign cmp_fixture with a well-formed (not MAC-valid) token. */
export function sampleOriginal(over: Partial<OriginalMessage> = {}): OriginalMessage {
  const token = "c-0f1e2d3c4b5a69788796";
  return {
    from: "news@shop.example",
    to: "nobody@example.com",
    verp: `bounce+${token}@bounce.shop.example`,
    messageId: "<12.cmp_fixture0000000000000@shop.example>",
    unsubscribeUrl: `https://app.mxray.test/u/${token}`,
    subject: "Your June offer",
    ...over,
  };
}

const joinLines = (lines: readonly string[]) => lines.join(CRLF);
const domainOf = (address: string) => address.slice(address.lastIndexOf("@") + 1);
const localOf = (address: string) => address.slice(0, address.lastIndexOf("@"));
const sentAt = (orig: OriginalMessage) => orig.date ?? DEFAULT_SENT;
const bounceAt = (orig: OriginalMessage, opts: BounceOptions) => opts.date ?? new Date(sentAt(orig).getTime() + 62_000);
/** RFC 5322 §3.3 date-time, e.g. "Tue, 10 Jun 2025 09:31:02 +0000". */
const rfc5322 = (d: Date) => d.toUTCString().replace(/GMT$/, "+0000");
/** A stable hex tag derived from the input, for queue ids and boundaries. */
function tag(seed: string, length = 12): string {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
  let out = "";
  while (out.length < length) {
    h = Math.imul(h ^ (h >>> 13), 2246822519) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, length).toUpperCase();
}
/** Normalises any line ends to CRLF. */
const crlf = (text: string) => text.replace(/\r?\n/g, CRLF);

/** The campaign message as the receiving side saw it (no Return-Path: that is added at final delivery, RFC 5321 §4.4). */
export function originalMessage(orig: OriginalMessage): string {
  if (orig.raw !== undefined) return crlf(orig.raw);
  const d = sentAt(orig);
  return joinLines([
    `Received: from relay.${domainOf(orig.from)} (relay.${domainOf(orig.from)} [198.51.100.7])`,
    `\tby mx.${domainOf(orig.to)} with ESMTPS id ${tag(orig.messageId + "rcv")}`,
    `\tfor <${orig.to}>; ${rfc5322(d)}`,
    `From: Shop News <${orig.from}>`,
    `To: ${orig.to}`,
    `Subject: ${orig.subject}`,
    `Date: ${rfc5322(d)}`,
    `Message-ID: ${orig.messageId}`,
    `List-Unsubscribe: <${orig.unsubscribeUrl}>`,
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 7bit",
    "",
    "Hello,",
    "",
    "Our June offer is here.",
    "",
    `Unsubscribe: ${orig.unsubscribeUrl}`,
    "",
  ]);
}

/** The header section of the campaign message (text/rfc822-headers, RFC 6522 §4). */
export function originalHeaders(orig: OriginalMessage): string {
  const full = originalMessage(orig);
  const end = full.indexOf(CRLF + CRLF);
  return (end === -1 ? full : full.slice(0, end)) + CRLF;
}

interface DsnRecipient {
  email: string;
  action: "failed" | "delayed";
  status: string;
  /** The remote's reply, without the "smtp; " type; folded as the MTA folds it. */
  diagnostic: string;
  remoteMta: string;
}

// ---- Postfix (bounce(5) templates; a multipart/report with the original as message/rfc822) ----

interface PostfixStyle {
  subject: string;
  /** The human-readable part's explanation paragraph. */
  intro: string[];
  /** The line per recipient in the human part. */
  humanReply: string[];
  recipient: DsnRecipient;
  /** Delay notices carry only the headers (RET=HDRS-like), bounces the whole message. */
  returned: "message" | "headers";
  extraRecipientFields?: string[];
}

function postfix(orig: OriginalMessage, opts: BounceOptions, style: PostfixStyle): string {
  const relay = `relay.${domainOf(orig.from)}`;
  const queueId = tag(orig.messageId + style.subject, 11);
  const d = bounceAt(orig, opts);
  const boundary = `${queueId}.${Math.floor(d.getTime() / 1000)}/${relay}`;
  const r = style.recipient;
  return joinLines([
    "Return-Path: <>",
    `Delivered-To: ${orig.verp}`,
    `Received: by ${relay} (Postfix)`,
    `\tid ${queueId}; ${rfc5322(d)} (UTC)`,
    `Date: ${rfc5322(d)} (UTC)`,
    `From: MAILER-DAEMON@${relay} (Mail Delivery System)`,
    `Subject: ${style.subject}`,
    `To: ${orig.verp}`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    "Content-Type: multipart/report; report-type=delivery-status;",
    `\tboundary="${boundary}"`,
    "Content-Transfer-Encoding: 8bit",
    `Message-Id: <20250610093102.${queueId}@${relay}>`,
    "",
    "This is a MIME-encapsulated message.",
    "",
    `--${boundary}`,
    "Content-Description: Notification",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    `This is the mail system at host ${relay}.`,
    "",
    ...style.intro,
    "",
    "                   The mail system",
    "",
    ...style.humanReply,
    "",
    `--${boundary}`,
    "Content-Description: Delivery report",
    "Content-Type: message/delivery-status",
    "",
    `Reporting-MTA: dns; ${relay}`,
    `X-Postfix-Queue-ID: ${queueId}`,
    `X-Postfix-Sender: rfc822; ${orig.verp}`,
    `Arrival-Date: ${rfc5322(sentAt(orig))} (UTC)`,
    "",
    `Final-Recipient: rfc822; ${r.email}`,
    `Original-Recipient: rfc822;${r.email}`,
    `Action: ${r.action}`,
    `Status: ${r.status}`,
    `Remote-MTA: dns; ${r.remoteMta}`,
    `Diagnostic-Code: smtp; ${r.diagnostic}`,
    ...(style.extraRecipientFields ?? []),
    "",
    `--${boundary}`,
    ...(style.returned === "message"
      ? ["Content-Description: Undelivered Message", "Content-Type: message/rfc822", "Content-Transfer-Encoding: 8bit", "", originalMessage(orig)]
      : ["Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers", "Content-Transfer-Encoding: 8bit", "", originalHeaders(orig)]),
    `--${boundary}--`,
    "",
  ]);
}

const POSTFIX_BOUNCED = [
  "I'm sorry to have to inform you that your message could not",
  "be delivered to one or more recipients. It's attached below.",
  "",
  "For further assistance, please send mail to postmaster.",
  "",
  "If you do so, please include this problem report. You can",
  "delete your own text from the attached returned message.",
];

/** Postfix: 550 5.1.1 user unknown at the remote, Diagnostic-Code folded over two lines. */
export function postfixBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const mx = `mx.${domainOf(orig.to)}`;
  return postfix(orig, opts, {
    subject: "Undelivered Mail Returned to Sender",
    intro: POSTFIX_BOUNCED,
    humanReply: [
      `<${orig.to}>: host ${mx}[192.0.2.25] said: 550 5.1.1`,
      `    <${orig.to}>: Recipient address rejected: User unknown in virtual`,
      "    mailbox table (in reply to RCPT TO command)",
    ],
    recipient: {
      email: orig.to,
      action: "failed",
      status: "5.1.1",
      diagnostic: `550 5.1.1 <${orig.to}>: Recipient address${CRLF}    rejected: User unknown in virtual mailbox table`,
      remoteMta: mx,
    },
    returned: "message",
  });
}

/** Postfix's delay warning: Action delayed, 4.4.1 (no answer from the host), headers only. */
export function delayedDsn(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const mx = `mx.${domainOf(orig.to)}`;
  return postfix(orig, opts, {
    subject: "Delayed Mail (still being retried)",
    intro: [
      "####################################################################",
      "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
      "####################################################################",
      "",
      "Your message could not be delivered for more than 4 hour(s).",
      "It will be retried until it is 5 day(s) old.",
    ],
    humanReply: [`<${orig.to}>: connect to ${mx}[192.0.2.25]:25: Connection timed out`],
    recipient: { email: orig.to, action: "delayed", status: "4.4.1", diagnostic: `connect to ${mx}[192.0.2.25]:25: Connection timed out`, remoteMta: mx },
    returned: "headers",
    extraRecipientFields: [`Will-Retry-Until: ${rfc5322(new Date(sentAt(orig).getTime() + 5 * 86_400_000))} (UTC)`],
  });
}

/** Postfix: the remote's 552 5.2.2 mailbox full (soft: it empties). */
export function mailboxFullDsn(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const mx = `mx.${domainOf(orig.to)}`;
  const reply = `552 5.2.2 <${orig.to}>: Mailbox full, quota exceeded`;
  return postfix(orig, opts, {
    subject: "Undelivered Mail Returned to Sender",
    intro: POSTFIX_BOUNCED,
    humanReply: [`<${orig.to}>: host ${mx}[192.0.2.25] said: ${reply} (in reply to`, "    end of DATA command)"],
    recipient: { email: orig.to, action: "failed", status: "5.2.2", diagnostic: reply, remoteMta: mx },
    returned: "message",
  });
}

/** Postfix: the remote refused the message as spam, 550 5.7.1 (policy, not "no such mailbox"). */
export function policyDsn(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const mx = `mx.${domainOf(orig.to)}`;
  const reply = "550 5.7.1 Message rejected as spam by Content Filtering.";
  return postfix(orig, opts, {
    subject: "Undelivered Mail Returned to Sender",
    intro: POSTFIX_BOUNCED,
    humanReply: [`<${orig.to}>: host ${mx}[192.0.2.25] said: ${reply} (in reply`, "    to end of DATA command)"],
    recipient: { email: orig.to, action: "failed", status: "5.7.1", diagnostic: reply, remoteMta: mx },
    returned: "message",
  });
}

// ---- Exim ----

function eximHeaders(orig: OriginalMessage, d: Date, id: string): string[] {
  const relay = `relay.${domainOf(orig.from)}`;
  return [
    "Return-path: <>",
    `Envelope-to: ${orig.verp}`,
    `Delivery-date: ${rfc5322(d)}`,
    `Received: from Debian-exim by ${relay} with local (Exim 4.96)`,
    `\tid ${id}`,
    `\tfor ${orig.verp}; ${rfc5322(d)}`,
    `X-Failed-Recipients: ${orig.to}`,
    "Auto-Submitted: auto-replied",
    `From: Mail Delivery System <Mailer-Daemon@${relay}>`,
    `To: ${orig.verp}`,
  ];
}

const EXIM_FAILED = [
  "This message was created automatically by mail delivery software.",
  "",
  "A message that you sent could not be delivered to one or more of its",
  "recipients. This is a permanent error. The following address(es) failed:",
  "",
];

/** Exim 4.9x: multipart/report; its Status is always 5.0.0, the remote's 5.1.1 is in the Diagnostic-Code. */
export function eximBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  const id = `1uOx${tag(orig.messageId + "exim", 2)}-000${tag(orig.messageId, 3)}-2Q`;
  const boundary = `${Math.floor(d.getTime() / 1000)}-eximdsn-1804289383`;
  const mx = `mx.${domainOf(orig.to)}`;
  const reply = `550 5.1.1 <${orig.to}>: Recipient address rejected: User unknown`;
  return joinLines([
    ...eximHeaders(orig, d, id),
    `Content-Type: multipart/report; report-type=delivery-status; boundary=${boundary}`,
    "MIME-Version: 1.0",
    "Subject: Mail delivery failed: returning message to sender",
    `Message-Id: <E${id}@relay.${domainOf(orig.from)}>`,
    `Date: ${rfc5322(d)}`,
    "",
    `--${boundary}`,
    "Content-type: text/plain; charset=us-ascii",
    "",
    ...EXIM_FAILED,
    `  ${orig.to}`,
    `    host ${mx} [192.0.2.25]`,
    `    SMTP error from remote mail server after RCPT TO:<${orig.to}>:`,
    `    ${reply}`,
    "",
    `--${boundary}`,
    "Content-type: message/delivery-status",
    "",
    `Reporting-MTA: dns; relay.${domainOf(orig.from)}`,
    "",
    "Action: failed",
    `Final-Recipient: rfc822;${orig.to}`,
    "Status: 5.0.0",
    `Remote-MTA: dns; ${mx}`,
    `X-Remote-MTA-smtp-greeting: X-str; 220 ${mx} ESMTP`,
    `Diagnostic-Code: smtp; ${reply}`,
    "",
    `--${boundary}`,
    "Content-type: message/rfc822",
    "",
    originalMessage(orig),
    `--${boundary}--`,
    "",
  ]);
}

/** Exim's plain-text bounce (no report part): the address indented two spaces, the remote's reply four. */
export function eximPlainBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  const id = `1uOy${tag(orig.messageId + "eximplain", 2)}-000${tag(orig.messageId, 3)}-7K`;
  const mx = `mx.${domainOf(orig.to)}`;
  return joinLines([
    ...eximHeaders(orig, d, id),
    "Subject: Mail delivery failed: returning message to sender",
    `Message-Id: <E${id}@relay.${domainOf(orig.from)}>`,
    `Date: ${rfc5322(d)}`,
    "",
    ...EXIM_FAILED,
    `  ${orig.to}`,
    `    SMTP error from remote mail server after RCPT TO:<${orig.to}>:`,
    `    host ${mx} [192.0.2.25]: 550 5.1.1 <${orig.to}>: Recipient address rejected: User unknown`,
    "",
    "------ This is a copy of the message, including all the headers. ------",
    "",
    originalMessage(orig),
  ]);
}

// ---- Microsoft ----

/** Microsoft 365 / Exchange Online NDR: an HTML human part, 550 5.1.10 RecipientNotFound, the original's headers. */
export function exchangeBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  const server = "DM6PR11MB4321.namprd11.prod.outlook.com";
  const boundary = `_000_${tag(orig.messageId + "ex", 8)}${server.slice(0, 14)}_`;
  const alt = `_001_${tag(orig.messageId + "alt", 8)}${server.slice(0, 14)}_`;
  const reply = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup";
  const local = localOf(orig.to);
  const domain = domainOf(orig.to);
  return joinLines([
    `From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@${domainOf(orig.from)}>`,
    `To: <${orig.verp}>`,
    `Date: ${rfc5322(d)}`,
    `Content-Type: multipart/report; report-type=delivery-status;`,
    `\tboundary="${boundary}"`,
    "X-MS-Exchange-Message-Is-Ndr:",
    "Content-Language: en-US",
    `Message-ID: <${tag(orig.messageId + "id", 8).toLowerCase()}-2e0f-4c1b-9a6d-0b5a1c7e3f21@${server}>`,
    `Subject: Undeliverable: ${orig.subject}`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    "",
    `--${boundary}`,
    `Content-Type: multipart/alternative; differences=Content-Type;`,
    `\tboundary="${alt}"`,
    "",
    `--${alt}`,
    'Content-Type: text/html; charset="us-ascii"',
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "<html><head><meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=",
    "=3Dus-ascii\"></head><body>",
    `<p><b><font color=3D"#000000" size=3D"3">Your message to <a href=3D"mailto:${orig.to}">${orig.to}</a> couldn't be delivered.</font></b></p>`,
    `<p>${local} wasn't found at ${domain}.</p>`,
    "<table><tr><td>Action Required</td><td>Recipient</td></tr>",
    "<tr><td>Unknown To address</td><td></td></tr></table>",
    "<p><b>How to Fix It</b><br>The address may be misspelled or may not exist. Try one or more of the following:</p>",
    "<p>Diagnostic information for administrators:</p>",
    `<p>Generating server: ${server}<br>Receiving server: ${server}</p>`,
    `<p>${orig.to}<br>Remote Server returned '${reply}'</p>`,
    "</body></html>",
    "",
    `--${alt}--`,
    "",
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "",
    `Reporting-MTA: dns;${server}`,
    `Received-From-MTA: dns;relay.${domainOf(orig.from)}`,
    `Arrival-Date: ${rfc5322(sentAt(orig))}`,
    "",
    `Final-Recipient: rfc822;${orig.to}`,
    "Action: failed",
    "Status: 5.1.10",
    `Diagnostic-Code: smtp;${reply}`,
    `X-Display-Name: ${local}`,
    "",
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
    originalHeaders(orig),
    `--${boundary}--`,
    "",
  ]);
}

/**
 * Older Exchange text NDRs with no delivery-status part. "2003": "The following recipient(s) could
 * not be reached:", the original attached as message/rfc822. "2010": "Delivery has failed to these
 * recipients or groups:", the diagnostic "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##" and
 * the original's headers quoted in the text.
 */
export function exchangeLegacyBounce(orig: OriginalMessage, opts: BounceOptions & { version?: "2003" | "2010" } = {}): string {
  const d = bounceAt(orig, opts);
  const server = `EXCH01.${domainOf(orig.from)}`;
  const head = [
    `From: System Administrator <postmaster@${domainOf(orig.from)}>`,
    `To: ${orig.verp}`,
    `Subject: Undeliverable: ${orig.subject}`,
    `Date: ${rfc5322(d)}`,
    `Message-ID: <${tag(orig.messageId + "x", 10)}@${server}>`,
    "X-MS-Has-Attach: yes",
    "MIME-Version: 1.0",
  ];
  if ((opts.version ?? "2003") === "2003") {
    const boundary = `----_=_NextPart_001_01C4${tag(orig.messageId + "2003", 8)}`;
    return joinLines([
      ...head,
      `Content-Type: multipart/mixed;`,
      `\tboundary="${boundary}"`,
      "",
      "This message is in MIME format. Since your mail reader does not understand",
      "this format, some or all of this message may not be legible.",
      "",
      `--${boundary}`,
      'Content-Type: text/plain; charset="iso-8859-1"',
      "",
      "Your message did not reach some or all of the intended recipients.",
      "",
      `      Subject:\t${orig.subject}`,
      "      Sent:\t6/10/2025 9:30 AM",
      "",
      "The following recipient(s) could not be reached:",
      "",
      `      ${orig.to} on 6/10/2025 9:31 AM`,
      "            The e-mail account does not exist at the organization this message was sent to.  Check the e-mail address, or contact the recipient directly to find out the correct address.",
      `            <${server} #5.1.1>`,
      "",
      `--${boundary}`,
      "Content-Type: message/rfc822",
      "",
      originalMessage(orig),
      `--${boundary}--`,
      "",
    ]);
  }
  return joinLines([
    ...head,
    'Content-Type: text/plain; charset="us-ascii"',
    "Content-Transfer-Encoding: 7bit",
    "",
    "Delivery has failed to these recipients or groups:",
    "",
    orig.to,
    "The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk.",
    "",
    "",
    "",
    "",
    "",
    "Diagnostic information for administrators:",
    "",
    `Generating server: ${server}`,
    "",
    orig.to,
    "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##",
    "",
    "Original message headers:",
    "",
    originalHeaders(orig),
  ]);
}

// ---- Gmail ----

/** Gmail's "Delivery Status Notification (Failure)": 550-5.1.1 The email account that you tried to reach does not exist. */
export function gmailBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  const boundary = `000000000000${tag(orig.messageId + "gm", 16).toLowerCase()}`;
  const alt = `000000000000${tag(orig.messageId + "gmalt", 16).toLowerCase()}`;
  const domain = domainOf(orig.to);
  return joinLines([
    `Delivered-To: ${orig.verp}`,
    "Return-Path: <>",
    `Received: by 2002:a05:6a20:9f8b:b0:1f3:4a21:8e7c with SMTP id a11csp1234567pzb;`,
    `        ${rfc5322(d)}`,
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    `To: ${orig.verp}`,
    "Auto-Submitted: auto-replied",
    "Subject: Delivery Status Notification (Failure)",
    `References: ${orig.messageId}`,
    `In-Reply-To: ${orig.messageId}`,
    "X-Failed-Recipients: " + orig.to,
    `Message-ID: <6847f${tag(orig.messageId + "gid", 11).toLowerCase()}.050a0220.3a1b2c.0123.GMR@mx.google.com>`,
    `Date: ${rfc5322(d)}`,
    `Content-Type: multipart/report; boundary="${boundary}"; report-type=delivery-status`,
    "MIME-Version: 1.0",
    "",
    `--${boundary}`,
    `Content-Type: multipart/alternative; boundary="${alt}"`,
    "",
    `--${alt}`,
    'Content-Type: text/plain; charset="UTF-8"',
    "",
    "",
    "** Address not found **",
    "",
    `Your message wasn't delivered to ${orig.to} because the address couldn't be found, or is unable to receive mail.`,
    "",
    "Learn more here: https://support.google.com/mail/?p=NoSuchUser",
    "",
    "The response was:",
    "",
    "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser",
    "",
    `--${alt}`,
    'Content-Type: text/html; charset="UTF-8"',
    "",
    "<html><body><h2>Address not found</h2>",
    `<p>Your message wasn't delivered to <b>${orig.to}</b> because the address couldn't be found, or is unable to receive mail.</p>`,
    "</body></html>",
    "",
    `--${alt}--`,
    "",
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; googlemail.com",
    `Received-From-MTA: dns; ${orig.from}`,
    `Arrival-Date: ${rfc5322(sentAt(orig))}`,
    `X-Original-Message-ID: ${orig.messageId}`,
    "",
    `Final-Recipient: rfc822; ${orig.to}`,
    "Action: failed",
    "Status: 5.1.1",
    `Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.27.27, the server for the domain ${domain}.)`,
    "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try",
    " 550-5.1.1 double-checking the recipient's email address for typos or",
    " 550-5.1.1 unnecessary spaces. For more information, go to",
    " 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser d2e1a72fcca58-7482b0a1f2esi1234567b3a.12 - gsmtp",
    `Last-Attempt-Date: ${rfc5322(d)}`,
    "",
    `--${boundary}`,
    "Content-Type: message/rfc822",
    "",
    originalMessage(orig),
    `--${boundary}--`,
    "",
  ]);
}

// ---- Text bounces: Yahoo, qmail (QSBMF: a paragraph per address, "<address>:" then the reason) ----

/** Yahoo's "Failure Notice": no report part, no enhanced status, "Remote host said: 554 delivery error: dd …". */
export function yahooBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  return joinLines([
    `To: ${orig.verp}`,
    "From: MAILER-DAEMON@yahoo.com",
    "Subject: Failure Notice",
    `Date: ${rfc5322(d)}`,
    `Message-ID: <${tag(orig.messageId + "y", 12).toLowerCase()}@mta1234.mail.gq1.yahoo.com>`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "Sorry, we were unable to deliver your message to the following address.",
    "",
    `<${orig.to}>:`,
    `Remote host said: 554 delivery error: dd This user doesn't have a yahoo.com account (${orig.to}) [0] - mta1234.mail.gq1.yahoo.com`,
    "",
    "--- Below this line is a copy of the message.",
    "",
    originalMessage(orig),
  ]);
}

/** qmail-send's bounce (QSBMF): "Hi. This is the qmail-send program at …", the remote's 550 5.1.1. */
export function qmailBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  const relay = `relay.${domainOf(orig.from)}`;
  // qmail writes "10 Jun 2025 09:31:02 -0000": no weekday.
  const stamp = `${d.getUTCDate()} ${d.toUTCString().slice(8, 25)} -0000`;
  return joinLines([
    "Return-Path: <>",
    `Delivered-To: ${orig.verp}`,
    `Received: (qmail 27514 invoked for bounce); ${stamp}`,
    `Date: ${stamp}`,
    `From: MAILER-DAEMON@${relay}`,
    `To: ${orig.verp}`,
    "Subject: failure notice",
    `Message-ID: <${Math.floor(d.getTime() / 1000)}.27514.qmail@${relay}>`,
    "",
    `Hi. This is the qmail-send program at ${relay}.`,
    "I'm afraid I wasn't able to deliver your message to the following addresses.",
    "This is a permanent error; I've given up. Sorry it didn't work out.",
    "",
    `<${orig.to}>:`,
    "192.0.2.25 does not like recipient.",
    `Remote host said: 550 5.1.1 <${orig.to}>... User unknown`,
    "Giving up on 192.0.2.25.",
    "",
    "--- Below this line is a copy of the message.",
    "",
    originalMessage(orig),
  ]);
}

// ---- Complaints and auto-replies ----

/**
 * An RFC 5965 abuse report from a feedback loop, sent to the customer's feedback address (not the
 * VERP address): the original as delivered (Return-Path included) is attached. `redacted`: the
 * loop hides the recipient (no Original-Rcpt-To, To rewritten), as some do.
 */
export function arfComplaint(orig: OriginalMessage, opts: BounceOptions & { redacted?: boolean } = {}): string {
  const d = bounceAt(orig, opts);
  const boundary = `part1_13d.${tag(orig.messageId + "arf", 8).toLowerCase()}_boundary`;
  const delivered = `Return-Path: <${orig.verp}>${CRLF}${originalMessage(orig)}`;
  const shown = opts.redacted ? delivered.replace(/^To: .*$/m, "To: redacted") : delivered;
  return joinLines([
    "From: Feedback Loop <fbl@feedback.example.net>",
    `To: fbl@${domainOf(orig.from)}`,
    `Subject: FW: ${orig.subject}`,
    `Date: ${rfc5322(d)}`,
    `Message-ID: <fbl.${tag(orig.messageId + "fbl", 10).toLowerCase()}@feedback.example.net>`,
    "MIME-Version: 1.0",
    "Content-Type: multipart/report; report-type=feedback-report;",
    `     boundary="${boundary}"`,
    "",
    `--${boundary}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    "Content-Transfer-Encoding: 7bit",
    "",
    "This is an email abuse report for an email message received from IP",
    `198.51.100.7 on ${rfc5322(sentAt(orig))}.  For more information`,
    "about this format please see https://www.rfc-editor.org/rfc/rfc5965.",
    "",
    `--${boundary}`,
    "Content-Type: message/feedback-report",
    "",
    "Feedback-Type: abuse",
    "User-Agent: FeedbackLoop/2.1",
    "Version: 1",
    `Original-Mail-From: <${orig.verp}>`,
    ...(opts.redacted ? [] : [`Original-Rcpt-To: <${orig.to}>`]),
    `Arrival-Date: ${rfc5322(sentAt(orig))}`,
    `Reporting-MTA: dns; mx.${domainOf(orig.to)}`,
    "Source-IP: 198.51.100.7",
    `Authentication-Results: mx.${domainOf(orig.to)};`,
    `        spf=pass smtp.mailfrom=${orig.verp}`,
    `Reported-Domain: ${domainOf(orig.from)}`,
    "",
    `--${boundary}`,
    "Content-Type: message/rfc822",
    "Content-Disposition: inline",
    "",
    shown,
    `--${boundary}--`,
    "",
  ]);
}

/** An RFC 3834 out-of-office reply, sent to the Return-Path (the VERP address), In-Reply-To the campaign message. */
export function outOfOffice(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  return joinLines([
    `From: Nobody Person <${orig.to}>`,
    `To: <${orig.verp}>`,
    `Subject: Automatic reply: ${orig.subject}`,
    `Thread-Topic: ${orig.subject}`,
    `Date: ${rfc5322(d)}`,
    `Message-ID: <${tag(orig.messageId + "oof", 16).toLowerCase()}@${domainOf(orig.to)}>`,
    `In-Reply-To: ${orig.messageId}`,
    `References: ${orig.messageId}`,
    "Auto-Submitted: auto-replied",
    "X-Auto-Response-Suppress: All",
    "MIME-Version: 1.0",
    'Content-Type: text/plain; charset="utf-8"',
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "I am out of the office until 20 June with limited access to email. For urge=",
    "nt matters please contact office@" + domainOf(orig.to) + ".",
    "",
  ]);
}

// ---- Not ours ----

/** Ordinary mail to the bounce mailbox: a colleague's message. */
export function unrelatedMail(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const d = bounceAt(orig, opts);
  const mailbox = `bounces@${domainOf(orig.from)}`;
  return joinLines([
    `From: Alice Colleague <alice@${domainOf(orig.from)}>`,
    `To: ${mailbox}`,
    "Subject: Undeliverable mail report for last week",
    `Date: ${rfc5322(d)}`,
    `Message-ID: <CAF${tag(orig.messageId + "un", 20).toLowerCase()}@mail.gmail.com>`,
    "MIME-Version: 1.0",
    'Content-Type: text/plain; charset="UTF-8"',
    "",
    "Hi,",
    "",
    "Could you send me the undeliverable mail report for last week? The",
    `one about ${orig.to} in particular.`,
    "",
    "Thanks, Alice",
    "",
  ]);
}

/**
 * A Postfix DSN for mail the customer sent from elsewhere (their own mail client, to the same
 * recipient): addressed to the customer, no VERP, no campaign Message-ID or unsubscribe URL.
 */
export function unrelatedBounce(orig: OriginalMessage, opts: BounceOptions = {}): string {
  const customer = `alice@${domainOf(orig.from)}`;
  const personal = joinLines([
    `From: Alice <${customer}>`,
    `To: ${orig.to}`,
    "Subject: Lunch on Friday?",
    `Date: ${rfc5322(sentAt(orig))}`,
    `Message-ID: <b7c1${tag(orig.messageId + "p", 12).toLowerCase()}@${domainOf(orig.from)}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Are you free?",
    "",
  ]);
  const bounce = postfixBounce({ ...orig, raw: personal }, opts);
  return bounce.split(orig.verp).join(customer);
}

/** Every style, for mailboxes, benchmarks and demos: what the parser must make of it. */
export const BOUNCE_STYLES: ReadonlyArray<{ name: string; build: (orig: OriginalMessage, opts?: BounceOptions) => string; ours: boolean; kind: "hard" | "soft" | "complaint" | "unclassified" | "auto_reply" | null }> = [
  { name: "postfix", build: postfixBounce, ours: true, kind: "hard" },
  { name: "exim", build: eximBounce, ours: true, kind: "hard" },
  { name: "exim-plain", build: eximPlainBounce, ours: true, kind: "hard" },
  { name: "exchange-online", build: exchangeBounce, ours: true, kind: "hard" },
  { name: "exchange-2003", build: (o, p) => exchangeLegacyBounce(o, { ...p, version: "2003" }), ours: true, kind: "hard" },
  { name: "exchange-2010", build: (o, p) => exchangeLegacyBounce(o, { ...p, version: "2010" }), ours: true, kind: "hard" },
  { name: "gmail", build: gmailBounce, ours: true, kind: "hard" },
  { name: "yahoo", build: yahooBounce, ours: true, kind: "hard" },
  { name: "qmail", build: qmailBounce, ours: true, kind: "hard" },
  { name: "delayed", build: delayedDsn, ours: true, kind: "soft" },
  { name: "mailbox-full", build: mailboxFullDsn, ours: true, kind: "soft" },
  { name: "policy", build: policyDsn, ours: true, kind: "hard" },
  { name: "arf", build: arfComplaint, ours: true, kind: "complaint" },
  { name: "out-of-office", build: outOfOffice, ours: true, kind: "auto_reply" },
  { name: "unrelated-mail", build: unrelatedMail, ours: false, kind: null },
  { name: "unrelated-bounce", build: unrelatedBounce, ours: false, kind: null },
];
