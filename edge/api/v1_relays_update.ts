// PATCH /api/v1/relays/:id: change any field; `password` set by a string, cleared by null, kept when absent.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { updateRelay } from "../relays/relays.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RELAY_NOT_FOUND, RELAY_REFUSED, RelayIdParam, RelaySchema, RelayUpdateSchema } from "./relay_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "patch",
  path: "/api/v1/relays/{id}",
  operationId: "updateRelay",
  summary: "Update a relay",
  description: "Changes any field; the relay is checked as a whole with the fields it keeps. Campaigns already sending keep the relay as it was when they started.",
  tags: ["Relays"],
  security: [{ bearer: [] }],
  request: { params: RelayIdParam, body: { required: true, content: { "application/json": { schema: RelayUpdateSchema } } } },
  responses: {
    200: { description: "The relay as changed", content: { "application/json": { schema: RelaySchema } } },
    400: RELAY_REFUSED,
    ...COMMON_ERRORS,
    ...RELAY_NOT_FOUND,
  },
});

export function registerRelaysUpdate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await updateRelay(c.var.services, whoOf(c), { id: c.req.valid("param").id, patch: c.req.valid("json") }), 200));
}
