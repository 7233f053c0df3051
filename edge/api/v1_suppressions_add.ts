// POST /api/v1/suppressions: one address onto the list; an address already there keeps its first entry.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { addSuppression } from "../suppressions/suppressions.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { SuppressionReasonSchema, SuppressionSchema } from "./suppression_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/suppressions",
  operationId: "addSuppression",
  summary: "Suppress an address",
  description:
    "Puts the address on the account's suppression list: no campaign of the account sends to it, including campaigns already sending. " +
    "The address is stored as its key (lower-case, IDN domain in A-labels). An address already on the list keeps its first reason (200).",
  tags: ["Suppressions"],
  security: [{ bearer: [] }],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              email: z.string().max(MAX_EMAIL_LENGTH),
              reason: SuppressionReasonSchema.optional().openapi({ description: "`manual` when absent" }),
            })
            .openapi("SuppressionCreate", { example: { email: "ada@example.com" } }),
        },
      },
    },
  },
  responses: {
    201: { description: "Added", content: { "application/json": { schema: SuppressionSchema } } },
    200: { description: "Already on the list: its entry as it was", content: { "application/json": { schema: SuppressionSchema } } },
    400: errorResponse("Not an address, or a bad body (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerSuppressionsAdd(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const { suppression, created } = await addSuppression(c.var.services, whoOf(c), c.req.valid("json"));
    return created ? c.json(suppression, 201) : c.json(suppression, 200);
  });
}
