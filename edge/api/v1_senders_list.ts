// GET /api/v1/senders: the account's senders, newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listSenders } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";
import { SenderSchema } from "./sender_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/senders",
  operationId: "listSenders",
  summary: "List senders, newest first",
  description: "Every sender of the account, with whether it is confirmed and its domain checklist.",
  tags: ["Senders"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Senders") },
  responses: {
    200: { description: "A page of senders", content: { "application/json": { schema: pageOf(SenderSchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerSendersList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listSenders(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
