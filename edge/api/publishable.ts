// Publishable keys (`mx_pk_…`, issue 25) at the HTTP edge. Such a key sits in a public web page
// (the sign-up form widget), so it may make single checks and nothing else: it is accepted only
// as `?key=` on POST /api/v1/verify and that route's CORS preflight (a preflight carries no
// Authorization header, and the key in the URL lets it be checked too), only from a page on one
// of the key's origins, and within its windows per key, per origin and per client IP. Anywhere
// else, in the URL or an Authorization header, it is refused 403 `publishable_key_forbidden`
// before any route runs: the API, the callbacks, the sockets and the web pages alike.
//
// CORS (Fetch standard §3.2): a listed origin gets `Access-Control-Allow-Origin: <that origin>`,
// never `*`, with `Vary: Origin` and no `Access-Control-Allow-Credentials` (the widget sends no
// cookies; ours never ride along). An origin not on the list, or none (curl, a server: a
// publishable key is for browsers), is refused 403 `origin_not_allowed` with no CORS permission,
// so the page cannot read even the refusal. Non-browsers can write any Origin header they like:
// the per-IP window is what limits a scraper, and every check is charged to the key's account.
import { createMiddleware } from "hono/factory";
import { PUBLISHABLE_KEY_PREFIX } from "../../core/apikeys.ts";
import { parseIPv6 } from "../../core/netaddr.ts";
import { originAllowed } from "../../core/origins.ts";
import { checkApiKey } from "../identity/keys.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";
import { passWindows } from "./middleware.ts";

/** The one route a publishable key may call. */
export const PUBLISHABLE_PATH = "/api/v1/verify";
/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_S = 600;
/** A publishable key's single check answers within this budget unless the page asks for less (the widget's default is 3 s). */
export const PUBLISHABLE_DEFAULT_BUDGET_MS = 3_000;
/** …and never takes longer: a public page must not hold a probe's connections for long. */
export const PUBLISHABLE_MAX_BUDGET_MS = 10_000;

/** Where a request carries a publishable key, if it does (only its shape is looked at here). */
function presented(req: Request): { key: string; where: "query" | "header" } | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
  if (bearer?.startsWith(PUBLISHABLE_KEY_PREFIX)) return { key: bearer, where: "header" };
  const inQuery = new URL(req.url).searchParams.getAll("key").filter((k) => k.startsWith(PUBLISHABLE_KEY_PREFIX));
  return inQuery.length > 0 ? { key: inQuery[0]!, where: "query" } : null;
}

/**
 * The client's address as one rate-limit window counts it: an IPv6 client by its /64, the
 * smallest block a network is handed (RFC 6177), or it could walk through addresses of its own.
 * Without CF-Connecting-IP (only locally: Cloudflare always sets it) every client is the loopback.
 */
export function clientWindow(ip: string | null): string {
  if (!ip) return "127.0.0.1";
  const v6 = ip.includes(":") ? parseIPv6(ip) : null;
  if (!v6) return ip;
  const groups = Array.from({ length: 4 }, (_, i) => ((v6[i * 2]! << 8) | v6[i * 2 + 1]!).toString(16));
  return `${groups.join(":")}::/64`;
}

/** The budget of a publishable key's check: the page's, at most PUBLISHABLE_MAX_BUDGET_MS. */
export const publishableBudget = (asked: number | undefined): number => Math.min(asked ?? PUBLISHABLE_DEFAULT_BUDGET_MS, PUBLISHABLE_MAX_BUDGET_MS);

/** Runs before every route (edge/worker.ts): refuses a publishable key where it does not belong, and lets one in where it does. */
export const publishableKeys = createMiddleware<AppEnv>(async (c, next) => {
  const found = presented(c.req.raw);
  if (!found) return next();
  const method = c.req.method;
  if (c.req.path !== PUBLISHABLE_PATH || (method !== "POST" && method !== "OPTIONS")) {
    throw new ApiError("publishable_key_forbidden", "A publishable key (mx_pk_…) can only make single checks (POST /api/v1/verify) from a web page; use a secret key for anything else");
  }
  if (found.where === "header") {
    throw new ApiError("publishable_key_forbidden", "Send a publishable key as `?key=mx_pk_…` on the URL of POST /api/v1/verify, as the widget does, not in an Authorization header");
  }
  c.header("vary", "Origin", { append: true });
  const { services } = c.var;
  const key = await checkApiKey(services, found.key);
  if (!key.ok) throw new ApiError(key.code, key.message);
  // The shape and the row agree (keys are made by kind); a secret key never rides in a URL.
  if (key.dev || key.kind !== "publishable") throw new ApiError("unauthorized", "Unknown publishable key");
  const origin = c.req.header("origin") ?? null;
  if (!originAllowed(key.origins ?? [], origin)) {
    throw new ApiError(
      "origin_not_allowed",
      origin
        ? `${origin} is not one of this publishable key's origins; an owner or admin can add it on the keys page`
        : "A publishable key works only from a web page on one of its origins (this request has no Origin header); from a server, use a secret key",
    );
  }
  c.header("access-control-allow-origin", origin!);
  if (method === "OPTIONS") {
    return c.body(null, 204, {
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": String(PREFLIGHT_MAX_AGE_S),
    });
  }
  const limiter = services.rateLimiter;
  const [perKey, perOrigin, perIp, perAccount] = await Promise.all([
    limiter.limitPublishable("key", key.keyId),
    limiter.limitPublishable("origin", `${key.keyId} ${origin}`),
    limiter.limitPublishable("ip", `${key.keyId} ${clientWindow(services.request.ip)}`),
    limiter.limitAccount(key.accountId),
  ]);
  passWindows(c, [
    [perKey, "this publishable key"],
    [perOrigin, `this publishable key from ${origin}`],
    [perIp, "this publishable key from one client address"],
    [perAccount, "this account's keys together"],
  ]);
  c.set("accountId", key.accountId);
  c.set("keyId", key.keyId);
  c.set("publishableOrigin", origin!);
  await next();
});
