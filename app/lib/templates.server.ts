// The edge's templates capability as the pages use it: list, create, change, delete, and preview
// (a saved template, or the editor's text as it is typed).
import { z } from "zod";
import { MAX_HTML, MAX_SUBJECT, MAX_TEXT, TemplateError } from "../../core/template.ts";
import { ServiceError } from "../../edge/errors.ts";
import type { TemplateFieldError } from "./templates.ts";

export { createTemplate, deleteTemplate, getTemplate, listTemplates, previewSource, updateTemplate } from "../../edge/templates/templates.ts";
export type { TemplatePreview, TemplateView } from "../../edge/templates/views.ts";

/** The API's limits (edge/api/template_schemas.ts) in plain zod: the API's schemas carry OpenAPI metadata that the app's bundle does not load. */
export const TemplateForm = z
  .object({
    name: z.string().min(1).max(100),
    subject: z.string().min(1).max(MAX_SUBJECT),
    html: z.string().min(1).max(MAX_HTML),
    text: z.string().max(MAX_TEXT).nullable(),
  })
  .strict();

/** Where a template_invalid error is (field, line, column), for the editor to show beside the field; null for any other error. */
export function templateFieldError(e: unknown): TemplateFieldError | null {
  if (!(e instanceof ServiceError) || e.code !== "template_invalid" || !(e.cause instanceof TemplateError)) return null;
  const { field, line, column, detail } = e.cause;
  return { field, line, column, detail };
}
