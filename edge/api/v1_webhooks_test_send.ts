// POST /api/v1/webhooks/:id/test: sends a `webhook.test` event to this endpoint only.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { sendTestEvent, TEST_SENDS_PER_ACCOUNT_HOUR, TEST_SENDS_PER_ENDPOINT_HOUR } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { DeliveryAcceptedSchema, WEBHOOK_NOT_FOUND, WebhookIdParam } from "./webhook_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/webhooks/{id}/test",
  operationId: "testWebhook",
  summary: "Send a test event to a webhook endpoint",
  description:
    "Sends `{ type: \"webhook.test\", timestamp, data: { webhook_id } }`, signed and retried like any event; its outcome shows in the delivery log. " +
    `At most ${TEST_SENDS_PER_ENDPOINT_HOUR} test events an hour per endpoint and ${TEST_SENDS_PER_ACCOUNT_HOUR} per account.`,
  tags: ["Webhooks"],
  security: [{ bearer: [] }],
  request: { params: WebhookIdParam },
  responses: {
    202: { description: "The delivery was queued", content: { "application/json": { schema: DeliveryAcceptedSchema } } },
    409: errorResponse("The endpoint is disabled (`conflict`)"),
    ...COMMON_ERRORS,
    429: errorResponse("Rate limited (`rate_limited`): the API key's rate, or this hour's test events of the endpoint or the account are used; see Retry-After"),
    ...WEBHOOK_NOT_FOUND,
  },
});

export function registerWebhooksTestSend(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await sendTestEvent(c.var.services, whoOf(c), c.req.valid("param").id), 202));
}
