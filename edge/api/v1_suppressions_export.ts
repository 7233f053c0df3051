// GET /api/v1/suppressions/export: the whole list as CSV (streamed), safe against formula injection.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { EXPORT_COLUMNS, exportSuppressions } from "../suppressions/suppressions.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/suppressions/export",
  operationId: "exportSuppressions",
  summary: "Export the suppression list (CSV)",
  description: `Every suppressed address in address order, with the columns ${EXPORT_COLUMNS.map((c) => `\`${c}\``).join(", ")}. A cell that a spreadsheet would take for a formula starts with an apostrophe. The file imports back as it is.`,
  tags: ["Suppressions"],
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The list", content: { "text/csv": { schema: z.string().openapi({ example: "email,reason,campaign_id,source,created_at\r\nada@example.com,unsubscribed,cmp_5t0kq8zp1m0avw2xbycd,recipient,2025-03-15T10:02:41.000Z\r\n" }) } } },
    ...COMMON_ERRORS,
  },
});

export function registerSuppressionsExport(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const headers = { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="suppressions.csv"' };
    return c.body(exportSuppressions(c.var.services, whoOf(c)), 200, headers) as never;
  });
}
