// POST /api/v1/senders/:id/check: a probe checks the sender's domain; the checklist is kept.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { checkSenderDomain } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { PROBE_UNAVAILABLE, SENDER_NOT_FOUND, SenderIdParam, SenderSchema } from "./sender_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/senders/{id}/check",
  operationId: "checkSender",
  summary: "Check a sender's domain",
  description:
    "A probe looks up the From domain's SPF record, the DKIM key at `dkim_selector`, the DMARC record and its policy, and the bounce domain's MX, " +
    "and judges each against Gmail's and Yahoo's bulk-sender rules; the answer, with the DNS answers seen, becomes the sender's `checklist`.",
  tags: ["Senders"],
  security: [{ bearer: [] }],
  request: { params: SenderIdParam },
  responses: {
    200: { description: "The sender with its new checklist", content: { "application/json": { schema: SenderSchema } } },
    ...COMMON_ERRORS,
    ...SENDER_NOT_FOUND,
    ...PROBE_UNAVAILABLE,
  },
});

export function registerSendersCheck(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await checkSenderDomain(c.var.services, whoOf(c), { id: c.req.valid("param").id }), 200));
}
