// Words for an endpoint's state, shared by the webhooks list and its delivery log.
import type { EndpointView } from "./webhooks.server.ts";

/** Why an endpoint is off, in words (the API's `disabled_reason`); null when it is on. */
export function disabledReason(e: Pick<EndpointView, "enabled" | "disabled_reason">): string | null {
  if (e.enabled) return null;
  if (e.disabled_reason === "gone") return "410 Gone received";
  if (e.disabled_reason === "failing") return "failing for 3 days";
  return "turned off";
}
