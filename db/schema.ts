// The edge's data in Turso (libSQL). Every tenant-owned table carries account_id, and every query
// of the edge filters on it. Times are Unix milliseconds. Generate migrations with
// `npm run db:generate` after a change here.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { KEY_KINDS, KEY_MODES } from "../core/apikeys.ts";
import {
  ACCOUNT_KINDS,
  BOUNCE_CATEGORIES,
  BOUNCE_KINDS,
  BOUNCE_SOURCES,
  CAMPAIGN_STATUSES,
  CONSENT_BASES,
  JOB_KINDS,
  JOB_STATUSES,
  LEDGER_REASONS,
  RECIPIENT_STATUSES,
  RELAY_SECURITIES,
  SEND_BATCH_STATUSES,
  SUPPRESSION_REASONS,
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_DISABLED_REASONS,
  WEBHOOK_ENDPOINT_KINDS,
} from "../core/enums.ts";
import { ROLES } from "../core/roles.ts";
import { VERDICTS } from "../core/verdict.ts";

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(), // acc_…
  name: text("name").notNull(),
  kind: text("kind", { enum: ACCOUNT_KINDS }).notNull(),
  /** Clerk organization (teams) or user (personal accounts), when Clerk is used. */
  clerkId: text("clerk_id").unique(),
  /** Cached sum of credit_ledger.delta, updated in the same write as each ledger entry. */
  creditBalance: integer("credit_balance").notNull().default(0),
  /** An operator disabled it (/admin, issue 13): keys refused, members see why, its batches wait. */
  disabledAt: integer("disabled_at"),
  disabledReason: text("disabled_reason"),
  /** Soft bounces (issue 24): the score that suppresses an address, and the quiet days that reset it. */
  softBounceThreshold: real("soft_bounce_threshold").notNull().default(3),
  softBounceResetDays: integer("soft_bounce_reset_days").notNull().default(30),
  /** Retention (issue 25): results of jobs older than this many days are purged; null keeps them until deleted. */
  retentionDays: integer("retention_days"),
  /** The account's sending rules (issue 25, core/rules.ts) as JSON; null means the default rules. */
  rules: text("rules"),
  createdAt: integer("created_at").notNull().default(now),
});

/**
 * Each account's data key (envelope encryption, core/secrets.ts and docs/decisions/008): a random
 * AES-256 key that seals the account's secrets (webhook signing secrets, later relay and mailbox
 * passwords), stored only wrapped by a master key of MXRAY_ENCRYPTION_KEYS (`v1.<master key
 * id>.…`, bound to the account). Deleting the row makes the account's secrets unreadable at once.
 * Written only by edge/secrets/secrets.ts (and rewrapped by `npm run secrets:rotate`).
 */
export const dataKeys = sqliteTable("data_keys", {
  accountId: text("account_id").primaryKey().references(() => accounts.id, { onDelete: "cascade" }),
  /** dk_…: named by every value sealed under it, so a replaced key fails as "unknown key", not as a wrong one. */
  id: text("id").notNull().unique(),
  wrapped: text("wrapped").notNull(),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

export const members = sqliteTable(
  "members",
  {
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    email: text("email").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.userId] }), index("members_user").on(t.userId)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(), // key_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    mode: text("mode", { enum: KEY_MODES }).notNull(),
    /** secret: the whole API; publishable (`mx_pk_…`, issue 25): only the single check, from `origins`. */
    kind: text("kind", { enum: KEY_KINDS }).notNull().default("secret"),
    /** A publishable key's allowed origins (JSON array of `scheme://host[:port]`); null for secret keys. */
    origins: text("origins"),
    /** The first characters of the key, shown in lists; the key itself is shown once. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key, hex: a lookup by hash needs no per-key salt for a 256-bit random key. */
    hash: text("hash").notNull(),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.hash), index("api_keys_account").on(t.accountId)],
);

