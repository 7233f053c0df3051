// What the API answers and the app shows of bounces, the account's bounce settings and its
// measured accuracy, each shape written once as a zod schema (field notes in `.meta()`);
// edge/api/bounce_schemas.ts names them in the OpenAPI document. Imports nothing of the edge but
// its types, so every folder that shows a bounce can use it.
import { z } from "zod";
import { SmtpReplySchema } from "../../core/contracts.ts";
import { BOUNCE_CATEGORIES, BOUNCE_KINDS, BOUNCE_SOURCES } from "../../core/enums.ts";
import { VERDICTS } from "../../core/verdict.ts";
import type { bounces } from "../../db/schema.ts";

export type BounceRow = typeof bounces.$inferSelect;

const iso = (ms: number) => new Date(ms).toISOString();

export const BounceViewSchema = z.object({
  id: z.string().meta({ example: "bnc_8q2m0c1x7d4kz9t3vw5a" }),
  email: z.string().meta({ description: "The address's key: lower-case, its domain in A-labels (as a job's `normalized`)", example: "ada@example.com" }),
  kind: z.enum(BOUNCE_KINDS).meta({
    description:
      "`hard` (refused for good: the address is suppressed), `soft` (delayed, or a full mailbox: scored, suppressed at the account's threshold), " +
      "`complaint` (a feedback report: suppressed), `unclassified` (a bounce no rule could read: kept and shown, nothing else)",
  }),
  category: z.enum(BOUNCE_CATEGORIES).nullable().meta({
    description: "What the status says failed: `mailbox` (no such address), `mailbox_full`, `policy` (5.7.x: refused by policy, not a missing mailbox), `system`, `other`; null for complaints",
  }),
  action: z.string().nullable().meta({ description: "The report's Action (RFC 3464): failed, delayed…", example: "failed" }),
  status: z.string().nullable().meta({ description: "RFC 3463 enhanced status", example: "5.1.1" }),
  diagnostic: z.string().nullable().meta({ description: "The report's Diagnostic-Code, or what was posted", example: "smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown" }),
  remote_mta: z.string().nullable().meta({ description: "The server that refused it (Remote-MTA)", example: "mx.example.com" }),
  source: z.enum(BOUNCE_SOURCES).meta({ description: "`imap`: read from a bounce mailbox; `api`: posted to POST /api/v1/bounces" }),
  campaign_id: z.string().nullable().meta({ description: "The campaign it came back for, when known", example: "cmp_5t0kq8zp1m0avw2xbycd" }),
  recipient_id: z.number().int().nullable().meta({ description: "The campaign's recipient row", example: 4211 }),
  mailbox_id: z.string().nullable().meta({ description: "The bounce mailbox it was read from", example: "bmx_2k9d0c7x1m4q8zt5vw3a" }),
  refunded_job_id: z.string().nullable().meta({
    description: "The job whose `deliverable` verdict for this address (within the 30 days before) this hard 5.1.x bounce contradicted: its credit came back",
    example: "job_7d1x3c9m2q0z8kt4wv6b",
  }),
  occurred_at: z.string().meta({ format: "date-time", description: "When it bounced (the report's date, or what was posted)" }),
  created_at: z.string().meta({ format: "date-time", description: "When mxray stored it" }),
});
export type BounceView = z.infer<typeof BounceViewSchema>;

export function bounceView(r: BounceRow): BounceView {
  return {
    id: r.id,
    email: r.email,
    kind: r.kind,
    category: r.category,
    action: r.action,
    status: r.status,
    diagnostic: r.diagnostic,
    remote_mta: r.remoteMta,
    source: r.source,
    campaign_id: r.campaignId,
    recipient_id: r.recipientId,
    mailbox_id: r.mailboxId,
    refunded_job_id: r.refundJobId,
    occurred_at: iso(r.occurredAt),
    created_at: iso(r.createdAt),
  };
}

/** The verification of the bounced address (the one refunded, else the campaign's job row): what mxray saw. */
export const BounceVerificationSchema = z.object({
  job_id: z.string(),
  verdict: z.enum(VERDICTS),
  reason: z.string().meta({ example: "accepted" }),
  mx: z.string().nullable().meta({ description: "The MX host it was verified at", example: "mx1.example.com" }),
  smtp: SmtpReplySchema.nullable().meta({ description: "What that server answered to RCPT TO" }),
  verified_at: z.string().meta({ format: "date-time" }),
});
export type BounceVerification = z.infer<typeof BounceVerificationSchema>;

export const BounceDetailSchema = BounceViewSchema.extend({
  raw: z.string().nullable().meta({ description: "The message as read (its head and report, at most 32 KiB); null for bounces posted through the API" }),
  raw_truncated: z.boolean().meta({ description: "The message was longer than what was kept" }),
  verification: BounceVerificationSchema.nullable().meta({ description: "The address's verification (the job whose verdict it contradicted, else the campaign's job), when its row is still there" }),
});
export type BounceDetail = z.infer<typeof BounceDetailSchema>;

/** A result row's contradiction: the hard 5.1.x bounce that refunded its `deliverable` verdict. */
export const ContradictionSchema = z.object({
  bounce_id: z.string().meta({ example: "bnc_8q2m0c1x7d4kz9t3vw5a" }),
  status: z.string().nullable().meta({ example: "5.1.1" }),
  occurred_at: z.string().meta({ format: "date-time" }),
});
export type Contradiction = z.infer<typeof ContradictionSchema>;

/** A contradiction from a LEFT JOIN's columns (all null when there is none). */
export function contradictionOf(bounceId: string | null, status: string | null, occurredAt: number | null): Contradiction | null {
  return bounceId === null || occurredAt === null ? null : { bounce_id: bounceId, status, occurred_at: iso(occurredAt) };
}

export const BounceSettingsSchema = z.object({
  soft_threshold: z.number().meta({ description: "The soft-bounce score that suppresses an address (+0.5 a day with a soft bounce)", example: 3 }),
  soft_reset_days: z.number().int().meta({ description: "Days without a soft bounce after which an address's score starts again", example: 30 }),
});
export type BounceSettings = z.infer<typeof BounceSettingsSchema>;

export const AccuracyMonthSchema = z.object({
  month: z.string().meta({ description: "UTC month", example: "2025-03" }),
  deliverable: z.number().int().meta({ description: "Addresses mxray called `deliverable` in the account's verification jobs that finished this month" }),
  sent: z.number().int().meta({ description: "Messages the account's campaigns started this month had accepted by a relay" }),
  contradicted: z.number().int().meta({ description: "Hard 5.1.x bounces this month that contradicted a `deliverable` verdict of the 30 days before (each refunded)" }),
  contradiction_rate: z.number().nullable().meta({ description: "contradicted / sent; null with nothing sent", example: 0.0021 }),
});
export type AccuracyMonth = z.infer<typeof AccuracyMonthSchema>;

export const AccountAccuracySchema = z.object({ months: z.array(AccuracyMonthSchema).meta({ description: "The last 12 UTC months, oldest first, this one last" }) });
export type AccountAccuracy = z.infer<typeof AccountAccuracySchema>;

/** Across every account (the operators' console): per month, and contradictions per probe and per receiving provider. */
export interface OperatorAccuracy {
  months: AccuracyMonth[];
  /** The probe that verified each contradicted address (null: verified before probes were recorded, or at ingest). */
  probes: { probe_id: string | null; contradicted: number }[];
  /** The registrable domain of the MX it was verified at (google.com, outlook.com…). */
  providers: { provider: string | null; contradicted: number }[];
}
