// POST /api/v1/hooks: a Zapier REST hook subscription (https://platform.zapier.com/build/hook-trigger):
// an endpoint of kind `zapier` for one event, under the same URL rules and signing as any endpoint.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { createEndpoint } from "../webhooks/endpoints.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { URL_REFUSED, WebhookEventTypeSchema, WebhookUrlSchema } from "./webhook_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/hooks",
  operationId: "subscribeHook",
  summary: "Subscribe a REST hook (Zapier)",
  description: "Zapier calls this when a zap using an mxray trigger is turned on; each event is then POSTed to `target_url` as `{ type, timestamp, data }`, signed like every webhook. Listed by `GET /api/v1/webhooks` with `kind: zapier`.",
  tags: ["Zapier"],
  security: [{ bearer: [] }],
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ target_url: WebhookUrlSchema, event: WebhookEventTypeSchema }).openapi("HookSubscribe") } },
    },
  },
  responses: {
    201: { description: "Subscribed", content: { "application/json": { schema: z.object({ id: z.string().openapi({ example: "whk_0d3kq8zp1m0avw2xbycd" }) }) } } },
    400: URL_REFUSED,
    409: errorResponse("The account has 100 endpoints and hooks already (`conflict`)"),
    ...COMMON_ERRORS,
  },
});

export function registerHooksSubscribe(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const made = await createEndpoint(c.var.services, whoOf(c), { url: body.target_url, events: [body.event], kind: "zapier", description: "Zapier" });
    return c.json({ id: made.id }, 201);
  });
}
