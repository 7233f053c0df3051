// Middleware shared by every route: services built once per request, the request id, the rate
// limits of /api/v1 (per key, and per account across its keys; 429 with Retry-After and the IETF
// RateLimit-* headers), and the byte cap on its JSON bodies.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { RateLimitOutcome } from "../adapters/ratelimit.ts";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { buildServices } from "../context.ts";
import type { AppEnv } from "./app.ts";
import { ApiError, requestId } from "./errors.ts";

export const initServices = createMiddleware<AppEnv>(async (c, next) => {
  c.header("x-request-id", requestId(c));
  // Cloudflare sets cf-connecting-ip at its edge; a client cannot, so it is the address to log.
  const request = { ip: c.req.header("cf-connecting-ip") ?? null, userAgent: c.req.header("user-agent") ?? null, requestId: requestId(c) };
  c.set("services", buildServices(c.env, c.executionCtx, new URL(c.req.url).origin, request));
  await next();
});

/**
 * Two windows a request must pass: its key's (MXRAY_RATE_LIMIT_PER_MIN) and the one all of its
 * account's keys share (MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN), asked at once. The headers describe
 * whichever is nearer its end; a 429 says which one it was.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const limiter = c.var.services.rateLimiter;
  const [perKey, perAccount] = await Promise.all([limiter.limit(c.var.keyId ?? `account:${c.var.accountId}`), limiter.limitAccount(c.var.accountId)]);
  passWindows(c, [[perKey, "this key"], [perAccount, "this account's keys together"]]);
  await next();
});

/**
 * Refuses with a 429 naming the first window a request did not pass (`whose`: "this key"), or
 * sets the RateLimit-* headers of the one nearest its end.
 */
export function passWindows(c: Context<AppEnv>, windows: readonly (readonly [RateLimitOutcome, string])[]): void {
  for (const [outcome, whose] of windows) if (!outcome.success) refuse(outcome, whose);
  const nearest = windows.reduce((a, b) => (b[0].remaining < a[0].remaining ? b : a));
  setHeaders(c, nearest[0]);
}

/**
 * Spends `cost` more of the account's shared allowance, for a request that does that much more
 * work than one (decision makers: a find per person asked for). Refused, nothing is spent and the
 * request is a 429 before any of that work starts.
 */
export async function spendAccountAllowance(c: Context<AppEnv>, cost: number): Promise<void> {
  if (cost < 1) return;
  const r = await c.var.services.rateLimiter.limitAccount(c.var.accountId, cost);
  if (!r.success) refuse(r, "this account's keys together");
  if (r.remaining < Number(c.res.headers.get("ratelimit-remaining") ?? Infinity)) setHeaders(c, r);
}

function headersOf(r: RateLimitOutcome) {
  const resetS = Math.max(0, Math.ceil((r.reset - Date.now()) / 1000));
  return { resetS, headers: { "ratelimit-limit": String(r.limit), "ratelimit-remaining": String(Math.max(0, r.remaining)), "ratelimit-reset": String(resetS) } };
}

function setHeaders(c: Context<AppEnv>, r: RateLimitOutcome): void {
  for (const [k, v] of Object.entries(headersOf(r).headers)) c.header(k, v);
}

function refuse(r: RateLimitOutcome, whose: string): never {
  const { resetS, headers } = headersOf(r);
  throw new ApiError("rate_limited", `Rate limit of ${r.limit} requests a minute for ${whose} reached; retry in ${resetS} s`, { ...headers, "retry-after": String(Math.max(1, resetS)) });
}

/** A JSON request body of the API (a single check's is under 1 KiB); uploads have their own cap. */
export const MAX_API_JSON_BYTES = 64 * 1024;

/** Uploads, whose routes stream their bodies under MXRAY_MAX_UPLOAD_BYTES themselves (POST only). */
const UPLOAD_PATHS: ReadonlySet<string> = new Set(["/api/v1/jobs", "/api/v1/suppressions/import"]);

/**
 * Reads a request's body under a byte cap before any validator sees it: Hono's JSON validator
 * would otherwise buffer a chunked body of any size. The text is left where `c.req.json()`
 * reads it. Uploads (UPLOAD_PATHS) stream under MXRAY_MAX_UPLOAD_BYTES instead.
 */
export const capApiBody = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.raw.body && !(c.req.method === "POST" && UPLOAD_PATHS.has(c.req.path))) {
    const limit = Math.min(MAX_API_JSON_BYTES, c.var.services.config.MXRAY_MAX_UPLOAD_BYTES);
    const body = await readRequestLimited(c.req.raw, limit);
    if (!body.ok) throw new ApiError("payload_too_large", `Request bodies are limited to ${limit} bytes`);
    // Hono keeps each body reading as a promise, and derives json() from text().
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(new TextDecoder().decode(body.bytes));
  }
  await next();
});
