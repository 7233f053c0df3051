// GET /api/v1/bounce-mailboxes: the account's bounce mailboxes, newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listMailboxes } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MailboxSchema } from "./mailbox_schemas.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/bounce-mailboxes",
  operationId: "listBounceMailboxes",
  summary: "List bounce mailboxes, newest first",
  description: "Every bounce mailbox of the account, with the probe reading it and its last read; passwords are never listed.",
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Bounce mailboxes") },
  responses: {
    200: { description: "A page of bounce mailboxes", content: { "application/json": { schema: pageOf(MailboxSchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerBounceMailboxesList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listMailboxes(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
