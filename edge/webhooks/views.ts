// What the API answers and the app shows of endpoints and deliveries, each shape written once as a
// zod schema (its field notes in `.meta()`, which the OpenAPI document shows); the types are
// inferred from it, and edge/api/webhook_schemas.ts names the schemas in the document.
import { z } from "zod";
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_DISABLED_REASONS, WEBHOOK_ENDPOINT_KINDS, WEBHOOK_EVENT_TYPES } from "../../core/enums.ts";
import type { webhookEndpoints } from "../../db/schema.ts";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type EndpointKind = EndpointRow["kind"];

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES).meta({
  description: "`job.completed`, `job.failed`, `job.canceled` (data: the job, as `GET /api/v1/jobs/{id}`), `verification.completed` (data: the result of a `POST /api/v1/verify`), `dm.enriched` (data: `{ domain, provider, people: [{ full_name, title, email, verdict, confidence }] }` after a `POST /api/v1/decision-makers`), `campaign.completed` (data: the campaign, as `GET /api/v1/campaigns/{id}`), `recipient.unsubscribed` (data: `{ email, campaign_id, recipient_id, unsubscribed_at }` after a recipient's one-click unsubscribe), `recipient.bounced` and `recipient.complained` (data: `{ bounce_id, email, kind, category, status, diagnostic, source, campaign_id, recipient_id, suppressed, refunded_job_id, occurred_at }` for each bounce or complaint read or reported)",
});

export const EndpointViewSchema = z.object({
  id: z.string().meta({ example: "whk_0d3kq8zp1m0avw2xbycd" }),
  kind: z.enum(WEBHOOK_ENDPOINT_KINDS).meta({ description: "`zapier` for hooks made by `POST /api/v1/hooks`" }),
  url: z.string(),
  events: z.array(WebhookEventTypeSchema),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabled_reason: z.enum(WEBHOOK_DISABLED_REASONS).nullable().meta({ description: "Why we turned it off: the receiver answered `410 Gone`, or deliveries failed for 3 days" }),
  failing_since: z.string().nullable().meta({ format: "date-time", description: "The first failed attempt since the last success" }),
  created_at: z.string().meta({ format: "date-time" }),
  updated_at: z.string().meta({ format: "date-time" }),
});
export type EndpointView = z.infer<typeof EndpointViewSchema>;

export function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    kind: row.kind,
    url: row.url,
    events: JSON.parse(row.events) as EndpointView["events"],
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    failing_since: iso(row.failingSince),
    created_at: iso(row.createdAt)!,
    updated_at: iso(row.updatedAt)!,
  };
}

export const DeliveryViewSchema = z.object({
  id: z.string().meta({ description: "The `webhook-id` header: the same on every attempt and replay" }),
  event_id: z.string(),
  event_type: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  next_attempt_at: z.string().nullable().meta({ format: "date-time" }),
  created_at: z.string().meta({ format: "date-time" }),
  attempts: z.array(
    z.object({
      attempt: z.number().int(),
      status_code: z.number().int().nullable().meta({ description: "null when no answer came (timeout, connection refused)" }),
      latency_ms: z.number().int(),
      response_snippet: z.string().meta({ description: "The first 256 characters of the answer, or what went wrong" }),
      at: z.string().meta({ format: "date-time" }),
    }),
  ),
});
export type DeliveryView = z.infer<typeof DeliveryViewSchema>;

/** What a test send or a replay answers: the delivery that will be attempted. */
export const DeliveryAcceptedSchema = z.object({ delivery_id: z.string().meta({ example: "dlv_5a0c9e2b7f13d4e6a8b1", description: "Also the `webhook-id` header of the delivery" }) });
export type DeliveryAccepted = z.infer<typeof DeliveryAcceptedSchema>;
