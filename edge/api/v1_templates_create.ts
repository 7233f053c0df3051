// POST /api/v1/templates: a message in Liquid, checked before it is kept.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { createTemplate } from "../templates/templates.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS } from "./schemas.ts";
import { TEMPLATE_REFUSED, TemplateCreateSchema, TemplateSchema } from "./template_schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/templates",
  operationId: "createTemplate",
  summary: "Create a template",
  description:
    "A message in Liquid, a template language that runs no code: the list's columns are its variables (by header, or its snake_case form: `First Name` is `first_name`), " +
    "with defaults (`{{ first_name | default: \"there\" }}`). `{{ unsubscribe_url }}` must appear, or a footer holding it is added; a missing text part is made from the HTML.",
  tags: ["Templates"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: TemplateCreateSchema } } } },
  responses: {
    201: { description: "The template", content: { "application/json": { schema: TemplateSchema } } },
    400: TEMPLATE_REFUSED,
    ...COMMON_ERRORS,
  },
});

export function registerTemplatesCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await createTemplate(c.var.services, whoOf(c), c.req.valid("json")), 201));
}