/**
 * The local sign-in's sessions. The cookie is signed and names its row, which is read on every
 * request: signing out (revoked_at) ends the session at once, not when the cookie expires.
 * Expired rows are purged by the sweeper.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(), // ses_…
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("sessions_expires").on(t.expiresAt)],
);

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(), // job_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** verify: a list of addresses; find: a list of people whose addresses are to be found (issue 14). */
    kind: text("kind", { enum: JOB_KINDS }).notNull().default("verify"),
    status: text("status", { enum: JOB_STATUSES }).notNull(),
    total: integer("total").notNull().default(0), // rows received
    unique: integer("unique_count").notNull().default(0), // addresses after dedupe
    processed: integer("processed").notNull().default(0),
    deliverable: integer("deliverable").notNull().default(0),
    undeliverable: integer("undeliverable").notNull().default(0),
    risky: integer("risky").notNull().default(0),
    unknown: integer("unknown").notNull().default(0),
    /** The probe and minute of the last counter move by a posted chunk: the jobs_probe_minutes
     *  trigger credits the move to probe_minutes (migration 0009), so the hot write stays one join. */
    countedProbeId: text("counted_probe_id"),
    countedMinute: integer("counted_minute"),
    /** The uploaded file's header (JSON array) and the column holding addresses, for the export. */
    columns: text("columns"),
    emailColumn: text("email_column"),
    /** Input rows that got no result, by reason (JSON object); null for jobs from before issue 9. */
    rejects: text("rejects"),
    /** An archive's files (issue 25): JSON array of { name, total, rejects } per file read; null otherwise. */
    files: text("files"),
    creditsReserved: integer("credits_reserved").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    finishedAt: integer("finished_at"),
    /** Deleted by its owner: hidden at once, its rows purged in small steps (edge/jobs/purge.ts). */
    deletedAt: integer("deleted_at"),
    /** Its account's retention (issue 25) ran out: the summary stays, the results are purged in steps (edge/jobs/expiry.ts). */
    resultsExpiredAt: integer("results_expired_at"),
    /** The last of those results went: nothing of the job names an address any more. */
    resultsPurgedAt: integer("results_purged_at"),
  },
  (t) => [
    index("jobs_account_created").on(t.accountId, t.createdAt),
    index("jobs_deleted").on(t.deletedAt),
    // Only the jobs whose purge is under way: the sweeper finds them without reading every expired one.
    index("jobs_results_purging").on(t.resultsExpiredAt).where(sql`results_expired_at IS NOT NULL AND results_purged_at IS NULL`),
  ],
);

/**
 * One row per answered address, written once: the first final answer wins (primary key), so a
 * repeated chunk or a batch answered by two probes writes nothing twice. Unanswered addresses
 * live only in their batch's `items`, which keeps rows written near one per address.
 */
export const jobEmails = sqliteTable(
  "job_emails",
  {
    jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    /** Dedupe key (lower-cased, A-label domain); the lower-cased input when the syntax is invalid. */
    normalized: text("normalized").notNull(),
    email: text("email").notNull(), // as given
    rowIndex: integer("row_index").notNull(),
    /** The user's original row (JSON array), kept for the export; null for plain lists. */
    row: text("row"),
    /** null for addresses answered at ingest (bad syntax). */
    batchId: text("batch_id"),
    verdict: text("verdict", { enum: VERDICTS }).notNull(),
    reason: text("reason").notNull(),
    /** The whole result record (core/contracts.ts ResultSchema) as JSON. */
    result: text("result").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.normalized] }),
    index("job_emails_job_row").on(t.jobId, t.rowIndex),
    index("job_emails_job_verdict_row").on(t.jobId, t.verdict, t.rowIndex),
    index("job_emails_job_batch").on(t.jobId, t.batchId),
  ],
);

/**
 * The data rows of an upload that have no job_emails row of their own (issue 26): a repeat of an
 * earlier row's address, which shares that row's result, and a rejected row. With job_emails they
 * give the full export one line per data row, in row_index order. Written at ingest, never changed.
 */
export const jobRows = sqliteTable(
  "job_rows",
  {
    jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    rowIndex: integer("row_index").notNull(),
    /** A repeat: its first row's dedupe key (job_emails.normalized). Null for a reject. */
    normalized: text("normalized"),
    /** A reject's reason (core/contracts.ts RejectReason). Null for a repeat. */
    reason: text("reason"),
    /** The user's original cells (JSON array); [] for a line too long to be split. */
    row: text("row").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.rowIndex] }), index("job_rows_job_normalized").on(t.jobId, t.normalized)],
);

