// POST /api/v1/senders: a From identity with its relays; its confirmation message goes at once.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { createSender } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { SenderCreateSchema, SenderWithConfirmationOpenApi } from "./sender_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/senders",
  operationId: "createSender",
  summary: "Add a sender",
  description:
    "A From address, its name and its relays (a failover pool, in order). A confirmation message goes through the sender's relays to `from_email` at once, " +
    "holding a link that confirms the sender (valid 7 days); campaigns send only from confirmed senders. When no probe is online the sender is made " +
    "unconfirmed (`confirmation.sent: false`, `confirmation_sent_at: null`): send it later with `POST /api/v1/senders/{id}/resend-confirmation`. " +
    "The domain is checked against Gmail's and Yahoo's bulk-sender rules at the same time (`checklist`).",
  tags: ["Senders"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: SenderCreateSchema } } } },
  responses: {
    201: { description: "The sender, and what became of its confirmation message", content: { "application/json": { schema: SenderWithConfirmationOpenApi } } },
    400: errorResponse("A bad body or field (`validation_failed`), e.g. an address that is not one, or a relay that is not the account's"),
    ...COMMON_ERRORS,
  },
});

export function registerSendersCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await createSender(c.var.services, whoOf(c), c.req.valid("json")), 201));
}
