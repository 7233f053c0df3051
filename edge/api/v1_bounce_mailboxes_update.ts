// PATCH /api/v1/bounce-mailboxes/:id: change any field; `password` replaced by a string, kept when absent.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { updateMailbox } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MAILBOX_NOT_FOUND, MAILBOX_REFUSED, MailboxIdParam, MailboxSchema, MailboxUpdateSchema } from "./mailbox_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "patch",
  path: "/api/v1/bounce-mailboxes/{id}",
  operationId: "updateBounceMailbox",
  summary: "Update a bounce mailbox",
  description:
    "Changes any field; the mailbox is checked as a whole with the fields it keeps. Its probe reads with the new settings from its next heartbeat (within seconds). " +
    "A different host, username or folder is a different mailbox: it is read from its first message.",
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { params: MailboxIdParam, body: { required: true, content: { "application/json": { schema: MailboxUpdateSchema } } } },
  responses: {
    200: { description: "The mailbox as changed", content: { "application/json": { schema: MailboxSchema } } },
    400: MAILBOX_REFUSED,
    ...COMMON_ERRORS,
    ...MAILBOX_NOT_FOUND,
  },
});

export function registerBounceMailboxesUpdate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await updateMailbox(c.var.services, whoOf(c), { id: c.req.valid("param").id, patch: c.req.valid("json") }), 200));
}
