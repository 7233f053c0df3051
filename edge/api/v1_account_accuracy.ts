// GET /api/v1/account/accuracy: our measured accuracy on the account's mail, per month.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { accountAccuracy } from "../bounces/accuracy.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { AccountAccuracyOpenApiSchema } from "./bounce_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/account/accuracy",
  operationId: "getAccountAccuracy",
  summary: "How often our `deliverable` verdicts bounced, per month",
  description:
    "The last 12 UTC months: addresses called `deliverable` (jobs finished that month), messages sent (campaigns started that month), " +
    "and hard 5.1.x bounces that contradicted a `deliverable` verdict of the 30 days before (by the bounce's month; each was refunded).",
  tags: ["Account"],
  security: [{ bearer: [] }],
  responses: { 200: { description: "The months", content: { "application/json": { schema: AccountAccuracyOpenApiSchema } } }, ...COMMON_ERRORS },
});

export function registerAccountAccuracy(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await accountAccuracy(c.var.services, whoOf(c)), 200));
}
