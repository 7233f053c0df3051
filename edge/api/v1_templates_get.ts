// GET /api/v1/templates/:id: one template and the variables it reads.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getTemplate } from "../templates/templates.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { TEMPLATE_NOT_FOUND, TemplateIdParam, TemplateSchema } from "./template_schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/templates/{id}",
  operationId: "getTemplate",
  summary: "Get a template",
  description: "The template as written, and the variables it reads.",
  tags: ["Templates"],
  security: [{ bearer: [] }],
  request: { params: TemplateIdParam },
  responses: {
    200: { description: "The template", content: { "application/json": { schema: TemplateSchema } } },
    ...COMMON_ERRORS,
    ...TEMPLATE_NOT_FOUND,
  },
});

export function registerTemplatesGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getTemplate(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
