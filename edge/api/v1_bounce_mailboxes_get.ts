// GET /api/v1/bounce-mailboxes/:id: one bounce mailbox, without its password.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getMailbox } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MAILBOX_NOT_FOUND, MailboxIdParam, MailboxSchema } from "./mailbox_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/bounce-mailboxes/{id}",
  operationId: "getBounceMailbox",
  summary: "Get a bounce mailbox",
  description: "The mailbox, whether a password is set (`has_password`), the probe reading it, its last read and its last test.",
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { params: MailboxIdParam },
  responses: {
    200: { description: "The mailbox", content: { "application/json": { schema: MailboxSchema } } },
    ...COMMON_ERRORS,
    ...MAILBOX_NOT_FOUND,
  },
});

export function registerBounceMailboxesGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getMailbox(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
