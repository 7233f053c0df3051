// The Worker's entry: Hono for the API and callbacks, the JobHub Durable Object, scheduled work.
// (Skeleton: the API, Remix and the services arrive with issue 3.)
import { Hono } from "hono";
import { installErrorHandling } from "./api/errors.ts";
import { registerProbeResults } from "./api/internal_probes_results.ts";
import { JobHub } from "./jobhub.ts";

export { JobHub };

const app = new Hono<{ Bindings: Env }>();
app.get("/healthz", (c) => c.json({ ok: true, service: "mxray-edge" }));
registerProbeResults(app);
installErrorHandling(app);

export default {
  fetch: app.fetch,
  async scheduled() {},
} satisfies ExportedHandler<Env>;
