// POST /api/v1/bounce-mailboxes/:id/poll: read the mailbox now rather than at its next scheduled read.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { pollMailbox } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MAILBOX_NOT_FOUND, MailboxIdParam, MailboxSchema } from "./mailbox_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/bounce-mailboxes/{id}/poll",
  operationId: "pollBounceMailbox",
  summary: "Read a bounce mailbox now",
  description:
    "Asks the probe that reads the mailbox (one is given it first if none does) to read it now instead of at its next scheduled read (every few minutes). " +
    "Answered as soon as the read is queued: its outcome shows on the mailbox (`last_polled_at`, `last_error`, `messages_seen`).",
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { params: MailboxIdParam },
  responses: {
    202: { description: "The read is asked for; the mailbox", content: { "application/json": { schema: MailboxSchema } } },
    409: errorResponse("The stored password can no longer be read (`conflict`): set it again"),
    ...COMMON_ERRORS,
    ...MAILBOX_NOT_FOUND,
    503: errorResponse("No probe is online to read it (`probe_unavailable`): the first probe that takes the mailbox reads it; see Retry-After"),
  },
});

export function registerBounceMailboxesPoll(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await pollMailbox(c.var.services, whoOf(c), { id: c.req.valid("param").id }), 202));
}
