// Actions answer a refused request with the API's error code and message, for the page to show;
// anything else is a real failure and goes to the error boundary.
import { ServiceError } from "../../edge/errors.ts";

export function refused(e: unknown): { error: { code: string; message: string } } {
  if (e instanceof ServiceError) return { error: { code: e.code, message: e.message } };
  throw e;
}
