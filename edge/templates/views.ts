// What the API answers and the app shows of templates, written once as zod schemas (field notes
// in `.meta()`, which the OpenAPI document shows).
import { z } from "zod";
import { checkTemplate } from "../../core/template.ts";
import type { templates } from "../../db/schema.ts";

export type TemplateRow = typeof templates.$inferSelect;

const iso = (ms: number) => new Date(ms).toISOString();

export const TemplateViewSchema = z.object({
  id: z.string().meta({ example: "tpl_0d3kq8zp1m0avw2xbycd" }),
  name: z.string().meta({ example: "Spring launch" }),
  subject: z.string().meta({ example: "{{ first_name | default: \"Hello\" }}, our spring range is here" }),
  html: z.string().meta({ example: "<p>Hi {{ first_name | default: \"there\" }},</p><p>…</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>" }),
  text: z.string().nullable().meta({ description: "null: made from the HTML when a message is rendered" }),
  variables: z.array(z.string()).meta({
    example: ["first_name", "unsubscribe_url"],
    description: "The variables the template reads: the list's columns (by header, or its snake_case form) and `unsubscribe_url`",
  }),
  created_at: z.string().meta({ format: "date-time" }),
  updated_at: z.string().meta({ format: "date-time" }),
});
export type TemplateView = z.infer<typeof TemplateViewSchema>;

export function templateView(row: TemplateRow): TemplateView {
  const check = checkTemplate({ subject: row.subject, html: row.html, text: row.text });
  return {
    id: row.id,
    name: row.name,
    subject: row.subject,
    html: row.html,
    text: row.text,
    variables: check.ok ? check.variables : [],
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

export const TemplatePreviewSchema = z.object({
  subject: z.string().meta({ example: "Ada, our spring range is here" }),
  html: z.string(),
  text: z.string().meta({ description: "The template's text part, or the one made from the HTML" }),
  variables: z.array(z.string()).meta({ example: ["first_name", "unsubscribe_url"] }),
});
export type TemplatePreview = z.infer<typeof TemplatePreviewSchema>;
