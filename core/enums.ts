// The closed sets of words the domain stores and speaks: db/schema.ts types its columns with them,
// the API offers them in its schemas and the app labels them. Sets with a module of their own live
// there: verdicts (core/verdict.ts), roles (core/roles.ts), API key modes (core/apikeys.ts).
// No zod here: db/schema.ts loads this first thing, and a zod schema built before
// @hono/zod-openapi loads has no `.openapi()` (zod 4 copies methods onto a schema when it is
// built), which edge/api/schemas.ts needs on the contracts' schemas (core/contracts.ts).

export const ACCOUNT_KINDS = ["personal", "team"] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** Every status a job can have; the database's column and the API's enum are this list. */
export const JOB_STATUSES = ["ingesting", "queued", "running", "completed", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** verify: a list of addresses; find: a list of people whose addresses are to be found (issue 14). */
export const JOB_KINDS = ["verify", "find"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Why credits moved (the ledger's `reason`). */
export const LEDGER_REASONS = [
  "signup_grant",
  "purchase",
  "plan_grant",
  "job_reserve",
  "refund_unknowns",
  "single_check",
  /** A single find (POST /api/v1/find) that returned an address. */
  "single_find",
  /** Stripe refunded (part of) a purchase: its share of the credits goes back. */
  "refund",
  "dispute",
  /** Auto top-up charged the saved card for a pack. */
  "auto_topup",
  "admin_adjustment",
  /** A hard bounce (5.1.x) contradicted a `deliverable` verdict within 30 days: that check's credit back (issue 24). */
  "bounce_refund",
] as const;
export type LedgerReason = (typeof LEDGER_REASONS)[number];

/** What an account can subscribe to; `webhook.test` is sent on demand only (POST /webhooks/:id/test). */
export const WEBHOOK_EVENT_TYPES = ["job.completed", "job.failed", "job.canceled", "verification.completed", "dm.enriched", "campaign.completed", "recipient.unsubscribed", "recipient.bounced", "recipient.complained"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An endpoint made through the API or the app, or a Zapier REST hook (one event). */
export const WEBHOOK_ENDPOINT_KINDS = ["endpoint", "zapier"] as const;

/** Why we turned an endpoint off: the receiver answered 410 Gone, or every delivery failed for 3 days. */
export const WEBHOOK_DISABLED_REASONS = ["gone", "failing"] as const;

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivering", "delivered", "failed"] as const;

// Sending (issue 23).

/**
 * A campaign's life: a draft until started; `verifying` while its list's job runs; `scheduled`
 * until `send_at`; `sending`; `paused` by its owner or by a relay's failure (status_reason says
 * which); then `completed`, `canceled` or `failed`.
 */
export const CAMPAIGN_STATUSES = ["draft", "verifying", "scheduled", "sending", "paused", "completed", "canceled", "failed"] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/**
 * A recipient's life: `queued` until a probe claims it (`sending`), then what the relay said:
 * `sent` (accepted, with its queue id), `failed` (refused for good), or `unknown_outcome` (claimed
 * but the answer was lost: never sent again). `suppressed` when the address was suppressed after
 * the campaign started (claims skip it); `canceled` when the campaign ended first.
 */
export const RECIPIENT_STATUSES = ["queued", "sending", "sent", "failed", "unknown_outcome", "suppressed", "canceled"] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

export const SEND_BATCH_STATUSES = ["pending", "dispatched", "done", "canceled"] as const;

/** Why an address is on the account's suppression list. */
export const SUPPRESSION_REASONS = ["unsubscribed", "bounced", "complained", "manual"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** How a relay connection is secured: STARTTLS on 587 (or 25), implicit TLS on 465, or none (loopback sinks). */
export const RELAY_SECURITIES = ["starttls", "tls", "none"] as const;
export type RelaySecurity = (typeof RELAY_SECURITIES)[number];

/** The customer's statement of why these people may be mailed. */
export const CONSENT_BASES = ["opt_in", "existing_customers"] as const;
export type ConsentBasis = (typeof CONSENT_BASES)[number];

// Bounces (issue 24).

/**
 * What a bounce says about its address: `hard` (failed with 5.x.x: suppressed at once), `soft`
 * (delayed, or 4.x.x: scored), `complaint` (an RFC 5965 feedback report: suppressed at once), or
 * `unclassified` (ours, but no rule could read it: kept visible, never guessed hard). Auto-replies
 * (RFC 3834) are not bounces and are never stored.
 */
export const BOUNCE_KINDS = ["hard", "soft", "complaint", "unclassified"] as const;
export type BounceKind = (typeof BOUNCE_KINDS)[number];

/**
 * Why, in RFC 3463's terms: `mailbox` (5.1.x: the address is wrong; only this contradicts a
 * `deliverable` verdict), `mailbox_full` (x.2.2), `policy` (x.7.x: the message or the sender was
 * refused, not the address), `system` (network, routing, protocol, content), `other`.
 */
export const BOUNCE_CATEGORIES = ["mailbox", "mailbox_full", "policy", "system", "other"] as const;
export type BounceCategory = (typeof BOUNCE_CATEGORIES)[number];

/** Where a bounce came from: a bounce mailbox read over IMAP, or POST /api/v1/bounces. */
export const BOUNCE_SOURCES = ["imap", "api"] as const;
export type BounceSource = (typeof BOUNCE_SOURCES)[number];
