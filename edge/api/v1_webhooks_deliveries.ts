// GET /api/v1/webhooks/:id/deliveries: the endpoint's delivery log, newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listDeliveries } from "../webhooks/log.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";
import { WEBHOOK_NOT_FOUND, WebhookDeliverySchema, WebhookIdParam } from "./webhook_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "List a webhook endpoint's deliveries, newest first",
  description: "Each delivery (one event for this endpoint) with every attempt: status code, latency and the start of the answer.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam, query: pageQuery("Deliveries") },
  responses: {
    200: { description: "A page of deliveries", content: { "application/json": { schema: pageOf(WebhookDeliverySchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
    ...WEBHOOK_NOT_FOUND,
  },
});

export function registerWebhooksDeliveries(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listDeliveries(c.var.services, whoOf(c), { endpointId: c.req.valid("param").id, limit: q.limit, cursor: q.cursor }), 200);
  });
}
