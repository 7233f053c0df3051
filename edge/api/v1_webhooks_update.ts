// PATCH /api/v1/webhooks/:id: change the events, the description, or turn it on or off. Turning
// a disabled endpoint back on clears why it was disabled. The URL is fixed: make a new endpoint.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { updateEndpoint } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { WEBHOOK_NOT_FOUND, WebhookEventTypeSchema, WebhookIdParam, WebhookSchema } from "./webhook_schemas.ts";

const route = createRoute({
  method: "patch",
  path: "/api/v1/webhooks/{id}",
  operationId: "updateWebhook",
  summary: "Update a webhook endpoint",
  description: "Changes its events, description or `enabled`; `enabled: true` also clears `disabled_reason` and `failing_since`.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: {
    params: WebhookIdParam,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              events: z.array(WebhookEventTypeSchema).min(1).optional(),
              enabled: z.boolean().optional(),
              description: z.string().max(256).nullable().optional(),
            })
            .strict()
            .openapi("WebhookUpdate"),
        },
      },
    },
  },
  responses: {
    200: { description: "The endpoint as changed", content: { "application/json": { schema: WebhookSchema } } },
    400: errorResponse("A bad body, or a field that cannot change such as `url` (`validation_failed`)"),
    ...COMMON_ERRORS,
    ...WEBHOOK_NOT_FOUND,
  },
});

export function registerWebhooksUpdate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await updateEndpoint(c.var.services, whoOf(c), { id: c.req.valid("param").id, patch: c.req.valid("json") }), 200));
}
