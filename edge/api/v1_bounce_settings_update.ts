// PATCH /api/v1/bounce-settings: change the soft-bounce threshold, the reset days, or both (audited).
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { updateBounceSettings } from "../bounces/bounces.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { BounceSettingsOpenApiSchema, BounceSettingsUpdateSchema } from "./bounce_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "patch",
  path: "/api/v1/bounce-settings",
  operationId: "updateBounceSettings",
  summary: "Change the soft-bounce settings",
  description: "Applies to soft bounces from now on; scores already kept are not recomputed, and addresses already suppressed stay so.",
  tags: ["Bounces"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: BounceSettingsUpdateSchema } } } },
  responses: {
    200: { description: "The settings as changed", content: { "application/json": { schema: BounceSettingsOpenApiSchema } } },
    400: errorResponse("Neither field, or one out of range (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerBounceSettingsUpdate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await updateBounceSettings(c.var.services, whoOf(c), c.req.valid("json")), 200));
}
