// POST /api/v1/verify: one address, answered synchronously by a probe within a budget, or from
// the fresh-result cache (header `x-mxray-cache: hit`). Unknown answers cost nothing.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { VerifyRequestSchema } from "../../core/contracts.ts";
import { checkAddress } from "../services/verify.ts";
import type { AppEnv } from "./app.ts";
import { requestId } from "./errors.ts";
import { COMMON_ERRORS, errorResponse, ResultSchema } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/verify",
  summary: "Verify one address now",
  tags: ["Verify"],
  security: [{ bearer: [] }],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: VerifyRequestSchema.extend({ email: z.string().max(512).openapi({ example: "ada@example.com" }) }).openapi("VerifyRequest"),
        },
      },
    },
  },
  responses: {
    200: { description: "The verdict (a bad address is a verdict, not an error)", content: { "application/json": { schema: ResultSchema } } },
    400: errorResponse("`invalid_json` or `validation_failed`"),
    402: errorResponse("No credits left (`insufficient_credits`)"),
    503: errorResponse("No probe online or none answered (`probe_unavailable`)"),
    ...COMMON_ERRORS,
  },
});

export function registerVerify(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const outcome = await checkAddress(c.var.services, c.var.accountId, requestId(c), body);
    c.header("x-mxray-cache", outcome.cached ? "hit" : "miss");
    return c.json(outcome.result, 200);
  });
}
