// DELETE /api/v1/templates/:id: refused while a campaign that has not finished uses the template.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteTemplate } from "../templates/templates.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";
import { TEMPLATE_NOT_FOUND, TemplateIdParam } from "./template_schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/templates/{id}",
  operationId: "deleteTemplate",
  summary: "Delete a template",
  description: "Deletes the template. One that a campaign not yet completed, canceled or failed uses cannot be deleted.",
  tags: ["Templates"],
  security: [{ bearer: [] }],
  request: { params: TemplateIdParam },
  responses: {
    204: { description: "Deleted" },
    409: errorResponse("A campaign that has not finished uses the template; the message names it (`conflict`)"),
    ...COMMON_ERRORS,
    ...TEMPLATE_NOT_FOUND,
  },
});

export function registerTemplatesDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    await deleteTemplate(c.var.services, whoOf(c), { id: c.req.valid("param").id });
    return c.body(null, 204);
  });
}
