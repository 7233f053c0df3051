// The edge's own errors: services and adapters throw these with a stable code; only edge/api
// turns a code into an HTTP status (edge/api/errors.ts), so a service never speaks HTTP.
import { SPREADSHEET_ERROR_CODES } from "../core/spreadsheet/limits.ts";

export const SERVICE_ERROR_CODES = [
  "bad_request",
  "invalid_json",
  "validation_failed",
  /** A webhook URL that deliveries may not go to (core/webhookurl.ts); the message names the rule. */
  "url_not_allowed",
  "empty_upload",
  "no_email_column",
  "not_utf8",
  "insufficient_credits",
  "forbidden",
  /** An operator disabled the account (/admin): its keys and members can start nothing. */
  "account_disabled",
  "not_found",
  "conflict",
  /** The change would leave a team without an owner. */
  "last_owner",
  "payload_too_large",
  "unsupported_media_type",
  "probe_unavailable",
  /** Stripe cannot be reached, or billing is not configured here: nothing was bought. */
  "payments_unavailable",
  /** Decision makers need a people-data provider, and none is configured here (PDL_API_KEY, APOLLO_API_KEY). */
  "people_data_off",
  /** The account used its day's lookups of the people-data provider (MXRAY_PEOPLE_DATA_PER_DAY). */
  "people_data_limit",
  /** The people-data provider failed (unreachable, rate limited, our key refused): nothing was charged. */
  "people_data_unavailable",
  /** Too many of one kind of request in a window (e.g. webhook test sends); see Retry-After. */
  "rate_limited",
  /** A template that does not parse or render (Liquid); the message names line and column. */
  "template_invalid",
  /** A relay host that is loopback, private or otherwise not public (MXRAY_ALLOW_PRIVATE_TARGETS=1 allows it). */
  "host_not_allowed",
  /** The sender has not confirmed its From address yet (the link in its confirmation message). */
  "sender_not_confirmed",
  /** The database cannot be reached (or is overloaded): nothing was changed; try again. */
  "unavailable",
  /** The job's results were removed under the account's retention setting (issue 25); its summary stays. */
  "results_expired",
  // An .xlsx or .zip upload refused (core/spreadsheet/limits.ts says what each means).
  ...SPREADSHEET_ERROR_CODES,
] as const;
export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** When asking again makes sense, after about this many seconds. */
    readonly retryAfterS?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The ServiceError anywhere in an error's cause chain (drizzle wraps what the client throws). */
export function findServiceError(err: unknown): ServiceError | null {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ServiceError) return e;
  }
  return null;
}

/** Each error of a cause chain as { name, code, message }: logs say what the driver said, not only "Failed query". */
export function causeChain(err: unknown): { name: string; code?: string; message: string }[] {
  const out: { name: string; code?: string; message: string }[] = [];
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const o = e as { name?: string; code?: unknown; message?: unknown };
    out.push({
      name: typeof o.name === "string" ? o.name : typeof e,
      ...(typeof o.code === "string" ? { code: o.code } : {}),
      message: String(o.message ?? e).slice(0, 500),
    });
  }
  return out;
}
