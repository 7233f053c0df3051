// GET /api/v1/account: who the key belongs to, its credit balance, its sending rules, the optional
// features on here, and how long it keeps results (retention_days).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { ACCOUNT_KINDS } from "../../core/enums.ts";
import { peopleDataOn } from "../finder/decisionmakers.ts";
import { accountOf } from "../identity/accounts.ts";
import { parseRules } from "../../core/rules.ts";
import type { RetentionDays } from "../privacy/retention.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { RulesOpenApiSchema } from "./rules_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { RetentionDaysSchema } from "./privacy_schemas.ts";

const AccountSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(ACCOUNT_KINDS),
    credits: z.number().int(),
    key_id: z.string().nullable(),
    features: z.object({
      people_data: z.boolean().openapi({ description: "`POST /api/v1/decision-makers` works here (a people-data provider is configured)" }),
    }),
    rules: RulesOpenApiSchema,
    retention_days: RetentionDaysSchema,
  })
  .openapi("Account");

const route = createRoute({
  method: "get",
  path: "/api/v1/account",
  operationId: "getAccount",
  summary: "Who am I: the key's account and its credit balance",
  tags: ["Account"],
  security: [{ bearer: [] }],
  responses: { 200: { description: "The account", content: { "application/json": { schema: AccountSchema } } }, ...COMMON_ERRORS },
});

export function registerAccountGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const acc = await accountOf(c.var.services, whoOf(c));
    if (!acc) throw new ApiError("not_found", "The key's account no longer exists");
    return c.json({ id: acc.id, name: acc.name, kind: acc.kind, credits: acc.creditBalance, key_id: c.var.keyId, features: { people_data: peopleDataOn(c.var.services) }, rules: parseRules(acc.rules), retention_days: acc.retentionDays as RetentionDays }, 200);
  });
}
