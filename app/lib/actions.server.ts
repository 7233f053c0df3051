// The edge's errors as pages meet them. Actions answer a refused request with the API's error code
// and message, for the page to show; anything else is a real failure and goes to the error boundary.
import type { Permission } from "../../core/roles.ts";
import { ServiceError } from "../../edge/errors.ts";
import { authorize } from "../../edge/identity/accounts.ts";

export { API_ERRORS } from "../../edge/api/errors.ts";
export { findServiceError, ServiceError } from "../../edge/errors.ts";

export function refused(e: unknown): { error: { code: string; message: string } } {
  if (e instanceof ServiceError) return { error: { code: e.code, message: e.message } };
  throw e;
}

/** A page the viewer's role may not open answers 403 with the reason. */
export function authorizeOr403(viewer: Parameters<typeof authorize>[0], permission: Permission): void {
  try {
    authorize(viewer, permission);
  } catch (e) {
    throw new Response(e instanceof Error ? e.message : "Not allowed", { status: 403 });
  }
}
