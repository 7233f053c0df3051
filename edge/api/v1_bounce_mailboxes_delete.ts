// DELETE /api/v1/bounce-mailboxes/:id: the mailbox and its stored password; bounces already read stay.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteMailbox } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MAILBOX_NOT_FOUND, MailboxIdParam } from "./mailbox_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/bounce-mailboxes/{id}",
  operationId: "deleteBounceMailbox",
  summary: "Delete a bounce mailbox",
  description: "Deletes the mailbox and its stored password; its probe stops reading it at its next heartbeat. The bounces already read from it stay. Nothing in the mailbox itself changes.",
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { params: MailboxIdParam },
  responses: {
    204: { description: "Deleted" },
    ...COMMON_ERRORS,
    ...MAILBOX_NOT_FOUND,
  },
});

export function registerBounceMailboxesDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await deleteMailbox(c.var.services, whoOf(c), { id: c.req.valid("param").id });
    return c.body(null, 204);
  });
}