export const BATCH_STATUSES = ["pending", "dispatched", "done", "canceled"] as const;

export const batches = sqliteTable(
  "batches",
  {
    id: text("id").primaryKey(), // bat_…
    jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    status: text("status", { enum: BATCH_STATUSES }).notNull(),
    size: integer("size").notNull(),
    /** 0 for a first pass; n for the n-th re-queue of greylisted addresses. */
    round: integer("round").notNull().default(0),
    probeId: text("probe_id"),
    /** A dispatched batch not finished by then goes back to another probe. */
    leaseExpiresAt: integer("lease_expires_at"),
    /** Dispatches so far. */
    attempts: integer("attempts").notNull().default(0),
    /** Not before this time (greylisting re-queues). */
    notBefore: integer("not_before").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    index("batches_job").on(t.jobId, t.status),
    index("batches_status_not_before").on(t.status, t.notBefore),
    index("batches_status_lease").on(t.status, t.leaseExpiresAt),
    index("batches_probe_status").on(t.probeId, t.status),
  ],
);

/**
 * A batch's addresses, apart from the batch row: the batch's status, lease and counters change
 * often and are scanned by dispatch, and SQLite rewrites (and reads through) a whole row, so a
 * row holding 100+ KB of addresses made every claim and every dispatch scan cost that much.
 */
export const batchItems = sqliteTable("batch_items", {
  batchId: text("batch_id").primaryKey().references(() => batches.id, { onDelete: "cascade" }),
  /** JSON: [key, email, rowIndex, row | null, person?][] (core/ingest.ts BatchItem). */
  items: text("items").notNull(),
});

export const probes = sqliteTable(
  "probes",
  {
    id: text("id").primaryKey(), // prb_…
    url: text("url").notNull(),
    version: text("version"),
    capacity: integer("capacity").notNull().default(0),
    inFlight: integer("in_flight").notNull().default(0),
    /**
     * "draining" is the probe's own word (its heartbeat). "drained" and "disabled" are an
     * operator's (/admin), which heartbeats keep: drained finishes what it holds, disabled gives it up.
     */
    status: text("status", { enum: ["active", "draining", "dead", "disabled", "drained"] }).notNull(),
    lastHeartbeatAt: integer("last_heartbeat_at"),
    /** The latest heartbeat's `self_check` and `shared_state` (core/contracts.ts), as JSON. */
    selfCheck: text("self_check"),
    sharedState: text("shared_state"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("probes_status_heartbeat").on(t.status, t.lastHeartbeatAt)],
);

/**
 * Answers each probe posted, per minute and verdict: the fleet's throughput and verdict mix in
 * /admin. Bumped in the same write that stores the answers (results.ts); the sweeper drops old minutes.
 */
export const probeMinutes = sqliteTable(
  "probe_minutes",
  {
    probeId: text("probe_id").notNull(),
    /** Unix minute (ms / 60,000). */
    minute: integer("minute").notNull(),
    deliverable: integer("deliverable").notNull().default(0),
    undeliverable: integer("undeliverable").notNull().default(0),
    risky: integer("risky").notNull().default(0),
    unknown: integer("unknown").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.probeId, t.minute] })],
);

/**
 * What address pattern each mail domain uses (issue 14): a pattern's name (core/finder/patterns.ts)
 * and how many addresses were verified deliverable with it there, never the addresses. Shared by
 * every account, as a domain's format is public knowledge; the finder orders candidates by it.
 */
export const domainPatterns = sqliteTable(
  "domain_patterns",
  {
    domain: text("domain").notNull(),
    pattern: text("pattern").notNull(),
    count: integer("count").notNull().default(0),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.domain, t.pattern] })],
);

