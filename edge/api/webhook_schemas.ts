// Schemas of the webhook and Zapier hook operations (edge/api/v1_webhooks_*.ts, v1_hooks_*.ts).
import { z } from "@hono/zod-openapi";
import { MAX_WEBHOOK_URL_LENGTH } from "../../core/webhookurl.ts";
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_DISABLED_REASONS, WEBHOOK_ENDPOINT_KINDS, WEBHOOK_EVENT_TYPES } from "../../core/enums.ts";
import { errorResponse } from "./schemas.ts";

export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES).openapi({
  description: "`job.completed`, `job.failed`, `job.canceled` (data: the job, as `GET /api/v1/jobs/{id}`), `verification.completed` (data: the result of a `POST /api/v1/verify`), `dm.enriched` (data: `{ domain, provider, people: [{ full_name, title, email, verdict, confidence }] }` after a `POST /api/v1/decision-makers`)",
});

export const WebhookUrlSchema = z
  .string()
  .max(MAX_WEBHOOK_URL_LENGTH)
  .openapi({
    example: "https://hooks.example.com/mxray",
    description:
      "`https:` on port 443 to a public address or a name under a registrable domain of the Public Suffix List (no user name or password; no private, loopback, link-local, CGNAT or metadata address; no single-label or internal name); `http:` to loopback only in local mode",
  });

export const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: "whk_0d3kq8zp1m0avw2xbycd" }),
    kind: z.enum(WEBHOOK_ENDPOINT_KINDS).openapi({ description: "`zapier` for hooks made by `POST /api/v1/hooks`" }),
    url: z.string(),
    events: z.array(WebhookEventTypeSchema),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_reason: z.enum(WEBHOOK_DISABLED_REASONS).nullable().openapi({ description: "Why we turned it off: the receiver answered `410 Gone`, or deliveries failed for 3 days" }),
    failing_since: z.string().nullable().openapi({ format: "date-time", description: "The first failed attempt since the last success" }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Webhook");

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", description: "Signs every delivery (Standard Webhooks); shown only here and on rotation" }),
}).openapi("WebhookWithSecret");

export const WebhookIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "whk_0d3kq8zp1m0avw2xbycd" }) });

export const DeliveryAcceptedSchema = z.object({ delivery_id: z.string().openapi({ example: "dlv_5a0c9e2b7f13d4e6a8b1", description: "Also the `webhook-id` header of the delivery" }) });

export const WebhookDeliverySchema = z
  .object({
    id: z.string().openapi({ description: "The `webhook-id` header: the same on every attempt and replay" }),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    next_attempt_at: z.string().nullable().openapi({ format: "date-time" }),
    created_at: z.string().openapi({ format: "date-time" }),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        status_code: z.number().int().nullable().openapi({ description: "null when no answer came (timeout, connection refused)" }),
        latency_ms: z.number().int(),
        response_snippet: z.string().openapi({ description: "The first 256 characters of the answer, or what went wrong" }),
        at: z.string().openapi({ format: "date-time" }),
      }),
    ),
  })
  .openapi("WebhookDelivery");

export const WEBHOOK_NOT_FOUND = { 404: errorResponse("No such webhook for this account (`not_found`)") } as const;
export const URL_REFUSED = errorResponse("`validation_failed` (a bad body), or `url_not_allowed` (the message names the rule the URL breaks)");
