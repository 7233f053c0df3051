// PATCH /api/v1/templates/:id: change any field; the template is checked as a whole.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { updateTemplate } from "../templates/templates.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { TEMPLATE_NOT_FOUND, TEMPLATE_REFUSED, TemplateIdParam, TemplateSchema, TemplateUpdateSchema } from "./template_schemas.ts";

const route = createRoute({
  method: "patch",
  path: "/api/v1/templates/{id}",
  operationId: "updateTemplate",
  summary: "Update a template",
  description: "Changes any field (`text: null` makes the text part from the HTML again). A campaign already sending keeps the template as it was when it started.",
  tags: ["Templates"],
  security: [{ bearer: [] }],
  request: { params: TemplateIdParam, body: { required: true, content: { "application/json": { schema: TemplateUpdateSchema } } } },
  responses: {
    200: { description: "The template as changed", content: { "application/json": { schema: TemplateSchema } } },
    400: TEMPLATE_REFUSED,
    ...COMMON_ERRORS,
    ...TEMPLATE_NOT_FOUND,
  },
});

export function registerTemplatesUpdate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await updateTemplate(c.var.services, whoOf(c), { id: c.req.valid("param").id, patch: c.req.valid("json") }), 200));
}
