// SMTP reply parsing (RFC 5321 §4.2) and classification of RCPT replies.
// Each predicate names the real replies it was written for. An unmatched 5xx is "ambiguous"
// (unknown), never a guess that the mailbox does not exist.
//
// Replies are remote data: every pattern here runs in linear time (no unbounded quantifier next
// to another or inside one; a gap is a bounded `.{0,N}`), so a hostile server's reply cannot
// stall the probe (issue 10). probe/smtp/hostile.security.test.ts holds them to it.
import type { RcptClass, SmtpReply } from "../../core/verdict.ts";

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/** One reply line: `250-PIPELINING` or `250 OK`; a bare `250` is a final line too. */
export function parseReplyLine(
  line: string,
): { code: number; final: boolean; text: string } | null {
  const m = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(line);
  if (!m) return null;
  return { code: Number(m[1]), final: m[2] !== "-", text: m[3] ?? "" };
}

/** A reply as one transcript line: "250 2.1.5 Ok". */
export function formatReply(r: SmtpReply): string {
  return `${r.code}${r.enhanced ? ` ${r.enhanced}` : ""} ${r.message}`;
}

/** Joins a multi-line reply: the enhanced code is repeated on each line by Gmail and Postfix. */
export function joinReply(code: number, texts: string[]): SmtpReply {
  let enhanced: string | null = null;
  const parts = texts.map((t) => {
    const m = ENHANCED.exec(t);
    if (!m) return t.trim();
    // RFC 3463 §2: the class digit must match the reply's class.
    if (Number(m[1]) === Math.floor(code / 100)) enhanced ??= m[0];
    return t.slice(m[0].length).trim();
  });
  return { code, enhanced, message: parts.filter(Boolean).join(" ") };
}

const text = (r: SmtpReply) => r.message.toLowerCase();
const subject = (r: SmtpReply) => (r.enhanced ? r.enhanced.slice(2) : null); // "1.1" of "5.1.1"

// 450 4.2.0 …: Recipient address rejected: Greylisted, see http://postgrey…  (Postgrey)
// 451 4.7.1 Please try again later  (Exim greylistd)
// 450 4.7.1 …: Recipient address rejected: Try again later, greylisted  (rspamd)
// 451 Temporary local problem - please try later  (Sendmail milter-greylist says "Greylisting in action")
const GREYLIST_WORDS =
  /grey|gray|try (again )?later|try again in|retry later|temporarily (deferred|rejected)|deferred|please retry|come back later/;
export function isGreylisting(r: SmtpReply): boolean {
  return r.code >= 400 && r.code < 500 && r.code !== 421 && GREYLIST_WORDS.test(text(r));
}

// 452 4.5.3 Error: too many recipients (Postfix smtpd_recipient_limit), 452 Too many recipients
export function isRecipientLimit(r: SmtpReply): boolean {
  return (
    r.code === 452 && (subject(r) === "5.3" || /too many recipients/.test(text(r)))
  );
}

// Microsoft 365 with directory-based edge blocking answers unknown recipients with
// 550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [...]
const M365_UNKNOWN = /recipient address rejected: access denied/;

// 550 5.7.1 Service unavailable; Client host [x] blocked using zen.spamhaus.org
// 554 5.7.1 <x>: Relay access denied; 550 5.7.606 Access denied, banned sending IP
// 553 sorry, your IP is listed at barracudacentral; 554 Refused. Your IP address is listed in the RBL
const POLICY_WORDS =
  /block|black ?list|blocklist|spamhaus|spamcop|barracuda|sorbs|\brbl\b|dnsbl|reputation|banned|relay(ing)? (access )?(denied|not permitted)|not permitted to relay|access denied|policy|spf|dmarc|dkim|authentication required|not authori[sz]ed|prohibited|refused|rejected for policy|too many connections|rate limit/;

// 550 5.1.1 <x>: Recipient address rejected: User unknown in virtual mailbox table  (Postfix)
// 550-5.1.1 The email account that you tried to reach does not exist.  (Gmail)
// 550 No Such User Here  (cPanel Exim); 550 Unrouteable address  (Exim)
// 550 Invalid Recipient - https://community.mimecast.com/…  (Mimecast)
// 554 delivery error: dd This user doesn't have a yahoo.com account  (Yahoo)
// 550 Requested action not taken: mailbox unavailable  (RFC 5321 text, Microsoft 5.5.0)
const NOT_FOUND_WORDS =
  /user unknown|unknown user|unknown recipient|no such (user|mailbox|recipient|address|account)|does not exist|doesn'?t exist|not exist|doesn'?t have an? .{0,64} account|mailbox (is )?unavailable|mailbox not found|user not found|recipient not found|invalid (recipient|mailbox|address)|unrouteable address|undeliverable address|address unknown|not a valid (mailbox|recipient|user)|no mailbox|unknown (local part|mailbox)|account (does not exist|not found)/;

// 550 5.2.1 The email account that you tried to reach is disabled  (Gmail)
// 554 Sorry your message to x cannot be delivered. This mailbox is disabled (554.30)  (Yahoo)
const DISABLED_WORDS = /disabled|deactivated|inactive|suspended|no longer (active|available|in use)/;

