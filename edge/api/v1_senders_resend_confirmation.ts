// POST /api/v1/senders/:id/resend-confirmation: the confirmation message again, with a new link.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { CONFIRMATIONS_PER_SENDER_HOUR, resendConfirmation } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { PROBE_UNAVAILABLE, SENDER_NOT_FOUND, SenderIdParam, SenderWithConfirmationOpenApi } from "./sender_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/senders/{id}/resend-confirmation",
  operationId: "resendSenderConfirmation",
  summary: "Send a sender's confirmation again",
  description:
    "Sends the confirmation message through the sender's relays to `from_email` again, with a new link (earlier links work until they expire). " +
    `A relay that refuses it still answers 200, with \`confirmation.sent: false\` and its reply. At most ${CONFIRMATIONS_PER_SENDER_HOUR} an hour per sender.`,
  tags: ["Senders"],
  security: [{ bearer: [] }],
  request: { params: SenderIdParam },
  responses: {
    200: { description: "The sender, and what became of the message", content: { "application/json": { schema: SenderWithConfirmationOpenApi } } },
    409: errorResponse("The sender is confirmed already, or a relay's stored password can no longer be read (`conflict`)"),
    ...COMMON_ERRORS,
    429: errorResponse("Rate limited (`rate_limited`): the API key's rate, or this hour's confirmations of the sender are used; see Retry-After"),
    ...SENDER_NOT_FOUND,
    ...PROBE_UNAVAILABLE,
  },
});

export function registerSendersResendConfirmation(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await resendConfirmation(c.var.services, whoOf(c), { id: c.req.valid("param").id }), 200));
}
