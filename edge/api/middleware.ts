// Middleware shared by every route: services built once per request, the request id, and the
// per-key rate limit of /api/v1 (429 with Retry-After and the IETF RateLimit-* headers).
import { createMiddleware } from "hono/factory";
import { buildServices } from "../services/context.ts";
import type { AppEnv } from "./app.ts";
import { ApiError, requestId } from "./errors.ts";

export const initServices = createMiddleware<AppEnv>(async (c, next) => {
  c.header("x-request-id", requestId(c));
  c.set("services", buildServices(c.env, c.executionCtx, new URL(c.req.url).origin));
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
