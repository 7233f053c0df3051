// POST /api/v1/find: a person's address from their name and company (issue 14), with the same SMTP
// evidence as a verification. One credit when an address is returned, nothing otherwise.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { FindAnswerSchema } from "../../core/contracts.ts";
import { findPersonOnce } from "../finder/find.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { requestId } from "./errors.ts";
import { COMMON_ERRORS, errorResponse, IdempotencyKeyHeader } from "./schemas.ts";

const name = (example: string, description: string) => z.string().max(1_000).optional().openapi({ example, description });

const FindRequest = z
  .object({
    first_name: name("Ada", "With `last_name`; or give `full_name`"),
    last_name: name("Lovelace", "The family name; particles (van, de…) and hyphenated names are tried in their parts"),
    full_name: name("Ada Lovelace", "Instead of first and last name: \"Ada Lovelace\" or \"Lovelace, Ada\""),
    domain: z.string().max(2_048).optional().openapi({
      example: "example.com",
      description: "The company's mail domain; a website URL or an address at the company is reduced to its domain",
    }),
    trace: z.boolean().optional().openapi({ description: "Include the SMTP transcript of the candidates asked" }),
  })
  .openapi("FindRequest");

const FindAnswer = FindAnswerSchema.openapi("FindAnswer", {
  description:
    "`email` is the best address found, or null. Its `verdict` is `deliverable` (accepted by a server that refuses unknown mailboxes; " +
    "`confidence` is the verdict's score), or `risky` with reason `catch_all` (the domain accepts every address: `email` is the likeliest " +
    "pattern's address and `confidence` how likely that pattern is). With no address, `verdict` and `reason` say why: `undeliverable` " +
    "when every candidate was refused, `unknown` when the server would not tell. `candidates` lists the addresses asked about, in order.",
});

const route = createRoute({
  method: "post",
  path: "/api/v1/find",
  operationId: "findAddress",
  summary: "Find a person's address",
  tags: ["Find"],
  security: [{ bearer: [] }],
  request: {
    headers: z.object({
      "idempotency-key": IdempotencyKeyHeader.openapi({
        description:
          "Any unique string of yours (≤ 255 printable ASCII characters). A retry with the same key within 24 hours is charged once and " +
          "answered with the first answer (header `idempotent-replayed: true`); reusing a key with a different body is a 409 `conflict`. " +
          "Answers without an address are not kept, so their retry finds again.",
      }),
    }),
    body: { required: true, content: { "application/json": { schema: FindRequest } } },
  },
  responses: {
    200: { description: "The address found (or null), with the candidates asked and their evidence", content: { "application/json": { schema: FindAnswer } } },
    400: errorResponse("`invalid_json`, or `validation_failed`: no domain, a name with no letters, an IP address or localhost for a domain"),
    402: errorResponse("No credits left (`insufficient_credits`)"),
    409: errorResponse("The Idempotency-Key was used with a different body (`conflict`)"),
    503: errorResponse("No probe online after waiting a few seconds for one (`MXRAY_PROBE_WAIT_MS`), or none answered (`probe_unavailable`, with Retry-After)"),
    ...COMMON_ERRORS,
  },
});

export function registerFind(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const key = c.req.valid("header")["idempotency-key"];
    const { answer, replayed } = await findPersonOnce(c.var.services, whoOf(c), { find: c.req.valid("json"), requestId: requestId(c), idempotencyKey: key });
    if (replayed) c.header("idempotent-replayed", "true");
    return c.json(answer, 200);
  });
}
