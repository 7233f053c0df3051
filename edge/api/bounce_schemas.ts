// Schemas of the bounce operations (edge/api/v1_bounces_*.ts, v1_bounce_settings_*.ts,
// v1_account_accuracy.ts). The answers' shapes are the bounces capability's views
// (edge/bounces/views.ts), named here.
import { z } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { BOUNCE_KINDS } from "../../core/enums.ts";
import { SAMPLE_RECIPIENT_BOUNCED } from "../../core/samples.ts";
import { MAX_BOUNCE_DIAGNOSTIC, REPORTED_KINDS, SOFT_RESET_DAYS, SOFT_THRESHOLD } from "../bounces/bounces.ts";
import { AccountAccuracySchema, BounceDetailSchema, BounceSettingsSchema, BounceViewSchema, ContradictionSchema } from "../bounces/views.ts";
import { errorResponse } from "./schemas.ts";

const BOUNCE_EXAMPLE = {
  id: SAMPLE_RECIPIENT_BOUNCED.bounce_id,
  email: SAMPLE_RECIPIENT_BOUNCED.email,
  kind: "hard",
  category: "mailbox",
  action: "failed",
  status: "5.1.1",
  diagnostic: SAMPLE_RECIPIENT_BOUNCED.diagnostic,
  remote_mta: "mx.example.com",
  source: "imap",
  campaign_id: SAMPLE_RECIPIENT_BOUNCED.campaign_id,
  recipient_id: SAMPLE_RECIPIENT_BOUNCED.recipient_id,
  mailbox_id: "bmx_2k9d0c7x1m4q8zt5vw3a",
  refunded_job_id: SAMPLE_RECIPIENT_BOUNCED.refunded_job_id,
  occurred_at: SAMPLE_RECIPIENT_BOUNCED.occurred_at,
  created_at: "2025-03-15T10:09:30.000Z",
} as const;

export const BounceSchema = BounceViewSchema.openapi("Bounce", { example: BOUNCE_EXAMPLE });
export const BounceDetailOpenApiSchema = BounceDetailSchema.openapi("BounceDetail");
export const BounceSettingsOpenApiSchema = BounceSettingsSchema.openapi("BounceSettings", { example: { soft_threshold: 3, soft_reset_days: 30 } });
export const AccountAccuracyOpenApiSchema = AccountAccuracySchema.openapi("AccountAccuracy");
export const ContradictionOpenApiSchema = ContradictionSchema.openapi("Contradiction");

export const BounceKindSchema = z.enum(BOUNCE_KINDS);

export const BounceCreateSchema = z
  .object({
    email: z.string().min(1).max(MAX_EMAIL_LENGTH).openapi({ example: "ada@example.com" }),
    kind: z.enum(REPORTED_KINDS).openapi({ description: "`hard` (refused for good), `soft` (delayed, mailbox full), `complaint` (marked as spam)" }),
    status: z.string().max(16).nullable().optional().openapi({ example: "5.1.1", description: "RFC 3463 enhanced status (x.y.z), when the provider gave one; a hard 5.1.x refunds a contradicted `deliverable` verdict" }),
    diagnostic: z.string().max(MAX_BOUNCE_DIAGNOSTIC).nullable().optional().openapi({ example: "smtp; 550 5.1.1 user unknown" }),
    campaign_id: z.string().min(1).max(64).nullable().optional().openapi({ example: "cmp_5t0kq8zp1m0avw2xbycd", description: "The campaign of the account the message was part of" }),
    occurred_at: z.string().max(64).openapi({ example: "2025-03-15T10:04:12Z", description: "When it bounced, ISO 8601" }),
  })
  .openapi("BounceCreate");

export const BounceSettingsUpdateSchema = z
  .object({
    soft_threshold: z.number().min(SOFT_THRESHOLD.min).max(SOFT_THRESHOLD.max).optional().openapi({ example: 3, description: `The score that suppresses (${SOFT_THRESHOLD.min}–${SOFT_THRESHOLD.max}, steps of 0.5)` }),
    soft_reset_days: z.number().int().min(SOFT_RESET_DAYS.min).max(SOFT_RESET_DAYS.max).optional().openapi({ example: 30, description: `Quiet days that reset a score (${SOFT_RESET_DAYS.min}–${SOFT_RESET_DAYS.max})` }),
  })
  .strict()
  .openapi("BounceSettingsUpdate");

export const BounceIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "bnc_8q2m0c1x7d4kz9t3vw5a" }) });

export const BOUNCE_NOT_FOUND = { 404: errorResponse("No such bounce for this account (`not_found`)") } as const;
