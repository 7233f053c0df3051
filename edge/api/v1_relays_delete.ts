// DELETE /api/v1/relays/:id: refused while a sender names the relay.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteRelay } from "../relays/relays.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RELAY_NOT_FOUND, RelayIdParam } from "./relay_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/relays/{id}",
  operationId: "deleteRelay",
  summary: "Delete a relay",
  description: "Deletes the relay and its stored password. A relay a sender uses cannot be deleted: remove it from the sender (delete the sender) first.",
  tags: ["Relays"],
  security: [{ bearer: [] }],
  request: { params: RelayIdParam },
  responses: {
    204: { description: "Deleted" },
    409: errorResponse("A sender uses the relay; the message names them (`conflict`)"),
    ...COMMON_ERRORS,
    ...RELAY_NOT_FOUND,
  },
});

export function registerRelaysDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await deleteRelay(c.var.services, whoOf(c), { id: c.req.valid("param").id });
    return c.body(null, 204);
  });
}
