// POST /api/v1/relays/:id/test: a probe connects, upgrades and authenticates; nothing is sent.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { RELAY_TESTS_PER_ACCOUNT_HOUR, testRelay } from "../relays/relays.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { RELAY_NOT_FOUND, RelayIdParam, RelayTestSchema } from "./relay_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/relays/{id}/test",
  operationId: "testRelay",
  summary: "Test a relay",
  description:
    "A probe connects to the relay, upgrades the connection (STARTTLS or TLS), authenticates and quits, sending no message. " +
    "The outcome is also kept on the relay (`tested_at`, `test_ok`, `test_detail`). " +
    `A relay that fails still answers 200, with \`ok: false\` and how far it got. At most ${RELAY_TESTS_PER_ACCOUNT_HOUR} tests an hour per account.`,
  tags: ["Relays"],
  security: [{ bearer: [] }],
  request: { params: RelayIdParam },
  responses: {
    200: { description: "What the probe found", content: { "application/json": { schema: RelayTestSchema } } },
    409: errorResponse("The stored password can no longer be read (`conflict`): set it again"),
    ...COMMON_ERRORS,
    429: errorResponse("Rate limited (`rate_limited`): the API key's rate, or this hour's relay tests of the account are used; see Retry-After"),
    ...RELAY_NOT_FOUND,
    503: errorResponse("No probe is online, or none answered (`probe_unavailable`); see Retry-After"),
  },
});

export function registerRelaysTest(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await testRelay(c.var.services, whoOf(c), { id: c.req.valid("param").id }), 200));
}
