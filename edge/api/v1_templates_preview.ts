// POST /api/v1/templates/:id/preview: the message one row would get, rendered as the probe renders it.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { previewTemplate } from "../templates/templates.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { TEMPLATE_NOT_FOUND, TEMPLATE_REFUSED, TemplateIdParam, TemplatePreviewOpenApi, TemplatePreviewRequestSchema } from "./template_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/templates/{id}/preview",
  operationId: "previewTemplate",
  summary: "Preview a template",
  description:
    "Renders the template for one row: `vars` when given, else the first deliverable row of `job_id` (its uploaded columns), else a sample person " +
    "(`first_name` Ada, `last_name` Lovelace, `email` ada@example.com, `company` Analytical Engines). `unsubscribe_url` points at a page that unsubscribes nobody.",
  tags: ["Templates"],
  security: [{ bearer: [] }],
  request: { params: TemplateIdParam, body: { required: false, content: { "application/json": { schema: TemplatePreviewRequestSchema } } } },
  responses: {
    200: { description: "The rendered message", content: { "application/json": { schema: TemplatePreviewOpenApi } } },
    400: TEMPLATE_REFUSED,
    ...COMMON_ERRORS,
    ...TEMPLATE_NOT_FOUND,
  },
});

export function registerTemplatesPreview(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await previewTemplate(c.var.services, whoOf(c), { id: c.req.valid("param").id, ...c.req.valid("json") }), 200));
}
