// GET /api/v1/bounce-settings: the account's soft-bounce threshold and reset days.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getBounceSettings } from "../bounces/bounces.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { BounceSettingsOpenApiSchema } from "./bounce_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/bounce-settings",
  operationId: "getBounceSettings",
  summary: "Soft-bounce settings",
  description: "A soft bounce adds 0.5 to its address's score at most once a UTC day; reaching `soft_threshold` suppresses the address; `soft_reset_days` days without one start the score again.",
  tags: ["Bounces"],
  security: [{ bearer: [] }],
  responses: { 200: { description: "The settings", content: { "application/json": { schema: BounceSettingsOpenApiSchema } } }, ...COMMON_ERRORS },
});

export function registerBounceSettingsGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getBounceSettings(c.var.services, whoOf(c)), 200));
}
