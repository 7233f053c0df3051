// POST /api/v1/suppressions/import: a CSV or plain list (streamed), or JSON { emails }, onto the
// list in one write; the answer accounts for every row.
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { ImportJson, importSuppressions, MAX_IMPORT_ROWS, readImport } from "../suppressions/import.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { SuppressionReasonSchema } from "./suppression_schemas.ts";

const ImportCountsSchema = z
  .object({
    rows: z.number().int().openapi({ description: "Rows read (not the header or blank lines): `added` + `already` + `invalid`" }),
    added: z.number().int(),
    already: z.number().int().openapi({ description: "On the list before, or repeated in this import" }),
    invalid: z.number().int().openapi({ description: "No address in the email cell, or not an address" }),
  })
  .openapi("SuppressionImport", { example: { rows: 1_204, added: 1_180, already: 20, invalid: 4 } });

export function registerSuppressionsImport(api: OpenAPIHono<AppEnv>): void {
  api.openAPIRegistry.registerPath({
    method: "post",
    path: "/api/v1/suppressions/import",
    operationId: "importSuppressions",
    summary: "Import addresses into the suppression list",
    description:
      `A CSV (its \`email\` column, or the column holding addresses; a one-column file or plain list of addresses works too) or JSON \`{ "emails": [...] }\`, at most ${MAX_IMPORT_ROWS.toLocaleString("en")} rows. ` +
      "All of it is written at once, or nothing (a row cap or size limit crossed). Addresses already on the list keep their first reason. " +
      "`reason` (query, or the JSON body's field) is `manual` when absent.",
    tags: ["Suppressions"],
    security: [{ bearer: [] }],
    request: {
      query: z.object({ reason: SuppressionReasonSchema.optional() }),
      body: {
        required: true,
        content: {
          "text/csv": { schema: z.string().openapi({ example: "email,note\nada@example.com,asked by phone\n" }) },
          "text/plain": { schema: z.string().openapi({ example: "ada@example.com\ngrace@example.org\n" }) },
          "application/json": { schema: ImportJson.openapi("SuppressionImportJson", { example: { emails: ["ada@example.com"], reason: "manual" } }) },
        },
      },
    },
    responses: {
      200: { description: "How every row ended", content: { "application/json": { schema: ImportCountsSchema } } },
      400: errorResponse("`invalid_json`, `validation_failed` (too many rows, a bad `reason`), `empty_upload` or `not_utf8`"),
      413: errorResponse("Body over the size limit (`payload_too_large`)"),
      415: errorResponse("Unsupported content type (`unsupported_media_type`)"),
      ...COMMON_ERRORS,
    },
  });

  api.post("/api/v1/suppressions/import", async (c) => {
    const { services } = c.var;
    const query = z.object({ reason: SuppressionReasonSchema.optional() }).safeParse({ reason: c.req.query("reason") });
    if (!query.success) throw new ApiError("validation_failed", `reason: use one of ${SuppressionReasonSchema.options.join(", ")}`);
    const { source, reason } = await readImport(c.req.raw, services.config.MXRAY_MAX_UPLOAD_BYTES);
    return c.json(await importSuppressions(services, whoOf(c), { source, reason: reason ?? query.data.reason }), 200);
  });
}