// 452-4.2.2 The email account that you tried to reach is over quota  (Gmail)
// 552 5.2.2 Mailbox full; 452 Insufficient storage for this mailbox
const FULL_WORDS = /mailbox (is )?full|over ?quota|quota exceeded|exceeded (its|the) (storage|quota)|mailbox size limit|insufficient storage for/;

// 553 5.6.7 SMTPUTF8 not supported (RFC 6531 §3.5)
const UTF8_WORDS = /smtputf8|utf-?8 (address|not supported)|internationali[sz]ed address/;

// 421 4.7.0 Error: too many errors; 451 4.7.0 Temporary rate limit, slow down
const RATE_WORDS = /too many (errors|connections|messages|recipients)|rate limit|slow down|throttl/;

// 421 4.7.0 [TSS04] Messages from x temporarily deferred due to unexpected volume (Yahoo)
// 421 4.7.28 … unusual rate of unsolicited mail originating from your IP (Gmail)
// 451 4.7.500 Server busy. Please try again later (Microsoft)
// 421 4.7.0 Too many concurrent SMTP connections from this IP
// Not a deferral: limits on this one session (Postfix's "421 4.7.0 Error: too many errors",
// "421 … too many recipients on this connection"): a new session is the answer to those.
const DEFERRAL_WORDS = /rate limit|rate of|throttl|slow down|unexpected volume|server busy|too many (concurrent )?(smtp )?(connections|messages)|\bts[s0]?\d\d/;
const SESSION_LIMIT_WORDS = /too many (errors|recipients|rcpts?|commands)|this connection|this session/;

/**
 * A provider asking this sending IP to come back later (rate limiting), as opposed to a mailbox
 * or session answer. Before any RCPT (greeting), every 4xx is one; at MAIL/RCPT, only a 4.7.x
 * reply that closes the session or names a rate (a greylisting 451 4.7.1 is not).
 */
export function isDeferral(r: SmtpReply, beforeRcpt: boolean): boolean {
  if (r.code < 400 || r.code >= 500) return false;
  const t = text(r);
  if (SESSION_LIMIT_WORDS.test(t)) return false;
  if (beforeRcpt) return true;
  return subject(r)?.startsWith("7.") === true && (r.code === 421 || DEFERRAL_WORDS.test(t));
}

/** What a RCPT TO reply says about the mailbox. */
export function classifyRcpt(r: SmtpReply): RcptClass {
  if (r.code >= 200 && r.code < 300) return "accepted"; // 250, 251 will forward, 252 cannot VRFY
  if (r.code === 421) return "rate_limited"; // service closing the channel: nothing about the mailbox
  const s = subject(r);
  const t = text(r);
  const permanent = r.code >= 500;

  // Enhanced codes first (RFC 3463): they are the server's own classification.
  if (s?.startsWith("7.")) {
    // Security/policy status: never "no such mailbox".
    if (isGreylisting(r)) return "greylisted";
    if (!permanent && RATE_WORDS.test(t)) return "rate_limited";
    return "policy";
  }
  if (s === "6.7") return "smtputf8_unsupported";
  if (s === "2.2") return "mailbox_full"; // 4.2.2 and 5.2.2
  if (permanent && (s === "1.1" || s === "1.10" || s === "1.6")) return "mailbox_not_found";
  if (permanent && s === "2.1") return "mailbox_disabled";
  if (permanent && s === "4.1" && M365_UNKNOWN.test(t)) return "mailbox_not_found";

  if (!permanent) {
    if (isGreylisting(r)) return "greylisted";
    if (FULL_WORDS.test(t)) return "mailbox_full";
    if (RATE_WORDS.test(t)) return "rate_limited";
    return "temporary";
  }
  if (UTF8_WORDS.test(t)) return "smtputf8_unsupported";
  if (FULL_WORDS.test(t)) return "mailbox_full";
  if (M365_UNKNOWN.test(t)) return "mailbox_not_found";
  if (POLICY_WORDS.test(t)) return "policy";
  if (DISABLED_WORDS.test(t)) return "mailbox_disabled";
  if (NOT_FOUND_WORDS.test(t)) return "mailbox_not_found";
  return "ambiguous";
}

/**
 * A failure before RCPT (greeting, EHLO, MAIL FROM) says nothing about any one mailbox: keep what
 * it says about the server (policy, rate limit, temporary), never a mailbox-level class.
 */
export function classifySessionFailure(r: SmtpReply): RcptClass {
  const c = classifyRcpt(r);
  switch (c) {
    case "mailbox_not_found":
    case "mailbox_disabled":
    case "mailbox_full":
    case "accepted":
      return r.code >= 500 ? "ambiguous" : "temporary";
    default:
      return c;
  }
}

// 450 4.7.1 Greylisted, try again in 60 seconds; 451 Greylisted for 5 minutes. The number starts
// a digit run (the lookbehind) and is short, so a long run of digits costs one pass, not n².
const GREYLIST_HINT = /(?<!\d)(\d{1,6})\s{0,3}(seconds?|secs?|s\b|minutes?|mins?|m\b)/;

/** Seconds a greylisting server asks us to wait ("try again in 60 seconds"), if it says. */
export function greylistHintMs(r: SmtpReply): number | null {
  const m = GREYLIST_HINT.exec(text(r));
  if (!m) return null;
  const n = Number(m[1]);
  return m[2]!.startsWith("m") ? n * 60_000 : n * 1000;
}
