// The Worker's entry: Hono for the API and callbacks, the JobHub Durable Object, scheduled work.
// (Skeleton: the API, Remix and the services arrive with issue 3.)
import { Hono } from "hono";
import { installErrorHandling } from "./api/errors.ts";
import type { AppEnv } from "./api/app.ts";
import { registerProbeResults } from "./api/internal_probes_results.ts";
import { registerAccountGet } from "./api/v1_account_get.ts";
import { JobHub } from "./jobhub.ts";

export { JobHub };

const app = new Hono<AppEnv>();
app.get("/healthz", (c) => c.json({ ok: true, service: "mxray-edge" }));
registerProbeResults(app);
registerAccountGet(app);
installErrorHandling(app);

export default {
  fetch: app.fetch,
  async scheduled() {},
} satisfies ExportedHandler<Env>;
