// POST /api/v1/webhooks/:id/deliveries/:delivery_id/replay: one more attempt of a delivery now,
// the same message with the same `webhook-id`, signed afresh.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { replayDelivery } from "../webhooks/log.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { DeliveryAcceptedSchema, WebhookIdParam } from "./webhook_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
  operationId: "replayWebhookDelivery",
  summary: "Replay a webhook delivery",
  description: "Attempts the delivery once more now, with the same `webhook-id` (receivers deduplicate by it) and a fresh signature.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam.extend({ delivery_id: z.string().min(1).max(64).openapi({ param: { name: "delivery_id", in: "path" } }) }) },
  responses: {
    202: { description: "The attempt was queued", content: { "application/json": { schema: DeliveryAcceptedSchema } } },
    404: errorResponse("No such webhook or delivery for this account (`not_found`)"),
    409: errorResponse("The endpoint is disabled, or the delivery is being attempted right now (`conflict`)"),
    ...COMMON_ERRORS,
  },
});

export function registerWebhooksReplay(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const p = c.req.valid("param");
    return c.json(await replayDelivery(c.var.services, whoOf(c), { endpointId: p.id, deliveryId: p.delivery_id }), 202);
  });
}
