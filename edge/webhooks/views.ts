// What the API answers and the app shows of endpoints and deliveries.
import type { WebhookEventType, webhookEndpoints } from "../../db/schema.ts";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type EndpointKind = EndpointRow["kind"];

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface EndpointView {
  id: string;
  kind: EndpointKind;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  disabled_reason: "gone" | "failing" | null;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

export function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    kind: row.kind,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventType[],
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    failing_since: iso(row.failingSince),
    created_at: iso(row.createdAt)!,
    updated_at: iso(row.updatedAt)!,
  };
}

export interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "delivering" | "delivered" | "failed";
  next_attempt_at: string | null;
  created_at: string;
  attempts: { attempt: number; status_code: number | null; latency_ms: number; response_snippet: string; at: string }[];
}
