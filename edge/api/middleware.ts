// Middleware shared by every route: services built once per request, the request id, and the
// per-key rate limit of /api/v1 (429 with Retry-After and the IETF RateLimit-* headers), and the
// byte cap on its JSON bodies.
import { createMiddleware } from "hono/factory";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { buildServices } from "../services/context.ts";
import type { AppEnv } from "./app.ts";
import { ApiError, requestId } from "./errors.ts";

export const initServices = createMiddleware<AppEnv>(async (c, next) => {
  c.header("x-request-id", requestId(c));
  // Cloudflare sets cf-connecting-ip at its edge; a client cannot, so it is the address to log.
  const request = { ip: c.req.header("cf-connecting-ip") ?? null, userAgent: c.req.header("user-agent") ?? null, requestId: requestId(c) };
  c.set("services", buildServices(c.env, c.executionCtx, new URL(c.req.url).origin, request));
  await next();
});

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const subject = c.var.keyId ?? `account:${c.var.accountId}`;
  const r = await c.var.services.rateLimiter.limit(subject);
  const resetS = Math.max(0, Math.ceil((r.reset - Date.now()) / 1000));
  const headers = { "ratelimit-limit": String(r.limit), "ratelimit-remaining": String(r.remaining), "ratelimit-reset": String(resetS) };
  if (!r.success) {
    throw new ApiError("rate_limited", `Rate limit of ${r.limit} requests a minute reached; retry in ${resetS} s`, { ...headers, "retry-after": String(Math.max(1, resetS)) });
  }
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  await next();
});

/** A JSON request body of the API (a single check's is under 1 KiB); uploads have their own cap. */
export const MAX_API_JSON_BYTES = 64 * 1024;

/**
 * Reads a request's body under a byte cap before any validator sees it: Hono's JSON validator
 * would otherwise buffer a chunked body of any size. The text is left where `c.req.json()`
 * reads it. Uploads (POST /api/v1/jobs) stream under MXRAY_MAX_UPLOAD_BYTES instead.
 */
export const capApiBody = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.raw.body && !(c.req.method === "POST" && c.req.path === "/api/v1/jobs")) {
    const limit = Math.min(MAX_API_JSON_BYTES, c.var.services.config.MXRAY_MAX_UPLOAD_BYTES);
    const body = await readRequestLimited(c.req.raw, limit);
    if (!body.ok) throw new ApiError("payload_too_large", `Request bodies are limited to ${limit} bytes`);
    // Hono keeps each body reading as a promise, and derives json() from text().
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(new TextDecoder().decode(body.bytes));
  }
  await next();
});
