// GET /api/v1/webhooks/:id: one endpoint, without its secret.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getEndpoint } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { WEBHOOK_NOT_FOUND, WebhookIdParam, WebhookSchema } from "./webhook_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/webhooks/{id}",
  operationId: "getWebhook",
  summary: "Get a webhook endpoint",
  description: "The endpoint and whether it is enabled (and if not, why).",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam },
  responses: {
    200: { description: "The endpoint", content: { "application/json": { schema: WebhookSchema } } },
    ...COMMON_ERRORS,
    ...WEBHOOK_NOT_FOUND,
  },
});

export function registerWebhooksGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getEndpoint(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
