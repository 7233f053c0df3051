// The verdict model: one record of facts per address, one pure function from facts to verdict.
// The table below is the whole policy; docs/verdicts.md and the API docs mirror it.

export const VERDICTS = ["deliverable", "undeliverable", "risky", "unknown"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Every reason code, with the verdict it always implies. Closed set: extend, never rename. */
export const REASON_VERDICT = {
  accepted: "deliverable",

  invalid_syntax: "undeliverable",
  domain_literal: "undeliverable",
  no_such_domain: "undeliverable",
  null_mx: "undeliverable",
  no_mail_server: "undeliverable",
  no_mx_address: "undeliverable",
  mailbox_not_found: "undeliverable",
  mailbox_disabled: "undeliverable",
  smtputf8_unsupported: "undeliverable",

  catch_all: "risky",
  disposable: "risky",
  mailbox_full: "risky",

  dns_error: "unknown",
  mx_unreachable: "unknown",
  timeout: "unknown",
  policy_block: "unknown",
  greylisted: "unknown",
  rate_limited: "unknown",
  temporary_failure: "unknown",
  ambiguous_reply: "unknown",
  protocol_error: "unknown",
  private_target: "unknown",
} as const satisfies Record<string, Verdict>;
export type Reason = keyof typeof REASON_VERDICT;
export const REASONS = Object.keys(REASON_VERDICT) as Reason[];

/** What a RCPT TO reply means, as decided by the probe's reply parser. */
export const RCPT_CLASSES = [
  "accepted",
  "mailbox_not_found", // 550 5.1.1, 5.1.10, "user unknown"
  "mailbox_disabled", // 550 5.2.1
  "mailbox_full", // 452 4.2.2, 552 5.2.2
  "smtputf8_unsupported", // 553 5.6.7, or no SMTPUTF8 for a UTF-8 mailbox
  "greylisted", // 450/451 4.7.1, "greylisted"
  "policy", // 5.7.x, blocklists: says nothing about the mailbox
  "rate_limited", // 421, 4.7.0 too many errors/connections
  "temporary", // any other 4xx
  "ambiguous", // a 5xx we cannot tie to the mailbox
] as const;
export type RcptClass = (typeof RCPT_CLASSES)[number];

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code ("5.1.1"), when the server gave one. */
  enhanced: string | null;
  message: string;
}

export type DnsFacts =
  | { kind: "mx"; hosts: string[] }
  | { kind: "implicit_mx"; hosts: string[] } // RFC 5321 §5.1: no MX, the domain's A/AAAA
  | { kind: "null_mx" } // RFC 7505: "MX 0 ."
  | { kind: "nxdomain" }
  | { kind: "no_mail" } // the name exists, but has no MX and no address
  // Every MX target answered NXDOMAIN or had no A/AAAA (RFC 5321 §5.1: a permanent failure). A
  // target whose lookup failed makes the whole answer "error" instead: we could not tell.
  | { kind: "no_mx_address"; hosts: string[] }
  | { kind: "error"; detail: string }; // SERVFAIL, timeouts: we could not tell

export type SmtpFacts =
  | { kind: "reply"; rcpt: RcptClass; reply: SmtpReply; mx: string }
  | { kind: "timeout"; mx: string | null; phase: string }
  | { kind: "unreachable"; detail: string } // every MX refused or failed to connect
  | { kind: "protocol_error"; mx: string; detail: string; reply: SmtpReply | null }
  // Every MX address is loopback, private, link-local or otherwise not public: not asked, since
  // anyone can point an MX at the probe's own network (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it).
  | { kind: "private_target"; mx: string; address: string };

export interface Facts {
  syntax: { ok: true } | { ok: false; reason: "invalid_syntax" | "domain_literal" };
  disposable: boolean;
  role: boolean;
  free: boolean;
  dns: DnsFacts | null; // null: not looked up (bad syntax)
  smtp: SmtpFacts | null; // null: not asked (no mail host, or disposable)
  /** true: the domain accepted a random mailbox; false: it rejected one; null: not tested or no answer. */
  catchAll: boolean | null;
}

