// The edge's webhooks capability as the pages use it: endpoints, test events, the delivery log
// and replays.
export { createEndpoint, deleteEndpoint, getEndpoint, isWebhookEventType, listEndpoints, MAX_ENDPOINTS, rotateSecret, sendTestEvent, updateEndpoint } from "../../edge/webhooks/endpoints.ts";
export { listDeliveries, replayDelivery } from "../../edge/webhooks/log.ts";
export type { EndpointView } from "../../edge/webhooks/views.ts";
