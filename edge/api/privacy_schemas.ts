// Schemas of retention and erasure (issue 25): PATCH /api/v1/account (edge/api/v1_account_update.ts),
// the `retention_days` of GET /api/v1/account, and POST /api/v1/erasure (edge/api/v1_erasure_create.ts).
import { z } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { RETENTION_DAYS } from "../privacy/retention.ts";

export const RetentionDaysSchema = z.union([z.literal(RETENTION_DAYS[0]), z.literal(RETENTION_DAYS[1]), z.literal(RETENTION_DAYS[2]), z.null()]).openapi({
  description:
    `How many days after a list ends its results are kept (${RETENTION_DAYS.join(", ")}), or null: until the job is deleted. ` +
    "Past it the job stays as its summary (`results_expired_at`), and its results, its finished campaigns' recipient addresses, and the account's older bounces go.",
  example: 30,
});

export const AccountUpdateSchema = z.object({ retention_days: RetentionDaysSchema }).strict().openapi("AccountUpdate", { example: { retention_days: 30 } });

export const AccountSettingsSchema = z.object({ retention_days: RetentionDaysSchema }).openapi("AccountSettings", { example: { retention_days: 30 } });

export const ErasureCreateSchema = z
  .object({ email: z.string().min(1).max(MAX_EMAIL_LENGTH).openapi({ description: "The address to erase, as any list held it (case and IDN form do not matter)", example: "ada@example.com" }) })
  .strict()
  .openapi("ErasureCreate", { example: { email: "ada@example.com" } });

const count = (description: string) => z.number().int().openapi({ description, example: 0 });

export const ErasureSchema = z
  .object({
    email_hash: z.string().openapi({
      description: "The address's tombstone, `sha256:` and the hex SHA-256 of its normalised form: how the suppression list and the audit log name it from now on",
      example: "sha256:b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72",
    }),
    removed: z.object({
      results: count("Rows of jobs' results (a find job's rows that found the address too)"),
      unanswered: count("The address still waiting in a running job, taken out of its queue (counted `unknown`, its credit refunded)"),
      campaign_recipients: count("Campaign recipients (one still queued is counted suppressed, and is not sent)"),
      bounces: count("Bounces, with the messages read"),
      soft_bounce_scores: count("The soft-bounce score"),
      webhook_events: count("Webhook events still kept (with their deliveries and attempts)"),
      cached_checks: count("The single check's cached answer"),
      idempotency_records: count("Answers kept for an Idempotency-Key (single checks and finds)"),
    }),
    suppressed: z.boolean().openapi({ description: "The address was suppressed and stays so, as its hash: erasure never lets a campaign mail it again" }),
  })
  .openapi("Erasure", {
    example: {
      email_hash: "sha256:b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72",
      removed: { results: 3, unanswered: 0, campaign_recipients: 1, bounces: 1, soft_bounce_scores: 0, webhook_events: 0, cached_checks: 1, idempotency_records: 0 },
      suppressed: true,
    },
  });
