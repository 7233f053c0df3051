// The deployed Worker (wrangler.toml's main): the Hono routes of edge/worker.ts first, then the
// Remix app for every other path, with the same services in its load context. Static assets of
// build/client are served by Workers Assets before this code runs.
// server-runtime, not @remix-run/cloudflare: the latter pulls in @cloudflare/workers-types, which
// clash with the runtime types `wrangler types` generates.
import { createRequestHandler } from "@remix-run/server-runtime";
import * as build from "mxray-remix-build";
import { JobHub } from "./jobhub.ts";
import { createWorker, scheduled } from "./worker.ts";

export { JobHub };

const remix = createRequestHandler(build, "production");

const app = createWorker((c) =>
  remix(c.req.raw, { cloudflare: { env: c.env, ctx: c.executionCtx }, services: c.var.services }),
);

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
