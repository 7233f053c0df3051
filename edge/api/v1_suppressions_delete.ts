// DELETE /api/v1/suppressions/:email: the address comes off the list; campaigns may send to it again.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { removeSuppression } from "../suppressions/suppressions.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { SuppressionEmailParam } from "./suppression_schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/suppressions/{email}",
  operationId: "deleteSuppression",
  summary: "Remove an address from the suppression list",
  description: "Campaigns of the account may send to the address again. Written to the audit log with the reason it had.",
  tags: ["Suppressions"],
  security: [{ bearer: [] }],
  request: { params: SuppressionEmailParam },
  responses: {
    204: { description: "Removed" },
    404: errorResponse("The address is not on the account's list (`not_found`)"),
    ...COMMON_ERRORS,
  },
});

export function registerSuppressionsDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await removeSuppression(c.var.services, whoOf(c), { email: c.req.valid("param").email });
    return c.body(null, 204);
  });
}
