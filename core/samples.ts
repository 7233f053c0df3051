// What a job, a result, a find, a campaign and an unsubscribe look like, for anyone shown one
// before real ones exist: the samples of GET /api/v1/hooks/samples and of the Zapier integration's editor.
import type { FindAnswer, JobView, Result } from "./contracts.ts";
import type { RatedResult } from "./rules.ts";

export const SAMPLE_JOB: JobView = {
  id: "job_3kq8zp1m0avw2xbycd4e",
  name: "signups-march.csv",
  kind: "verify",
  status: "completed",
  total: 1_204,
  unique: 1_180,
  processed: 1_180,
  counts: { deliverable: 932, undeliverable: 141, risky: 77, unknown: 30 },
  progress: 1,
  rejects: { no_address: 3, too_long: 0, invalid_person: 0 },
  created_at: "2025-03-14T09:26:53.000Z",
  finished_at: "2025-03-14T09:31:12.000Z",
  results_expired_at: null,
  files: null,
};

/** A single check's answer, as POST /api/v1/verify and `verification.completed` carry it. */
export const SAMPLE_RESULT: RatedResult = {
  email: "ada@example.com",
  normalized: "ada@example.com",
  verdict: "deliverable",
  reason: "accepted",
  catch_all: false,
  disposable: false,
  role: false,
  free: false,
  greylisted: false,
  suggestion: null,
  score: 95,
  mx: "mx1.example.com",
  smtp: { code: 250, enhanced: "2.1.5", message: "Recipient ok" },
  duration_ms: 812,
  retry_after: null,
  safe_to_send: true,
};

/** A person's address found: the first candidate was refused, the second taken. */
export const SAMPLE_FIND: FindAnswer = {
  email: "alovelace@example.com",
  verdict: "deliverable",
  reason: "accepted",
  confidence: 95,
  pattern: "flast",
  catch_all: false,
  candidates: [
    { email: "ada.lovelace@example.com", pattern: "first.last", verdict: "undeliverable", reason: "mailbox_not_found", mx: "mx1.example.com", smtp: { code: 550, enhanced: "5.1.1", message: "User unknown" } },
    { email: "alovelace@example.com", pattern: "flast", verdict: "deliverable", reason: "accepted", mx: "mx1.example.com", smtp: { code: 250, enhanced: "2.1.5", message: "Recipient ok" } },
  ],
  duration_ms: 1_204,
};

/** A `dm.enriched` event's data: a domain's decision makers, each with the address found, if any. */
export interface DmEnriched {
  domain: string;
  provider: "pdl" | "apollo";
  people: { full_name: string; title: string | null; email: string | null; verdict: Result["verdict"] | null; confidence: number | null }[];
}

export const SAMPLE_DM_ENRICHED: DmEnriched = {
  domain: "example.com",
  provider: "pdl",
  people: [
    { full_name: "Ada Lovelace", title: "Chief Executive Officer", email: "ada.lovelace@example.com", verdict: "deliverable", confidence: 95 },
    { full_name: "Charles Babbage", title: "Head of Sales", email: null, verdict: null, confidence: null },
  ],
};

/** A `recipient.unsubscribed` event's data: who clicked, in which campaign, and when (issue 23). */
export interface RecipientUnsubscribed {
  email: string;
  campaign_id: string;
  /** The campaign's recipient row (`GET /api/v1/campaigns/{id}/recipients`). */
  recipient_id: number;
  unsubscribed_at: string;
}

export const SAMPLE_RECIPIENT_UNSUBSCRIBED: RecipientUnsubscribed = {
  email: "ada@example.com",
  campaign_id: "cmp_5t0kq8zp1m0avw2xbycd",
  recipient_id: 4_211,
  unsubscribed_at: "2025-03-15T10:02:41.000Z",
};

/**
 * A `recipient.bounced` or `recipient.complained` event's data (issue 24): one bounce of one
 * address, what it said, and whether it gave back the credit of a `deliverable` verdict.
 */
export interface RecipientBounced {
  bounce_id: string;
  email: string;
  kind: "hard" | "soft" | "complaint" | "unclassified";
  /** mailbox | mailbox_full | policy | system | other (core/enums.ts BOUNCE_CATEGORIES); null for complaints. */
  category: string | null;
  /** RFC 3463 enhanced status, e.g. "5.1.1". */
  status: string | null;
  diagnostic: string | null;
  source: "imap" | "api";
  /** The campaign and recipient row it came back for, when known. */
  campaign_id: string | null;
  recipient_id: number | null;
  suppressed: boolean;
  /** The job whose `deliverable` verdict this bounce contradicted (a credit went back), else null. */
  refunded_job_id: string | null;
  occurred_at: string;
}

export const SAMPLE_RECIPIENT_BOUNCED: RecipientBounced = {
  bounce_id: "bnc_8q2m0c1x7d4kz9t3vw5a",
  email: "ada@example.com",
  kind: "hard",
  category: "mailbox",
  status: "5.1.1",
  diagnostic: "smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown",
  source: "imap",
  campaign_id: "cmp_5t0kq8zp1m0avw2xbycd",
  recipient_id: 4_211,
  suppressed: true,
  refunded_job_id: "job_7d1x3c9m2q0z8kt4wv6b",
  occurred_at: "2025-03-15T10:04:12.000Z",
};

export const SAMPLE_RECIPIENT_COMPLAINED: RecipientBounced = {
  ...SAMPLE_RECIPIENT_BOUNCED,
  bounce_id: "bnc_3f9k2w0p8x1m7c4zq6ta",
  kind: "complaint",
  category: null,
  status: null,
  diagnostic: null,
  refunded_job_id: null,
};

/** A `campaign.completed` event's data: the campaign as GET /api/v1/campaigns/{id} answers it (edge/campaigns/views.ts). */
export const SAMPLE_CAMPAIGN = {
  id: "cmp_5t0kq8zp1m0avw2xbycd",
  name: "March newsletter",
  status: "completed",
  status_reason: null,
  job_id: "job_3kq8zp1m0avw2xbycd4e",
  sender_id: "snd_0b7n2c4xq1m8zt5ra9we",
  template_id: "tpl_8d1v6k0qz3w9x2nm5bty",
  include_risky: false,
  send_at: null,
  rate_per_hour: 5_000,
  consent: { basis: "opt_in", source: "Newsletter sign-up form on example.com, double opt-in" },
  created_by: "key_2m9x4q7c1v8b0n3z6k5p",
  counts: { audience: 925, sent: 918, failed: 3, suppressed: 7, skipped_unverified: 248, unsubscribed: 4, bounced: 2, unknown_outcome: 4 },
  created_at: "2025-03-14T09:40:02.000Z",
  started_at: "2025-03-14T09:41:10.000Z",
  finished_at: "2025-03-14T09:52:37.000Z",
  updated_at: "2025-03-14T09:52:37.000Z",
} as const;
