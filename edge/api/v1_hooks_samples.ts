// GET /api/v1/hooks/samples?event=…: what Zapier shows while a zap is set up (its `performList`).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { hookSamples } from "../webhooks/samples.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { WebhookEventTypeSchema } from "./webhook_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/hooks/samples",
  operationId: "listHookSamples",
  summary: "Sample objects of an event (Zapier)",
  description:
    "The `data` of the event as deliveries carry it: the account's 3 most recent real objects (finished jobs of that status; for " +
    "the other events, events already written for a subscribed endpoint), else one realistic sample.",
  tags: ["Zapier"],
  security: [{ bearer: [] }],
  request: { query: z.object({ event: WebhookEventTypeSchema }) },
  responses: {
    200: { description: "Up to 3 objects, newest first", content: { "application/json": { schema: z.array(z.record(z.string(), z.unknown())) } } },
    400: errorResponse("A missing or unknown `event` (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerHooksSamples(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json((await hookSamples(c.var.services, whoOf(c), c.req.valid("query").event)) as Record<string, unknown>[], 200));
}
