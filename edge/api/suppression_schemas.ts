// Schemas of the suppression list's operations (edge/api/v1_suppressions_*.ts).
import { z } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { SUPPRESSION_REASONS } from "../../core/enums.ts";

export const SuppressionReasonSchema = z.enum(SUPPRESSION_REASONS).openapi({
  description: "`unsubscribed` (the recipient's one-click link), `bounced`, `complained`, or `manual` (added through the API, the app or an import)",
});

export const SuppressionSchema = z
  .object({
    email: z.string().openapi({ example: "ada@example.com", description: "The address's key: lower-case, its domain in A-labels (as a job's `normalized`)" }),
    reason: SuppressionReasonSchema,
    campaign_id: z.string().nullable().openapi({ example: "cmp_5t0kq8zp1m0avw2xbycd", description: "The campaign whose message led here (an unsubscribe, a bounce)" }),
    source: z.string().openapi({ example: "recipient", description: "Who or what added it: a user or API key id, `recipient` (one-click unsubscribe), `import`, `bounce` (a hard bounce, a complaint, or soft bounces past the threshold)" }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Suppression");

export const SuppressionEmailParam = z.object({
  email: z.string().min(1).max(MAX_EMAIL_LENGTH).openapi({ param: { name: "email", in: "path" }, example: "ada@example.com", description: "The address, URL-encoded" }),
});
