// GET /api/v1/bounces: the account's bounces, newest first, by cursor; by address, campaign or kind.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { listBounces } from "../bounces/bounces.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { BounceKindSchema, BounceSchema } from "./bounce_schemas.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/bounces",
  operationId: "listBounces",
  summary: "List bounces, newest first",
  description: "Bounces read from the account's bounce mailboxes and reported through the API; GET /api/v1/bounces/{id} adds the message as read.",
  tags: ["Bounces"],
  security: [{ bearer: [] }],
  request: {
    query: pageQuery("Bounces").extend({
      email: z.string().max(MAX_EMAIL_LENGTH).optional().openapi({ description: "One address, compared as its key (case and IDN form do not matter)", example: "Ada@Example.com" }),
      campaign_id: z.string().max(64).optional().openapi({ example: "cmp_5t0kq8zp1m0avw2xbycd" }),
      kind: BounceKindSchema.optional(),
    }),
  },
  responses: {
    200: { description: "A page of bounces", content: { "application/json": { schema: pageOf(BounceSchema) } } },
    400: errorResponse("A `limit` or `kind` out of range, or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerBouncesList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listBounces(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
