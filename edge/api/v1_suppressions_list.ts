// GET /api/v1/suppressions: the account's suppression list, newest first, by cursor; one reason,
// or one address looked up.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { listSuppressions } from "../suppressions/suppressions.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";
import { SuppressionReasonSchema, SuppressionSchema } from "./suppression_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/suppressions",
  operationId: "listSuppressions",
  summary: "List suppressed addresses, newest first",
  description: "Addresses no campaign of the account sends to. `email` looks one address up (answering it or nothing); `reason` keeps one reason.",
  tags: ["Suppressions"],
  security: [{ bearer: [] }],
  request: {
    query: pageQuery("Suppressions").extend({
      // An address is part of the cursor, so it may be longer than other lists' cursors.
      cursor: z.string().max(400).optional().openapi({ description: "`next_cursor` of the previous page" }),
      reason: SuppressionReasonSchema.optional(),
      email: z.string().max(MAX_EMAIL_LENGTH).optional().openapi({ description: "One address, compared as its key (case and IDN form do not matter)", example: "Ada@Example.com" }),
    }),
  },
  responses: {
    200: { description: "A page of suppressions", content: { "application/json": { schema: pageOf(SuppressionSchema) } } },
    400: errorResponse("A `limit` or `reason` out of range, or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerSuppressionsList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listSuppressions(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
