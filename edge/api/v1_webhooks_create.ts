// POST /api/v1/webhooks: a new endpoint for some events; its signing secret is shown once here.
// Any API key of the account may manage webhooks (keys act for the whole account).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { createEndpoint } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { URL_REFUSED, WebhookEventTypeSchema, WebhookUrlSchema, WebhookWithSecretSchema } from "./webhook_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/webhooks",
  operationId: "createWebhook",
  summary: "Create a webhook endpoint",
  description: "Deliveries are signed with Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature`) using the `secret`, which this answer shows once.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              url: WebhookUrlSchema,
              events: z.array(WebhookEventTypeSchema).min(1),
              description: z.string().max(256).optional(),
            })
            .openapi("WebhookCreate"),
        },
      },
    },
  },
  responses: {
    201: { description: "The endpoint, with its secret", content: { "application/json": { schema: WebhookWithSecretSchema } } },
    400: URL_REFUSED,
    409: errorResponse("The account has 100 endpoints and hooks already (`conflict`)"),
    ...COMMON_ERRORS,
  },
});

export function registerWebhooksCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const body = c.req.valid("json");
    return c.json(await createEndpoint(c.var.services, whoOf(c), { ...body, kind: "endpoint" }), 201);
  });
}
