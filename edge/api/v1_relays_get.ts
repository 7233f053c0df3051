// GET /api/v1/relays/:id: one relay, without its password.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getRelay } from "../relays/relays.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RELAY_NOT_FOUND, RelayIdParam, RelaySchema } from "./relay_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/relays/{id}",
  operationId: "getRelay",
  summary: "Get a relay",
  description: "The relay, whether a password is set (`has_password`), and its last test.",
  tags: ["Relays"],
  security: [{ bearer: [] }],
  request: { params: RelayIdParam },
  responses: {
    200: { description: "The relay", content: { "application/json": { schema: RelaySchema } } },
    ...COMMON_ERRORS,
    ...RELAY_NOT_FOUND,
  },
});

export function registerRelaysGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getRelay(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
