// POST /api/v1/webhooks/:id/rotate-secret: a new signing secret, effective at once, shown once.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { rotateSecret } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { WEBHOOK_NOT_FOUND, WebhookIdParam } from "./webhook_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  summary: "Rotate a webhook endpoint's signing secret",
  description: "Every delivery attempt from now on, retries included, is signed with the new secret only.",
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam },
  responses: {
    200: { description: "The new secret", content: { "application/json": { schema: z.object({ secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }) }) } } },
    ...COMMON_ERRORS,
    ...WEBHOOK_NOT_FOUND,
  },
});

export function registerWebhooksRotateSecret(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await rotateSecret(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