export interface Decision {
  verdict: Verdict;
  reason: Reason;
  score: number;
  greylisted: boolean;
}

const RCPT_REASON: Record<Exclude<RcptClass, "accepted">, Reason> = {
  mailbox_not_found: "mailbox_not_found",
  mailbox_disabled: "mailbox_disabled",
  mailbox_full: "mailbox_full",
  smtputf8_unsupported: "smtputf8_unsupported",
  greylisted: "greylisted",
  policy: "policy_block",
  rate_limited: "rate_limited",
  temporary: "temporary_failure",
  ambiguous: "ambiguous_reply",
};

function reasonOf(f: Facts): Reason {
  if (!f.syntax.ok) return f.syntax.reason;
  switch (f.dns?.kind) {
    case "nxdomain":
      return "no_such_domain";
    case "null_mx":
      return "null_mx";
    case "no_mail":
      return "no_mail_server";
    case "no_mx_address":
      return "no_mx_address";
    case "error":
      return "dns_error";
    case undefined:
      return "dns_error";
  }
  // Disposable inboxes take anything and vanish: risky whatever SMTP would say.
  if (f.disposable) return "disposable";
  const smtp = f.smtp;
  if (!smtp) return "protocol_error";
  switch (smtp.kind) {
    case "timeout":
      return "timeout";
    case "unreachable":
      return "mx_unreachable";
    case "protocol_error":
      return "protocol_error";
    case "private_target":
      return "private_target";
    case "reply":
      if (smtp.rcpt !== "accepted") return RCPT_REASON[smtp.rcpt];
      return f.catchAll === true ? "catch_all" : "accepted";
  }
}

// Score: how likely a message to this address lands, 0–100. Coarse on purpose: the verdict and
// reason carry the meaning, the score only orders addresses within a verdict.
const BASE_SCORE: Record<Reason, number> = {
  accepted: 95,
  invalid_syntax: 0,
  domain_literal: 0,
  no_such_domain: 0,
  null_mx: 0,
  no_mail_server: 2,
  no_mx_address: 2,
  mailbox_not_found: 3,
  mailbox_disabled: 3,
  smtputf8_unsupported: 5,
  catch_all: 55,
  disposable: 15,
  mailbox_full: 30,
  dns_error: 35,
  mx_unreachable: 30,
  timeout: 40,
  policy_block: 45,
  greylisted: 50,
  rate_limited: 45,
  temporary_failure: 40,
  ambiguous_reply: 35,
  protocol_error: 35,
  private_target: 5, // mail from the internet cannot reach a private address either
};

export function decide(f: Facts): Decision {
  const reason = reasonOf(f);
  const verdict = REASON_VERDICT[reason];
  let score = BASE_SCORE[reason];
  if (verdict === "deliverable" || verdict === "risky") {
    // Role inboxes are often shared or filtered; an untested catch-all status is a small doubt.
    if (f.role) score -= 10;
    if (verdict === "deliverable" && f.catchAll === null) score -= 10;
  }
  const greylisted = f.smtp?.kind === "reply" && f.smtp.rcpt === "greylisted";
  return { verdict, reason, score: Math.max(0, Math.min(100, score)), greylisted };
}

/** How our verdicts read in the vocabularies of the well-known services (docs/verdicts.md has the table). */
export const PEER_STATUS: Record<Verdict, { zerobounce: string; kickbox: string; reacher: string }> = {
  deliverable: { zerobounce: "valid", kickbox: "deliverable", reacher: "safe" },
  undeliverable: { zerobounce: "invalid", kickbox: "undeliverable", reacher: "invalid" },
  risky: { zerobounce: "catch-all / do_not_mail", kickbox: "risky", reacher: "risky" },
  unknown: { zerobounce: "unknown", kickbox: "unknown", reacher: "unknown" },
};
