// POST /api/v1/verify: one address, answered synchronously by a probe within a budget, or from
// the fresh-result cache (header `x-mxray-cache: hit`). Unknown answers cost nothing. An
// `Idempotency-Key` makes a retry safe: charged once, and answered with the stored result.
import { whoOf } from "./auth.ts";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { VerifyRequestSchema } from "../../core/contracts.ts";
import { checkAddress } from "../verify/verify.ts";
import { recordVerification } from "../webhooks/outbox.ts";
import type { AppEnv } from "./app.ts";
import { requestId } from "./errors.ts";
import { COMMON_ERRORS, errorResponse, IdempotencyKeyHeader, ResultSchema } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/verify",
  operationId: "verifyAddress",
  summary: "Verify one address now",
  tags: ["Verify"],
  security: [{ bearer: [] }],
  request: {
    // Lower case: Hono reads headers so, and HTTP field names are case-insensitive (RFC 9110 §5.1).
    headers: z.object({
      "idempotency-key": IdempotencyKeyHeader.openapi({
        example: "0f8fad5b-d9cb-469f-a165-70867728950e",
        description:
          "Any unique string of yours (≤ 255 printable ASCII characters; a UUID is a good choice). A retry with the same key " +
          "within 24 hours is charged once and answered with the first answer (header `idempotent-replayed: true`) without a new " +
          "probe check; reusing a key with a different body is a 409 `conflict`. Errors and `unknown` verdicts are not kept, so " +
          "their retry checks again.",
      }),
    }),
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
    400: errorResponse("`invalid_json` or `validation_failed` (a bad body or Idempotency-Key)"),
    402: errorResponse("No credits left (`insufficient_credits`)"),
    409: errorResponse("The Idempotency-Key was used with a different body (`conflict`)"),
    503: errorResponse("No probe online after waiting a few seconds for one (`MXRAY_PROBE_WAIT_MS`), or none answered (`probe_unavailable`, with Retry-After)"),
    ...COMMON_ERRORS,
  },
});

export function registerVerify(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const outcome = await checkAddress(c.var.services, whoOf(c), { check: body, requestId: requestId(c), idempotencyKey: key });
    c.header("x-mxray-cache", outcome.cached ? "hit" : "miss");
    if (outcome.replayed) c.header("idempotent-replayed", "true");
    // A replayed answer is the same check: its event went out the first time.
    else await recordVerification(c.var.services, c.var.accountId, outcome.result);
    return c.json(outcome.result, 200);
  });
}
