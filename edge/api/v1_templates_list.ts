// GET /api/v1/templates: the account's templates, newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listTemplates } from "../templates/templates.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";
import { TemplateSchema } from "./template_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/templates",
  operationId: "listTemplates",
  summary: "List templates, newest first",
  description: "Every template of the account, with the variables each reads.",
  tags: ["Templates"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Templates") },
  responses: {
    200: { description: "A page of templates", content: { "application/json": { schema: pageOf(TemplateSchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerTemplatesList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listTemplates(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
