// The deployed Worker (wrangler.toml's main): the Hono routes of edge/worker.ts first, then the
// Remix app for every other path, with the same services in its load context. Static assets of
// build/client are served by Workers Assets before this code runs.
// server-runtime, not @remix-run/cloudflare: the latter pulls in @cloudflare/workers-types, which
// clash with the runtime types `wrangler types` generates.
import { createRequestHandler } from "@remix-run/server-runtime";
import * as build from "mxray-remix-build";
import { openApiDocument } from "./api/docs.ts";
import { crossSiteWrite } from "./identity/csrf.ts";
import { withCappedBody } from "./formbody.ts";
import { CampaignHub } from "./campaignhub.ts";
import { JobHub } from "./jobhub.ts";
import { createWorker, scheduled } from "./worker.ts";

export { CampaignHub, JobHub };

const remix = createRequestHandler(build, "production");

const app = createWorker(async (c) => {
  if (crossSiteWrite(c.req.raw, c.var.services.config.MXRAY_PUBLIC_URL)) {
    return c.text("Cross-site form posts are refused (CSRF protection).", 403);
  }
  const request = await withCappedBody(c.req.raw);
  if (!request) return c.text("That form is too large.", 413);
  const { services } = c.var;
  return remix(request, { cloudflare: { env: c.env, ctx: c.executionCtx }, services, openapi: () => openApiDocument(app, services.origin) });
});

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
