// GET /api/v1/relays: the account's relays, newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listRelays } from "../relays/relays.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RelaySchema } from "./relay_schemas.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/relays",
  operationId: "listRelays",
  summary: "List relays, newest first",
  description: "Every relay of the account; passwords are never listed.",
  tags: ["Relays"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Relays") },
  responses: {
    200: { description: "A page of relays", content: { "application/json": { schema: pageOf(RelaySchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerRelaysList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listRelays(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
