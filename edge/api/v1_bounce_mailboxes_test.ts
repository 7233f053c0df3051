// POST /api/v1/bounce-mailboxes/:id/test: a probe connects, upgrades, logs in and opens the folder; nothing is read.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { MAILBOX_TESTS_PER_ACCOUNT_HOUR, testMailbox } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MAILBOX_NOT_FOUND, MailboxIdParam, MailboxTestSchema } from "./mailbox_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/bounce-mailboxes/{id}/test",
  operationId: "testBounceMailbox",
  summary: "Test a bounce mailbox",
  description:
    "A probe connects to the IMAP server, upgrades the connection (TLS or STARTTLS), logs in, opens the folder and logs out, reading and changing nothing. " +
    "The outcome is also kept on the mailbox (`tested_at`, `test_ok`, `test_detail`). " +
    `A mailbox that fails still answers 200, with \`ok: false\` and how far it got. At most ${MAILBOX_TESTS_PER_ACCOUNT_HOUR} tests an hour per account.`,
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { params: MailboxIdParam },
  responses: {
    200: { description: "What the probe found", content: { "application/json": { schema: MailboxTestSchema } } },
    409: errorResponse("The stored password can no longer be read (`conflict`): set it again"),
    ...COMMON_ERRORS,
    429: errorResponse("Rate limited (`rate_limited`): the API key's rate, or this hour's mailbox tests of the account are used; see Retry-After"),
    ...MAILBOX_NOT_FOUND,
    503: errorResponse("No probe is online, or none answered (`probe_unavailable`); see Retry-After"),
  },
});

export function registerBounceMailboxesTest(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await testMailbox(c.var.services, whoOf(c), { id: c.req.valid("param").id }), 200));
}
