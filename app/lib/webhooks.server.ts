// The edge's webhooks capability as the pages use it: endpoints, test events, the delivery log
// and replays.
export {
  createEndpoint, deleteEndpoint, getEndpoint, isWebhookEventType, listDeliveries, listEndpoints, MAX_ENDPOINTS, replayDelivery, rotateSecret, sendTestEvent,
  updateEndpoint, type EndpointView,
} from "../../edge/webhooks/webhooks.ts";
