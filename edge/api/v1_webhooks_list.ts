// GET /api/v1/webhooks: the account's endpoints (Zapier hooks included), newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listEndpoints } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";
import { WebhookSchema } from "./webhook_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/webhooks",
  operationId: "listWebhooks",
  summary: "List webhook endpoints, newest first",
  description: "Every endpoint of the account, Zapier hooks (`kind: zapier`) included; secrets are never listed.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Endpoints") },
  responses: {
    200: { description: "A page of endpoints", content: { "application/json": { schema: pageOf(WebhookSchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerWebhooksList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listEndpoints(c.var.services, whoOf(c), q), 200);
  });
}
