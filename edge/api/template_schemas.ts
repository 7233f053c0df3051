// Schemas of the template operations (edge/api/v1_templates_*.ts). The answers' shapes are the
// templates capability's views (edge/templates/views.ts), named here for the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { MAX_HTML, MAX_SUBJECT, MAX_TEXT } from "../../core/template.ts";
import { TemplatePreviewSchema, TemplateViewSchema } from "../templates/views.ts";
import { errorResponse } from "./schemas.ts";

export const TemplateSchema = TemplateViewSchema.openapi("Template");
export const TemplatePreviewOpenApi = TemplatePreviewSchema.openapi("TemplatePreview");

export const TemplateIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "tpl_0d3kq8zp1m0avw2xbycd" }) });

const fields = {
  name: z.string().min(1).max(100).openapi({ example: "Spring launch" }),
  subject: z.string().min(1).max(MAX_SUBJECT).openapi({ example: "{{ first_name | default: \"Hello\" }}, our spring range is here" }),
  html: z
    .string()
    .min(1)
    .max(MAX_HTML)
    .openapi({
      example: "<p>Hi {{ first_name | default: \"there\" }},</p><p>Our spring range is here.</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>",
      description: "Liquid; every variable's value is HTML-escaped. Without `{{ unsubscribe_url }}`, a footer holding it is added",
    }),
  text: z.string().max(MAX_TEXT).nullable().openapi({ description: "Liquid; null or absent: made from the HTML. Without `{{ unsubscribe_url }}`, a line holding it is added" }),
};

export const TemplateCreateSchema = z
  .object({ ...fields, text: fields.text.optional() })
  .strict()
  .openapi("TemplateCreate", {
    example: { name: "Spring launch", subject: "{{ first_name | default: \"Hello\" }}, our spring range is here", html: "<p>Hi {{ first_name | default: \"there\" }},</p><p>Our spring range is here.</p>" },
  });

export const TemplateUpdateSchema = z
  .object({ name: fields.name.optional(), subject: fields.subject.optional(), html: fields.html.optional(), text: fields.text.optional() })
  .strict()
  .openapi("TemplateUpdate", { example: { subject: "{{ first_name | default: \"Hello\" }}, the spring range is in" } });

export const TemplatePreviewRequestSchema = z
  .object({
    vars: z
      .record(z.string().max(256), z.string().max(4_096))
      .optional()
      .openapi({ example: { first_name: "Grace", company: "Navy" }, description: "The row to render, by column (wins over `job_id`)" }),
    job_id: z.string().min(1).max(64).optional().openapi({ example: "job_3kq8Zp1m0aVw2XbYcD4e", description: "Render the first deliverable row of this job" }),
  })
  .strict()
  .openapi("TemplatePreviewRequest", { example: { job_id: "job_3kq8Zp1m0aVw2XbYcD4e" } });

export const TEMPLATE_NOT_FOUND = { 404: errorResponse("No such template (or job) for this account (`not_found`)") } as const;
export const TEMPLATE_REFUSED = errorResponse("`validation_failed` (a bad body), or `template_invalid`: the template does not parse; the message names field, line and column, e.g. `html line 3, column 14: …`");