export const creditLedger = sqliteTable(
  "credit_ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    delta: integer("delta").notNull(),
    kind: text("kind", { enum: ["grant", "purchase", "reserve", "settle", "refund", "reversal"] }).notNull(),
    /** Why credits moved (core/enums.ts); `kind` is the older, coarser class and stays for existing readers. */
    reason: text("reason", { enum: LEDGER_REASONS }).notNull(),
    /** Who moved the credits: a user id, an API key id, "stripe" or "system". */
    actor: text("actor").notNull(),
    jobId: text("job_id"),
    /** A retried Stripe event or job settlement writes nothing twice. */
    idempotencyKey: text("idempotency_key").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("credit_ledger_idempotency").on(t.idempotencyKey), index("credit_ledger_account").on(t.accountId, t.createdAt)],
);

/**
 * What Stripe told us about one payment, by payment intent, in whatever order the events came:
 * the purchase (account, credits, amount) and what was refunded or disputed. The credits taken
 * back so far follow from these facts (edge/billing/payments.ts), so a refund that arrives
 * before its purchase is applied when the purchase arrives.
 */
export const stripePayments = sqliteTable("stripe_payments", {
  paymentIntent: text("payment_intent").primaryKey(), // pi_…
  /** null until the purchase (checkout.session.completed) arrives. */
  accountId: text("account_id").references(() => accounts.id, { onDelete: "cascade" }),
  checkoutSession: text("checkout_session"),
  credits: integer("credits"),
  /** The charge in the currency's smallest unit. */
  amount: integer("amount"),
  amountRefunded: integer("amount_refunded").notNull().default(0),
  disputed: integer("disputed", { mode: "boolean" }).notNull().default(false),
  /** The dispute closed in our favour (final in Stripe): its credits come back. */
  disputeWon: integer("dispute_won", { mode: "boolean" }).notNull().default(false),
  /** Credits already taken back through the ledger for refunds and disputes. */
  takenBack: integer("taken_back").notNull().default(0),
  updatedAt: integer("updated_at").notNull().default(now),
});

/** A plan: one Stripe subscription per row; canceled is final, as in Stripe. */
export const stripeSubscriptions = sqliteTable(
  "stripe_subscriptions",
  {
    id: text("id").primaryKey(), // sub_…
    accountId: text("account_id").references(() => accounts.id, { onDelete: "cascade" }),
    customerId: text("customer_id"),
    plan: text("plan"),
    status: text("status", { enum: ["active", "canceled"] }).notNull(),
    endedAt: integer("ended_at"),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("stripe_subscriptions_account").on(t.accountId)],
);

/**
 * An account's billing settings, made on first use: its one Stripe customer, and auto top-up
 * (off by default; owners turn it on). An attempt is claimed by one conditional write (idle →
 * charging) before any call to Stripe, and a failure stays `failed`, shown on /billing, until an
 * owner acts: a declined card is never retried in a loop.
 */
export const billing = sqliteTable("billing", {
  accountId: text("account_id").primaryKey().references(() => accounts.id, { onDelete: "cascade" }),
  stripeCustomerId: text("stripe_customer_id").unique(),
  autoTopupEnabled: integer("auto_topup_enabled", { mode: "boolean" }).notNull().default(false),
  /** Top up when the balance falls below this many credits. */
  autoTopupThreshold: integer("auto_topup_threshold").notNull().default(1_000),
  /** The pack charged (a lookup key of core/billing.ts). */
  autoTopupPack: text("auto_topup_pack").notNull().default("credits_10k"),
  autoTopupState: text("auto_topup_state", { enum: ["idle", "charging", "failed"] }).notNull().default("idle"),
  /** Numbers the attempts: Stripe's idempotency key, so a retried attempt never charges twice. */
  autoTopupAttempt: integer("auto_topup_attempt").notNull().default(0),
  autoTopupAt: integer("auto_topup_at"),
  autoTopupError: text("auto_topup_error"),
  autoTopupPaymentIntent: text("auto_topup_payment_intent"),
  updatedAt: integer("updated_at").notNull().default(now),
});

/**
 * Every Stripe event id we processed and what came of it. An event that can never apply (unknown
 * account, bad metadata) is answered 2xx, since Stripe's retries would carry the same content,
 * and kept here whole (`held`) for an operator.
 */
