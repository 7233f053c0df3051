// Response headers that close browser-side holes on every answer, pages and API alike: no framing
// (clickjacking the team or keys pages), no MIME sniffing of downloads, no full URL (job ids) in
// the Referer sent to other sites, and HSTS once served over HTTPS.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app.ts";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
};

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  if (new URL(c.req.url).protocol === "https:") c.header("strict-transport-security", "max-age=31536000");
  await next();
});
