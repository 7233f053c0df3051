// POST /api/v1/bounce-mailboxes: an IMAP mailbox of the account's where its campaigns' bounces arrive; its password is stored encrypted, never shown.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { createMailbox } from "../bounces/mailboxes.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { MAILBOX_REFUSED, MailboxCreateSchema, MailboxSchema } from "./mailbox_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/bounce-mailboxes",
  operationId: "createBounceMailbox",
  summary: "Add a bounce mailbox",
  description:
    "The IMAP mailbox where the account's bounces arrive (the bounce domain's mailbox, or a catch-all for it). A probe reads it every few minutes: " +
    "messages recognised as bounces, complaints or auto-replies to campaign mail are moved to `processed_folder` (or flagged), anything else is left exactly as it was, and nothing is ever deleted. " +
    "The password is stored encrypted and never returned. Test it with `POST /api/v1/bounce-mailboxes/{id}/test`.",
  tags: ["Bounce mailboxes"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: MailboxCreateSchema } } } },
  responses: {
    201: { description: "The mailbox", content: { "application/json": { schema: MailboxSchema } } },
    400: MAILBOX_REFUSED,
    ...COMMON_ERRORS,
  },
});

export function registerBounceMailboxesCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await createMailbox(c.var.services, whoOf(c), c.req.valid("json")), 201));
}