export const stripeEvents = sqliteTable(
  "stripe_events",
  {
    id: text("id").primaryKey(), // evt_…
    type: text("type").notNull(),
    objectId: text("object_id"),
    outcome: text("outcome", { enum: ["processed", "ignored", "held"] }).notNull(),
    code: text("code"),
    /** The event as received, for held events only. */
    payload: text("payload"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("stripe_events_outcome").on(t.outcome, t.createdAt)],
);

/**
 * Where an account's events go: an endpoint made through the API (`endpoint`) or a Zapier REST
 * hook (`zapier`, one event). The secret signs deliveries (Standard Webhooks), so it is kept in
 * clear; it is shown to the customer only when made or rotated.
 */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(), // whk_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: WEBHOOK_ENDPOINT_KINDS }).notNull(),
    url: text("url").notNull(),
    /** JSON array of WEBHOOK_EVENT_TYPES (core/enums.ts). */
    events: text("events").notNull(),
    description: text("description"),
    /**
     * The signing secret (`whsec_…`) sealed under the account's data key for this endpoint
     * (edge/webhooks/secrets.ts). Rows from before migration 0012 held it in clear; the sweeper
     * seals those (sealClearSecrets), and a clear one still signs until then.
     */
    secret: text("secret").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** Why we turned it off: the receiver answered 410 Gone, or every delivery failed for 3 days. */
    disabledReason: text("disabled_reason", { enum: WEBHOOK_DISABLED_REASONS }),
    /** The first failed attempt since the last success. */
    failingSince: integer("failing_since"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("webhook_endpoints_account").on(t.accountId, t.createdAt)],
);

/**
 * The outbox: one row per event, written in the same atomic write as what it tells of (a job's end
 * by edge/jobs/lifecycle.ts), then fanned out to deliveries. `data` is null until the
 * fan-out fills it from the subject (a job's API view).
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(), // msg_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    subjectId: text("subject_id"),
    data: text("data"),
    createdAt: integer("created_at").notNull().default(now),
    fannedOutAt: integer("fanned_out_at"),
  },
  (t) => [index("webhook_events_fanout").on(t.fannedOutAt, t.createdAt), index("webhook_events_account_type").on(t.accountId, t.type, t.createdAt)],
);

/**
 * One event for one endpoint; its id is the Standard Webhooks `webhook-id`, the same on every
 * attempt. An attempt claims the row (status `delivering`, claimed_until) with one conditional
 * write and never holds a lock across the HTTP call.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(), // dlv_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id").notNull().references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text("event_id").notNull().references(() => webhookEvents.id, { onDelete: "cascade" }),
    status: text("status", { enum: WEBHOOK_DELIVERY_STATUSES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** Due then (the direct transport and the sweeper); null while QStash owns the retries. */
    nextAttemptAt: integer("next_attempt_at"),
    /** An attempt in flight; past this time it is taken as lost and may be claimed again. */
    claimedUntil: integer("claimed_until"),
    lastStatusCode: integer("last_status_code"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_endpoint").on(t.eventId, t.endpointId),
    index("webhook_deliveries_endpoint").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_due").on(t.status, t.nextAttemptAt),
  ],
);

/** Every attempt of a delivery as we saw it: the delivery log. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: text("delivery_id").notNull().references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    /** null when no answer came (timeout, refused connection, URL no longer allowed). */
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    /** The first 256 characters of the answer, or what went wrong. */
    responseSnippet: text("response_snippet").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("webhook_attempts_delivery").on(t.deliveryId, t.attempt)],
);

/**
 * Who did what in an account, append-only (issue 13): sign-ins, keys, members, jobs, billing,
 * webhooks, operators. The app only ever inserts.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull(),
    /** A user id, an API key id, "stripe" or "system". */
    actor: text("actor").notNull(),
    /** `<object>.<verb>` in the past tense, e.g. "job.created" (AUDIT_ACTIONS in edge/audit/audit.ts). */
    action: text("action").notNull(),
    target: text("target"),
    detail: text("detail"), // JSON
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("audit_log_account").on(t.accountId, t.createdAt)],
);

// Sending (issue 23, docs/decisions/009-campaigns.md).

