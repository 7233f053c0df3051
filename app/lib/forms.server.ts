// A page's form, read into the shape the API takes and checked by the API's own schema, so a page
// and a request refuse the same input with the same words.
import type { z } from "zod";
import { ServiceError } from "../../edge/errors.ts";

/** The value as the schema has it, or validation_failed naming each field, as the API answers. */
export function validated<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ServiceError("validation_failed", parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "form"}: ${i.message}`).join("; "));
}

/** A text field, trimmed; blank is null. */
export function optionalText(form: FormData, name: string): string | null {
  const v = form.get(name);
  return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
}

export const text = (form: FormData, name: string) => String(form.get(name) ?? "").trim();

/** A whole number field; blank is undefined, anything else that is not a number stays as typed for the schema to refuse. */
export function optionalNumber(form: FormData, name: string): number | string | undefined {
  const v = text(form, name);
  if (v === "") return undefined;
  return /^\d+$/.test(v) ? Number(v) : v;
}
