// POST /api/v1/relays: a relay of the account's own; its password is stored encrypted, never shown.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { createRelay } from "../relays/relays.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RELAY_REFUSED, RelayCreateSchema, RelaySchema } from "./relay_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/relays",
  operationId: "createRelay",
  summary: "Add an SMTP relay",
  description:
    "An SMTP relay the account owns (SES, SendGrid, Postmark, Mailgun, Gmail or Microsoft 365 submission, its own Postfix) that campaigns send through. " +
    "The password is stored encrypted and never returned. Test it with `POST /api/v1/relays/{id}/test`.",
  tags: ["Relays"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: RelayCreateSchema } } } },
  responses: {
    201: { description: "The relay", content: { "application/json": { schema: RelaySchema } } },
    400: RELAY_REFUSED,
    ...COMMON_ERRORS,
  },
});

export function registerRelaysCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await createRelay(c.var.services, whoOf(c), c.req.valid("json")), 201));
}
