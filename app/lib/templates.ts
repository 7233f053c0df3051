// What the template editor shows of a template error, on the server and in the browser.
import type { TemplateField } from "../../core/template.ts";

/** A template that does not parse or render: which field, where, and why. */
export interface TemplateFieldError {
  field: TemplateField;
  line: number;
  column: number;
  detail: string;
}

/** "Line 2, column 4: …", as shown beside the field. */
export const whereText = (e: TemplateFieldError) => `Line ${e.line}, column ${e.column}: ${e.detail}`;
