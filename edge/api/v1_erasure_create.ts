// POST /api/v1/erasure: one address out of everything the account keeps (a data subject's request
// under GDPR art. 17, passed on by the customer). Audited by the address's hash, never in clear.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { eraseAddress } from "../privacy/erasure.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { ErasureCreateSchema, ErasureSchema } from "./privacy_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/erasure",
  operationId: "eraseAddress",
  summary: "Erase an address from the account",
  description:
    "Removes the address from every job's results (and from running jobs' queues), the campaigns' recipients, the bounces and soft-bounce score, " +
    "the webhook events still kept, the single-check cache and the account's kept Idempotency-Key answers. " +
    "A suppressed address stays suppressed, as its hash (`email_hash`), so erasure never lets a campaign mail it again. " +
    "Job and campaign counts stay (they name nobody). Answers what went, per place; calling again removes nothing more and answers 200 with zeros. " +
    "Not touched: what was delivered already (webhook payloads at your endpoints, mail at relays) and backups (docs/data-protection.md).",
  tags: ["Account"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: ErasureCreateSchema } } } },
  responses: {
    200: { description: "What was removed", content: { "application/json": { schema: ErasureSchema } } },
    400: errorResponse("No address (no `@`, or longer than 512 characters), or a bad body (`validation_failed`, `invalid_json`)"),
    ...COMMON_ERRORS,
  },
});

export function registerErasureCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await eraseAddress(c.var.services, whoOf(c), c.req.valid("json")), 200));
}
