// DELETE /api/v1/webhooks/:id: the endpoint goes, with its delivery log; pending deliveries stop.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteEndpoint } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { WEBHOOK_NOT_FOUND, WebhookIdParam } from "./webhook_schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/webhooks/{id}",
  operationId: "deleteWebhook",
  summary: "Delete a webhook endpoint",
  description: "Deletes the endpoint (a Zapier hook too) with its delivery log; nothing more is sent to it.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam },
  responses: { 204: { description: "Deleted" }, ...COMMON_ERRORS, ...WEBHOOK_NOT_FOUND },
});

export function registerWebhooksDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await deleteEndpoint(c.var.services, whoOf(c), { id: c.req.valid("param").id });
    return c.body(null, 204);
  });
}
