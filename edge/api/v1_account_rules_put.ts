// PUT /api/v1/account/rules: replace the account's rules (audited with what they were).
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { putRules } from "../rules/rules.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RulesOpenApiSchema } from "./rules_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "put",
  path: "/api/v1/account/rules",
  operationId: "putAccountRules",
  summary: "Replace the rules behind safe_to_send",
  description:
    "The whole object: a field left out takes its default (`{}` restores the defaults). Applies at once to every read of results " +
    "(exports, the results filter, single checks and their webhooks), with no re-verification; a campaign that already began sending " +
    "keeps the rules it began with.",
  tags: ["Account"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: RulesOpenApiSchema } } } },
  responses: {
    200: { description: "The rules as stored", content: { "application/json": { schema: RulesOpenApiSchema } } },
    400: errorResponse("An unknown field, an unknown choice, or `min_score` not a whole number from 0 to 100 (`validation_failed`; the message names the field)"),
    ...COMMON_ERRORS,
  },
});

export function registerAccountRulesPut(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await putRules(c.var.services, whoOf(c), c.req.valid("json")), 200));
}
