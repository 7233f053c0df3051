// POST /api/v1/bounces: a bounce from any other source (a provider's webhook forwarded by the
// customer's code, a manual report), applied as a mailbox's bounce is. A repeat (same
// Idempotency-Key, or the same bounce again) is the stored bounce, 200.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { reportBounce } from "../bounces/bounces.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { BounceCreateSchema, BounceSchema } from "./bounce_schemas.ts";
import { COMMON_ERRORS, errorResponse, IdempotencyKeyHeader } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/bounces",
  operationId: "reportBounce",
  summary: "Report a bounce or a complaint",
  description:
    "For mail sent through another provider (SES, SendGrid…): forward its bounce and complaint webhooks here. A `hard` bounce or a `complaint` " +
    "suppresses the address for every campaign of the account at once (`bounced`, `complained`); `soft` bounces score +0.5 a day and suppress " +
    "at the account's threshold (GET /api/v1/bounce-settings). A hard bounce with a 5.1.x status for an address mxray called `deliverable` " +
    "for this account within the 30 days before refunds that verification's credit, once (`refunded_job_id`), however many times it is " +
    "reported, here or from a bounce mailbox. Events `recipient.bounced` and `recipient.complained` go to subscribed webhooks.",
  tags: ["Bounces"],
  security: [{ bearer: [] }],
  request: {
    headers: z.object({
      "idempotency-key": IdempotencyKeyHeader.openapi({
        example: "ses-notification-0f8fad5b-d9cb-469f-a165-70867728950e",
        description: "Your id of this bounce (e.g. the provider's notification id): the same key again is the same bounce. Without it, the same email, kind, status, campaign and occurred_at are.",
      }),
    }),
    body: { required: true, content: { "application/json": { schema: BounceCreateSchema } } },
  },
  responses: {
    201: { description: "Stored and applied", content: { "application/json": { schema: BounceSchema } } },
    200: { description: "Reported before: the stored bounce, nothing applied again", content: { "application/json": { schema: BounceSchema } } },
    400: errorResponse("Not an address, a status that is not x.y.z, an `occurred_at` that is no date or is in the future, or a bad body (`validation_failed`)"),
    404: errorResponse("No such campaign for this account (`not_found`)"),
    409: errorResponse("The Idempotency-Key was used for another bounce (`conflict`)"),
    ...COMMON_ERRORS,
  },
});

export function registerBouncesCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const key = c.req.valid("header")["idempotency-key"];
    const { bounce, created } = await reportBounce(c.var.services, whoOf(c), c.req.valid("json"), { idempotencyKey: key });
    return created ? c.json(bounce, 201) : c.json(bounce, 200);
  });
}
