// GET /api/v1/credits/ledger: the account's credit ledger, newest first, paginated by cursor.
// Any valid key reads it: keys act for the whole account, not for one member's role.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { LEDGER_REASONS } from "../../core/enums.ts";
import { creditLedger } from "../../db/schema.ts";
import { listLedger } from "../credits/account.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const LedgerEntrySchema = z
  .object({
    id: z.number().int().openapi({ description: "Increases with each entry written" }),
    delta: z.number().int().openapi({ description: "Credits added (positive) or taken (negative)" }),
    reason: z.enum(LEDGER_REASONS),
    kind: z.enum(creditLedger.kind.enumValues),
    actor: z.string().openapi({ description: "Who moved the credits: a user id, an API key id, `stripe` or `system`" }),
    job_id: z.string().nullable(),
    job_name: z.string().nullable().openapi({ description: "The list's name; null when the entry moved no list's credits or the list was deleted" }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("LedgerEntry");

const route = createRoute({
  method: "get",
  path: "/api/v1/credits/ledger",
  operationId: "listLedgerEntries",
  summary: "List credit ledger entries, newest first",
  tags: ["Account"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Entries") },
  responses: {
    200: {
      description: "A page of ledger entries",
      content: { "application/json": { schema: pageOf(LedgerEntrySchema) } },
    },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerCreditsLedger(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listLedger(c.var.services, whoOf(c), q), 200);
  });
}
