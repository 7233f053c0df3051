// GET /api/v1/bounces/:id: one bounce, the message as read, and the address's verification beside it.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getBounce } from "../bounces/bounces.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { BOUNCE_NOT_FOUND, BounceDetailOpenApiSchema, BounceIdParam } from "./bounce_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/bounces/{id}",
  operationId: "getBounce",
  summary: "A bounce, with the message as read",
  description: "`raw` is the bounce message as read from the mailbox (its head and report, at most 32 KiB); `verification` is what mxray saw when it verified the address.",
  tags: ["Bounces"],
  security: [{ bearer: [] }],
  request: { params: BounceIdParam },
  responses: { 200: { description: "The bounce", content: { "application/json": { schema: BounceDetailOpenApiSchema } } }, ...COMMON_ERRORS, ...BOUNCE_NOT_FOUND },
});

export function registerBouncesGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getBounce(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
