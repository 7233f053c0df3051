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
] as const;
export type LedgerReason = (typeof LEDGER_REASONS)[number];

/** What an account can subscribe to; `webhook.test` is sent on demand only (POST /webhooks/:id/test). */
export const WEBHOOK_EVENT_TYPES = ["job.completed", "job.failed", "job.canceled", "verification.completed", "dm.enriched"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An endpoint made through the API or the app, or a Zapier REST hook (one event). */
export const WEBHOOK_ENDPOINT_KINDS = ["endpoint", "zapier"] as const;

/** Why we turned an endpoint off: the receiver answered 410 Gone, or every delivery failed for 3 days. */
export const WEBHOOK_DISABLED_REASONS = ["gone", "failing"] as const;

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivering", "delivered", "failed"] as const;
