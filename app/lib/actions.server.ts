// Actions answer a refused request with the API's error code and message, for the page to show;
// anything else is a real failure and goes to the error boundary.
import { ServiceError } from "../../edge/errors.ts";

export function refused(e: unknown): { error: { code: string; message: string } } {
  if (e instanceof ServiceError) return { error: { code: e.code, message: e.message } };
  throw e;
}

/** A same-site path to go back to after signing in (never another origin). */
export function safeNext(next: string | null | undefined, fallback = "/dashboard"): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : fallback;
}
