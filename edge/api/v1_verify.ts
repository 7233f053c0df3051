// POST /api/v1/verify: one address, answered synchronously by a probe within a budget, or from
// the fresh-result cache (header `x-mxray-cache: hit`). Unknown answers cost nothing. An
// `Idempotency-Key` makes a retry safe: charged once, and answered with the stored result.
// `safe_to_send` applies the account's rules as they are now, to a fresh and a replayed answer alike.
// A publishable key (`?key=mx_pk_…`, from a web page: edge/api/publishable.ts) checks within a
// short budget and without a trace.
import { whoOf } from "./auth.ts";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { VerifyRequestSchema } from "../../core/contracts.ts";
import { rated } from "../../core/rules.ts";
import { getRules } from "../rules/rules.ts";
import { checkAddress, type CheckRequest } from "../verify/verify.ts";
import { recordVerification } from "../webhooks/outbox.ts";
import type { AppEnv } from "./app.ts";
import { ApiError, requestId } from "./errors.ts";
import { publishableBudget, PUBLISHABLE_DEFAULT_BUDGET_MS, PUBLISHABLE_MAX_BUDGET_MS } from "./publishable.ts";
import { COMMON_ERRORS, errorResponse, IdempotencyKeyHeader, ResultSchema } from "./schemas.ts";

/**
 * A secret key in the Authorization header, or a publishable key in the URL. Declared apart:
 * written inline, the two shapes defeat the route's type inference.
 */
const VERIFY_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { publishableKey: [] }];

const route = createRoute({
  method: "post",
  path: "/api/v1/verify",
  operationId: "verifyAddress",
  summary: "Verify one address now",
  tags: ["Verify"],
  security: VERIFY_SECURITY,
  request: {
    query: z.object({
      key: z.string().max(100).optional().openapi({
        example: "mx_pk_0123456789ABCDEFGHIJKLMNOPQRSTUV",
        description:
          "A publishable key (`mx_pk_…`), for a web page such as the sign-up form widget: sent from one of the key's origins (the " +
          "answer carries `Access-Control-Allow-Origin` for it; the CORS preflight is answered too), limited per key, per origin " +
          `and per client IP, with a budget of at most ${PUBLISHABLE_MAX_BUDGET_MS} ms (${PUBLISHABLE_DEFAULT_BUDGET_MS} ms unless asked) and no trace. ` +
          "Secret keys go in the Authorization header, never here.",
      }),
    }),
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
    403: errorResponse("A publishable key from an origin not on its list or with no Origin (`origin_not_allowed`), or in the Authorization header (`publishable_key_forbidden`)"),
    409: errorResponse("The Idempotency-Key was used with a different body (`conflict`)"),
    503: errorResponse("No probe online after waiting a few seconds for one (`MXRAY_PROBE_WAIT_MS`), or none answered (`probe_unavailable`, with Retry-After)"),
    ...COMMON_ERRORS,
  },
});

export function registerVerify(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const who = whoOf(c);
    const check = c.var.publishableOrigin ? publishableCheck(body) : body;
    const [outcome, rules] = await Promise.all([checkAddress(c.var.services, who, { check, requestId: requestId(c), idempotencyKey: key }), getRules(c.var.services, who)]);
    const answer = rated(outcome.result, rules);
    c.header("x-mxray-cache", outcome.cached ? "hit" : "miss");
    if (outcome.replayed) c.header("idempotent-replayed", "true");
    // A replayed answer is the same check: its event went out the first time.
    else await recordVerification(c.var.services, c.var.accountId, answer);
    return c.json(answer, 200);
  });
}

/** A publishable key's check (a web page's): within its budget, and without a trace. */
function publishableCheck(body: CheckRequest): CheckRequest {
  if (body.trace) throw new ApiError("validation_failed", "trace: a publishable key checks without a trace; use a secret key for one");
  return { ...body, budget_ms: publishableBudget(body.budget_ms) };
}
