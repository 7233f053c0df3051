// Every reason code in words (issue 26), for <Reason> (app/components/reason.tsx) and for tests
// that read the pages.
import type { Reason as ReasonCode } from "../../core/verdict.ts";

/** Every reason code of core/verdict.ts as a person reads it (reason.test.ts checks none is missing). */
export const REASON_WORDS: Record<ReasonCode, string> = {
  accepted: "Mailbox exists",
  invalid_syntax: "Not a valid address",
  domain_literal: "Address at an IP, not a domain",
  no_such_domain: "Domain does not exist",
  null_mx: "Domain takes no mail",
  no_mail_server: "Domain has no mail server",
  no_mx_address: "Mail server has no address",
  mailbox_not_found: "No such mailbox",
  mailbox_disabled: "Mailbox disabled",
  smtputf8_unsupported: "Server refuses international addresses",
  catch_all: "Domain accepts every address",
  disposable: "Disposable address",
  mailbox_full: "Mailbox full",
  dns_error: "DNS lookup failed",
  mx_unreachable: "Mail server unreachable",
  timeout: "Mail server too slow to answer",
  policy_block: "Server refused to tell (policy block)",
  greylisted: "Greylisted: server asked to try later",
  rate_limited: "Server limited our checks",
  temporary_failure: "Temporary server failure",
  ambiguous_reply: "Unclear server reply",
  protocol_error: "Server broke the SMTP protocol",
  private_target: "Mail server at a private address",
};

/** Words for a code; an unknown code (a newer API than this page) reads as itself. */
export const reasonWords = (code: string) => (REASON_WORDS as Record<string, string>)[code] ?? code.replace(/_/g, " ");

