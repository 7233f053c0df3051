// DELETE /api/v1/hooks/:id: Zapier unsubscribes when the zap is turned off. Only hooks: an
// endpoint made by POST /api/v1/webhooks is not found here.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteEndpoint } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { WebhookIdParam } from "./webhook_schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/hooks/{id}",
  operationId: "unsubscribeHook",
  summary: "Unsubscribe a REST hook (Zapier)",
  description: "Deletes a hook made by `POST /api/v1/hooks`; nothing more is sent to it.",
  tags: ["Zapier"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam },
  responses: {
    204: { description: "Unsubscribed" },
    404: errorResponse("No such hook for this account (`not_found`)"),
    ...COMMON_ERRORS,
  },
});

export function registerHooksUnsubscribe(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await deleteEndpoint(c.var.services, whoOf(c), { id: c.req.valid("param").id, kind: "zapier" });
    return c.body(null, 204);
  });
}
