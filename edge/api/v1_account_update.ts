// PATCH /api/v1/account: the account's settings; today how long it keeps results (audited).
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { updateRetention } from "../privacy/retention.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { AccountSettingsSchema, AccountUpdateSchema } from "./privacy_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "patch",
  path: "/api/v1/account",
  operationId: "updateAccount",
  summary: "Change the account's settings (retention)",
  description:
    "`retention_days`: results of a list are kept this many days after it ends (7, 30 or 90), or until the job is deleted (null). " +
    "A shorter setting applies to lists that already ended, from the next sweep (about a minute): their results go in steps and each job keeps its summary. " +
    "See docs/data-protection.md for everything the setting removes.",
  tags: ["Account"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: AccountUpdateSchema } } } },
  responses: {
    200: { description: "The settings as changed", content: { "application/json": { schema: AccountSettingsSchema } } },
    400: errorResponse("A value other than 7, 30, 90 or null, or another field (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerAccountUpdate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await updateRetention(c.var.services, whoOf(c), c.req.valid("json")), 200));
}
