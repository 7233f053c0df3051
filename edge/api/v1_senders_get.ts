// GET /api/v1/senders/:id: one sender, whether it is confirmed, and its domain checklist.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getSender } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { SENDER_NOT_FOUND, SenderIdParam, SenderSchema } from "./sender_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/senders/{id}",
  operationId: "getSender",
  summary: "Get a sender",
  description: "The sender, whether it is confirmed, and its domain checklist as last checked.",
  tags: ["Senders"],
  security: [{ bearer: [] }],
  request: { params: SenderIdParam },
  responses: {
    200: { description: "The sender", content: { "application/json": { schema: SenderSchema } } },
    ...COMMON_ERRORS,
    ...SENDER_NOT_FOUND,
  },
});

export function registerSendersGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getSender(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
