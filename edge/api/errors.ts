// One error envelope for the whole API: { "error": { "code", "message", "requestId" } }. Codes
// are a closed set; the status of each lives here and nowhere else. Services throw their own
// ServiceError (edge/errors.ts); this is the one place that maps its code to HTTP.
import type { Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { newId } from "../../core/ids.ts";
import { causeChain, findServiceError, type ServiceErrorCode } from "../errors.ts";

export const API_ERRORS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  url_not_allowed: 400,
  template_invalid: 400,
  host_not_allowed: 400,
  empty_upload: 400,
  no_email_column: 400,
  not_utf8: 400,
  /** The `sheet` asked for is not in the workbook (or the upload is not one). */
  sheet_not_found: 400,
  unauthorized: 401,
  key_revoked: 401,
  bad_signature: 401,
  /** A probe-signed request whose signature (its nonce) was already used within its window. */
  replayed: 401,
  /** A Stripe delivery whose signature does not match (Stripe expects 400 for these). */
  webhook_signature_invalid: 400,
  /** A Stripe delivery signed more than 5 minutes ago: a replay. */
  webhook_timestamp_stale: 400,
  insufficient_credits: 402,
  forbidden: 403,
  account_disabled: 403,
  /** A publishable key (`mx_pk_…`) anywhere but the single check (POST /api/v1/verify?key=…). */
  publishable_key_forbidden: 403,
  /** A publishable key used from an origin not on its list, or with no Origin (not from a browser page). */
  origin_not_allowed: 403,
  not_found: 404,
  conflict: 409,
  last_owner: 409,
  sender_not_confirmed: 409,
  /** The job's results were removed under the account's retention setting; the job's summary stays. */
  results_expired: 410,
  payload_too_large: 413,
  /** An archive or workbook past a bound: entries, bytes inflated, shared strings held. */
  archive_too_many_entries: 413,
  archive_too_large: 413,
  unsupported_media_type: 415,
  /** .xls, .xlsb, OpenDocument: save as .xlsx or CSV. */
  spreadsheet_format_unsupported: 415,
  /** A zip bomb, an XML bomb, a password, or a damaged file: the content cannot be read. */
  archive_ratio_exceeded: 422,
  archive_encrypted: 422,
  archive_invalid: 422,
  xml_doctype_refused: 422,
  xml_too_complex: 422,
  spreadsheet_encrypted: 422,
  spreadsheet_invalid: 422,
  rate_limited: 429,
  people_data_limit: 429,
  internal: 500,
  /** Not implemented here: the operator has not configured a people-data provider. */
  people_data_off: 501,
  probe_unavailable: 503,
  people_data_unavailable: 503,
  /** The endpoint's secret is not configured here (STRIPE_WEBHOOK_SECRET). */
  not_configured: 503,
  payments_unavailable: 503,
  unavailable: 503,
} as const satisfies Record<ServiceErrorCode | "unauthorized" | "key_revoked" | "bad_signature" | "replayed" | "webhook_signature_invalid" | "webhook_timestamp_stale" | "not_configured" | "rate_limited" | "internal" | "publishable_key_forbidden" | "origin_not_allowed", number>;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** Thrown by handlers and middleware of the HTTP edge; turned into the envelope. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function requestId(c: Context): string {
  let id = c.get("requestId" as never) as string | undefined;
  if (!id) {
    id = newId("req");
    c.set("requestId" as never, id as never);
  }
  return id;
}

export function errorResponse(c: Context, code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
  const id = requestId(c);
  return c.json({ error: { code, message, requestId: id } }, API_ERRORS[code], { ...headers, "x-request-id": id });
}

/** Registers the envelope for thrown ApiErrors, Hono's own exceptions, unknown routes and bugs. */
export function installErrorHandling(app: Hono<any>): void {
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err.code, err.message, err.headers);
    const service = findServiceError(err);
    if (service) {
      if (service.code === "unavailable") console.error(JSON.stringify({ msg: "database unavailable", requestId: requestId(c), causes: causeChain(service.cause) }));
      return errorResponse(c, service.code, service.message, service.retryAfterS ? { "retry-after": String(service.retryAfterS) } : {});
    }
    if (err instanceof HTTPException) {
      // Hono's validator says so when a JSON body does not parse.
      if (err.status === 400 && /malformed json/i.test(err.message)) return errorResponse(c, "invalid_json", "The body is not valid JSON");
      const code = (Object.keys(API_ERRORS) as ApiErrorCode[]).find((k) => API_ERRORS[k] === err.status) ?? "bad_request";
      return errorResponse(c, code, err.message || code);
    }
    console.error(JSON.stringify({ msg: "unhandled error", requestId: requestId(c), causes: causeChain(err) }));
    return errorResponse(c, "internal", "Something went wrong on our side; the request id helps us find it.");
  });
  app.notFound((c) => errorResponse(c, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`));
}
