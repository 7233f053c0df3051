// What a bounce's status means (issue 24), shared by the probe's parser and the edge's
// POST /api/v1/bounces. RFC 3463 enhanced status codes: class.subject.detail, where the class says
// how permanent (2 success, 4 transient, 5 permanent) and the subject says what failed (1
// addressing, 2 mailbox, 3 mail system, 4 network and routing, 5 protocol, 6 content, 7 security
// and policy). docs/decisions/010-bounces.md
import type { BounceCategory, BounceKind } from "./enums.ts";

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})$/;
/** An enhanced status inside free text, e.g. a Diagnostic-Code "smtp; 550 5.1.1 <a@b>: user unknown". */
const ENHANCED_IN_TEXT = /(?:^|[\s;:(\[-])([245]\.\d{1,3}\.\d{1,3})(?=$|[\s;:,.)\]-])/;

/** The enhanced status as "x.y.z" when it is one (leading zeros dropped), else null. */
export function normalizeStatus(status: string | null | undefined): string | null {
  const m = ENHANCED.exec((status ?? "").trim());
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/** The first enhanced status a line of text carries (a Diagnostic-Code, an SMTP reply), else null. */
export function statusInText(text: string | null | undefined): string | null {
  const m = ENHANCED_IN_TEXT.exec(text ?? "");
  return m ? normalizeStatus(m[1]) : null;
}

/** x.1.7 and x.1.8 are the sender's address, not the recipient's (RFC 3463 §3.2). */
const SENDER_ADDRESS = new Set([7, 8]);
/** The x.1.x details that say the recipient's address is wrong: 0 other, 1 no such mailbox, 2 no such system, 3 bad syntax, 6 moved, 10 null MX (RFC 7505). */
const WRONG_ADDRESS = new Set([0, 1, 2, 3, 6, 10]);

export function statusCategory(status: string | null): BounceCategory {
  const m = ENHANCED.exec(status ?? "");
  if (!m) return "other";
  const subject = Number(m[2]);
  const detail = Number(m[3]);
  if (subject === 1) return SENDER_ADDRESS.has(detail) ? "policy" : WRONG_ADDRESS.has(detail) ? "mailbox" : "other";
  if (subject === 2) return detail === 2 ? "mailbox_full" : detail === 1 ? "mailbox" : "other";
  if (subject === 7) return "policy";
  if (subject >= 3 && subject <= 6) return "system";
  return "other";
}

/**
 * A report's verdict on one recipient. `failed` with 5.x.x is hard, `delayed` or 4.x.x is soft
 * (RFC 3464 §2.3.3); a full mailbox (x.2.2) is soft even when final, as the big mailbox providers
 * treat it: it empties. With no usable status the action decides; with neither, unclassified.
 */
export function classifyBounce(action: string | null, status: string | null): { kind: BounceKind; category: BounceCategory } | null {
  const act = (action ?? "").trim().toLowerCase();
  // delivered, relayed and expanded are successes (RFC 3464 §2.3.3): no bounce at all.
  if (act === "delivered" || act === "relayed" || act === "expanded") return null;
  const normalized = normalizeStatus(status);
  const category = statusCategory(normalized);
  const klass = normalized?.[0];
  if (klass === "2") return null;
  if (category === "mailbox_full") return { kind: "soft", category };
  if (act === "delayed" || klass === "4") return { kind: "soft", category };
  if (klass === "5") return { kind: "hard", category };
  if (act === "failed") return { kind: "hard", category };
  return { kind: "unclassified", category };
}

/**
 * Whether a hard bounce with this status says the address does not take mail: the only kind of
 * bounce that contradicts a `deliverable` verdict and refunds its credit. 5.7.x policy refusals
 * never do: the message or the sender was refused, not the address.
 */
export function contradictsDeliverable(kind: BounceKind, status: string | null): boolean {
  const normalized = normalizeStatus(status);
  return kind === "hard" && normalized !== null && normalized.startsWith("5.1.") && statusCategory(normalized) === "mailbox";
}
