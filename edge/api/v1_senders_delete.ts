// DELETE /api/v1/senders/:id: refused while a campaign that has not finished uses the sender.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteSender } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { SENDER_NOT_FOUND, SenderIdParam } from "./sender_schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/senders/{id}",
  operationId: "deleteSender",
  summary: "Delete a sender",
  description: "Deletes the sender; its relays stay. A sender that a campaign not yet completed, canceled or failed uses cannot be deleted.",
  tags: ["Senders"],
  security: [{ bearer: [] }],
  request: { params: SenderIdParam },
  responses: {
    204: { description: "Deleted" },
    409: errorResponse("A campaign that has not finished uses the sender; the message names it (`conflict`)"),
    ...COMMON_ERRORS,
    ...SENDER_NOT_FOUND,
  },
});

export function registerSendersDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await deleteSender(c.var.services, whoOf(c), { id: c.req.valid("param").id });
    return c.body(null, 204);
  });
}
