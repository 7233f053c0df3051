// The Worker's entry: Hono for the API, the callbacks and the job WebSockets; the JobHub Durable
// Object; scheduled() for the sweeper. (The web app joins with issue 4; "/" is a placeholder.)
import { requireApiKey } from "./api/auth.ts";
import { createApi } from "./api/app.ts";
import { registerDocs } from "./api/docs.ts";
import { installErrorHandling } from "./api/errors.ts";
import { registerMeter } from "./api/internal_meter.ts";
import { registerProbeHeartbeat } from "./api/internal_probes_heartbeat.ts";
import { registerProbeResults } from "./api/internal_probes_results.ts";
import { initServices, rateLimit } from "./api/middleware.ts";
import { registerAccountGet } from "./api/v1_account_get.ts";
import { registerJobsCreate } from "./api/v1_jobs_create.ts";
import { registerJobsDelete } from "./api/v1_jobs_delete.ts";
import { registerJobsGet } from "./api/v1_jobs_get.ts";
import { registerJobsList } from "./api/v1_jobs_list.ts";
import { registerJobsLiveToken } from "./api/v1_jobs_live_token.ts";
import { registerJobsResults } from "./api/v1_jobs_results.ts";
import { registerVerify } from "./api/v1_verify.ts";
import { registerWsJobs } from "./api/ws_jobs.ts";
import { JobHub } from "./jobhub.ts";
import { buildServices } from "./services/context.ts";
import { sweep } from "./services/dispatch.ts";

export { JobHub };

const PUBLIC_API_PATHS = new Set(["/api/v1/openapi.json", "/api/v1/docs"]);

const app = createApi();
app.use(initServices);
app.use("/api/v1/*", async (c, next) => {
  if (PUBLIC_API_PATHS.has(c.req.path)) {
    await next();
    return;
  }
  await requireApiKey(c, async () => {
    await rateLimit(c, next);
  });
});
app.get("/healthz", (c) => c.json({ ok: true, service: "mxray-edge" }));
app.get("/", (c) =>
  c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mxray</title></head><body style="font:16px system-ui;max-width:40rem;margin:3rem auto">` +
      `<h1>mxray</h1><p>Email verification: deliverable, undeliverable, risky or unknown, live, with the SMTP evidence.</p>` +
      `<p>The web app arrives soon. Meanwhile, the <a href="/api/v1/docs">API reference</a>.</p></body></html>`,
  ),
);

registerVerify(app);
registerJobsCreate(app);
registerJobsList(app);
registerJobsGet(app);
registerJobsResults(app);
registerJobsDelete(app);
registerJobsLiveToken(app);
registerAccountGet(app);
registerDocs(app, app);
registerWsJobs(app);
registerProbeHeartbeat(app);
registerProbeResults(app);
registerMeter(app);
installErrorHandling(app);

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const services = buildServices(env, ctx, env.MXRAY_PUBLIC_URL ?? "http://localhost");
    const outcome = await sweep(services);
    if (outcome.deadProbes || outcome.reclaimed || outcome.givenUp) console.log(JSON.stringify({ msg: "sweep", ...outcome }));
  },
} satisfies ExportedHandler<Env>;
