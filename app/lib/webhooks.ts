// Words for an endpoint's state, shared by the webhooks list and its delivery log.
import type { EndpointView } from "./webhooks.server.ts";

/** Why an endpoint is off, in words (the API's `disabled_reason`); null when it is on. */
export function disabledReason(e: Pick<EndpointView, "enabled" | "disabled_reason">): string | null {
  if (e.enabled) return null;
  if (e.disabled_reason === "gone") return "410 Gone received";
  if (e.disabled_reason === "failing") return "failing for 3 days";
  return "turned off";
}

/**
 * A delivery's state in words (the API's `status` stays the contract; the page leads with this):
 * a `pending` delivery that has been tried already is being retried, not waiting its first send.
 */
export function deliveryWords(d: { status: string; attempts: unknown[] }): { word: string; tone: string } {
  if (d.status === "pending") return d.attempts.length > 0 ? { word: "retrying", tone: "retrying" } : { word: "queued", tone: "pending" };
  if (d.status === "delivering") return { word: "sending now", tone: "delivering" };
  return { word: d.status, tone: d.status };
}