/**
 * An SMTP relay the customer owns (SES, SendGrid, Postmark, their Postfix…). The password is
 * sealed under the account's data key (edge/secrets) and never returned. Written only by
 * edge/relays.
 */
export const relays = sqliteTable(
  "relays",
  {
    id: text("id").primaryKey(), // rly_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    host: text("host").notNull(),
    port: integer("port").notNull(),
    security: text("security", { enum: RELAY_SECURITIES }).notNull(),
    username: text("username"),
    /** Sealed (`v1.…`) for purpose "relay.password" and this row; null: no AUTH. */
    password: text("password"),
    /** The relay's own limits, held across the whole fleet (probe/sending). */
    maxPerMinute: integer("max_per_minute").notNull(),
    maxPerDay: integer("max_per_day").notNull(),
    /** The last POST /relays/{id}/test: when, whether it passed, and what the relay said. */
    testedAt: integer("tested_at"),
    testOk: integer("test_ok", { mode: "boolean" }),
    testDetail: text("test_detail"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("relays_account").on(t.accountId, t.createdAt)],
);

/**
 * A From identity and its relays (in failover order). Used only once confirmed: a message with a
 * signed link went to from_email through its first relay. Written only by edge/senders.
 */
export const senders = sqliteTable(
  "senders",
  {
    id: text("id").primaryKey(), // snd_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    fromEmail: text("from_email").notNull(),
    fromName: text("from_name").notNull(),
    replyTo: text("reply_to"),
    /** JSON array of relay ids: the failover pool, first first. */
    relayIds: text("relay_ids").notNull(),
    /** Where bounces come back (VERP Return-Path); defaults to from_email's domain. */
    bounceDomain: text("bounce_domain"),
    /** The DKIM selector the customer signs with, checked at `<selector>._domainkey.<domain>`. */
    dkimSelector: text("dkim_selector"),
    confirmedAt: integer("confirmed_at"),
    confirmationSentAt: integer("confirmation_sent_at"),
    /** The domain checklist (JSON, edge/senders) and when it was taken. */
    checklist: text("checklist"),
    checkedAt: integer("checked_at"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("senders_account").on(t.accountId, t.createdAt)],
);

/** A message in Liquid (core/template.ts): the list's columns are its variables. Written only by edge/templates. */
export const templates = sqliteTable(
  "templates",
  {
    id: text("id").primaryKey(), // tpl_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    subject: text("subject").notNull(),
    html: text("html").notNull(),
    /** null: made from the HTML when sent. */
    text: text("text"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("templates_account").on(t.accountId, t.createdAt)],
);

/**
 * A send to a verified list. Counters move in the same write as the recipients they count.
 * `snapshot` freezes the sender, relays and template when sending begins, so an edit made
 * meanwhile never changes a message half-way through a list. Written only by edge/campaigns.
 */
export const campaigns = sqliteTable(
  "campaigns",
  {
    id: text("id").primaryKey(), // cmp_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    jobId: text("job_id").notNull(),
    senderId: text("sender_id").notNull(),
    templateId: text("template_id").notNull(),
    includeRisky: integer("include_risky", { mode: "boolean" }).notNull().default(false),
    /** Not before (Unix ms); null: as soon as started. */
    sendAt: integer("send_at"),
    /** Messages an hour at most; null: as fast as the relays' limits allow. */
    ratePerHour: integer("rate_per_hour"),
    status: text("status", { enum: CAMPAIGN_STATUSES }).notNull(),
    /** Why it paused or failed, e.g. "relay_auth_failed: rly_… answered 535 5.7.8". */
    statusReason: text("status_reason"),
    consentBasis: text("consent_basis", { enum: CONSENT_BASES }).notNull(),
    consentSource: text("consent_source").notNull(),
    createdBy: text("created_by").notNull(),
    snapshot: text("snapshot"),
    /** Job rows (row_index) already turned into recipients: materialising resumes here. */
    materializedThrough: integer("materialized_through").notNull().default(-1),
    materialized: integer("materialized", { mode: "boolean" }).notNull().default(false),
    audience: integer("audience").notNull().default(0),
    sent: integer("sent").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    unknownOutcome: integer("unknown_outcome").notNull().default(0),
    suppressed: integer("suppressed").notNull().default(0),
    skippedUnverified: integer("skipped_unverified").notNull().default(0),
    unsubscribed: integer("unsubscribed").notNull().default(0),
    bounced: integer("bounced").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("campaigns_account").on(t.accountId, t.createdAt), index("campaigns_status").on(t.status), index("campaigns_job").on(t.jobId)],
);

/**
 * One row per address a campaign sends to (the sendable rows of its job; suppressed and
 * unverified ones are only counted). The integer id is what unsubscribe and VERP tokens name.
 */
export const campaignRecipients = sqliteTable(
  "campaign_recipients",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    campaignId: text("campaign_id").notNull().references(() => campaigns.id, { onDelete: "cascade" }),
    /** The job's address key (job_emails.normalized): variables come from the job's row. */
    normalized: text("normalized").notNull(),
    email: text("email").notNull(),
    rowIndex: integer("row_index").notNull(),
    status: text("status", { enum: RECIPIENT_STATUSES }).notNull(),
    batchId: text("batch_id"),
    /** The relay that answered, its reply, and the queue id it gave ("250 2.0.0 Ok: queued as 4Bx…"). */
    relayId: text("relay_id"),
    queueId: text("queue_id"),
    reply: text("reply"),
    unsubscribedAt: integer("unsubscribed_at"),
    /** The first hard bounce or complaint that came back for this message (issue 24); the bounce row has the rest. */
    bouncedAt: integer("bounced_at"),
    bounceKind: text("bounce_kind", { enum: BOUNCE_KINDS }),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("campaign_recipients_key").on(t.campaignId, t.normalized),
    index("campaign_recipients_batch").on(t.batchId, t.status),
    index("campaign_recipients_status").on(t.campaignId, t.status, t.id),
  ],
);

/** A probe's share of a campaign: its recipients carry its id. Leased and swept as verification batches are. */
export const sendBatches = sqliteTable(
  "send_batches",
  {
    id: text("id").primaryKey(), // sbt_…
    campaignId: text("campaign_id").notNull().references(() => campaigns.id, { onDelete: "cascade" }),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    status: text("status", { enum: SEND_BATCH_STATUSES }).notNull(),
    size: integer("size").notNull(),
    probeId: text("probe_id"),
    leaseExpiresAt: integer("lease_expires_at"),
    attempts: integer("attempts").notNull().default(0),
    /** Not before this time: rate_per_hour spreads the batches. */
    notBefore: integer("not_before").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    index("send_batches_campaign").on(t.campaignId, t.status),
    index("send_batches_status_not_before").on(t.status, t.notBefore),
    index("send_batches_status_lease").on(t.status, t.leaseExpiresAt),
  ],
);

/** Addresses no campaign of the account sends to. Written only by edge/suppressions. */
export const suppressions = sqliteTable(
  "suppressions",
  {
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    /** Lower-cased address (the job's `normalized` key). */
    email: text("email").notNull(),
    reason: text("reason", { enum: SUPPRESSION_REASONS }).notNull(),
    /** The campaign whose message led here (unsubscribe, bounce), when there was one. */
    campaignId: text("campaign_id"),
    /** Who or what added it: a user or key id, "recipient" (one-click), "import". */
    source: text("source").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.email] }), index("suppressions_account_created").on(t.accountId, t.createdAt)],
);

