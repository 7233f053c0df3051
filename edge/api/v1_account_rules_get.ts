// GET /api/v1/account/rules: the account's rules, which decide each result's `safe_to_send`.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getRules } from "../rules/rules.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RulesOpenApiSchema } from "./rules_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/account/rules",
  operationId: "getAccountRules",
  summary: "The rules behind safe_to_send",
  description: "Every field, the defaults included: an account that never set rules answers the defaults (deliverable only).",
  tags: ["Account"],
  security: [{ bearer: [] }],
  responses: { 200: { description: "The rules", content: { "application/json": { schema: RulesOpenApiSchema } } }, ...COMMON_ERRORS },
});

export function registerAccountRulesGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getRules(c.var.services, whoOf(c)), 200));
}