/**
 * A customer's bounce mailbox (issue 24), read over IMAP by one probe at a time. The password is
 * sealed like a relay's (purpose "mailbox.password"). `probe_id` + `epoch` are the assignment:
 * each (re)assignment bumps the epoch, and a report carrying an older epoch is refused, so a
 * probe thought dead cannot apply anything after its successor took over. `uidvalidity` +
 * `last_uid` are the cursor (RFC 9051 §2.3.1.1): every message at or below it was read and
 * applied, and the cursor moves in the same write as the bounces it read. Written only by edge/bounces.
 */
export const bounceMailboxes = sqliteTable(
  "bounce_mailboxes",
  {
    id: text("id").primaryKey(), // bmx_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    host: text("host").notNull(),
    port: integer("port").notNull(),
    security: text("security", { enum: RELAY_SECURITIES }).notNull(),
    username: text("username").notNull(),
    /** Sealed (`v1.…`) for purpose "mailbox.password" and this row. */
    password: text("password").notNull(),
    folder: text("folder").notNull().default("INBOX"),
    /** Where recognised messages go; null: they stay and are flagged ($MxrayProcessed) instead. */
    processedFolder: text("processed_folder"),
    probeId: text("probe_id"),
    epoch: integer("epoch").notNull().default(0),
    assignedAt: integer("assigned_at"),
    uidvalidity: integer("uidvalidity"),
    lastUid: integer("last_uid").notNull().default(0),
    /** POST …/poll asks for a read before the next scheduled one. */
    pollRequestedAt: integer("poll_requested_at"),
    lastPolledAt: integer("last_polled_at"),
    lastError: text("last_error"),
    /** Messages read, and how many of them were ours (bounces, complaints, auto-replies to campaigns). */
    messagesSeen: integer("messages_seen").notNull().default(0),
    messagesOurs: integer("messages_ours").notNull().default(0),
    testedAt: integer("tested_at"),
    testOk: integer("test_ok", { mode: "boolean" }),
    testDetail: text("test_detail"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("bounce_mailboxes_account").on(t.accountId, t.createdAt), index("bounce_mailboxes_probe").on(t.probeId)],
);

/**
 * One bounce of one address (a report naming three recipients is three rows). `dedupe_key` makes
 * a message read twice, or a bounce posted twice, one row. `refund_job_id` + `refund_normalized`
 * name the verification a hard 5.1.x bounce contradicted; unique, so that credit comes back once
 * however many bounces (IMAP and API) report it. Written only by edge/bounces.
 */
export const bounces = sqliteTable(
  "bounces",
  {
    id: text("id").primaryKey(), // bnc_…
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    /** Lower-cased address (as suppressions and job_emails.normalized). */
    email: text("email").notNull(),
    kind: text("kind", { enum: BOUNCE_KINDS }).notNull(),
    category: text("category", { enum: BOUNCE_CATEGORIES }),
    /** RFC 3464 fields of this recipient: Action, Status (RFC 3463 x.y.z), Diagnostic-Code, Remote-MTA. */
    action: text("action"),
    status: text("status"),
    diagnostic: text("diagnostic"),
    remoteMta: text("remote_mta"),
    source: text("source", { enum: BOUNCE_SOURCES }).notNull(),
    campaignId: text("campaign_id"),
    recipientId: integer("recipient_id"),
    mailboxId: text("mailbox_id"),
    /** imap:{mailbox}:{uidvalidity}:{uid}:{email}, or api:{…} (edge/bounces). */
    dedupeKey: text("dedupe_key").notNull(),
    /** The message as read (bounded, edge/bounces), so a person can see why; null for API bounces. */
    raw: text("raw"),
    rawTruncated: integer("raw_truncated", { mode: "boolean" }).notNull().default(false),
    refundJobId: text("refund_job_id"),
    refundNormalized: text("refund_normalized"),
    /** The contradicted verification's MX and the probe that asked it: accuracy per provider and probe. */
    verifiedMx: text("verified_mx"),
    verifiedProbeId: text("verified_probe_id"),
    occurredAt: integer("occurred_at").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("bounces_dedupe").on(t.accountId, t.dedupeKey),
    uniqueIndex("bounces_refund").on(t.refundJobId, t.refundNormalized),
    index("bounces_account_created").on(t.accountId, t.createdAt),
    index("bounces_account_email").on(t.accountId, t.email),
    index("bounces_recipient").on(t.campaignId, t.recipientId),
  ],
);

/**
 * Soft bounces score as mailing lists do: +0.5 at most once a UTC day; reaching the account's
 * threshold suppresses; `soft_bounce_reset_days` quiet days start the score again. Written only by edge/bounces.
 */
export const softBounceScores = sqliteTable(
  "soft_bounce_scores",
  {
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    score: real("score").notNull(),
    /** The UTC day (Unix ms / 86,400,000, floored) of the last soft bounce that counted. */
    lastDay: integer("last_day").notNull(),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.email] })],
);
