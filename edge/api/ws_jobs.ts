// GET /ws/jobs/:id: the job's live progress over WebSocket, through its JobHub Durable Object.
// Authorised by a live token (?token=, from the API or the app's session) or an API key.
import type { Hono } from "hono";
import { getJob } from "../jobs/jobs.ts";
import { jobProgress } from "../jobs/view.ts";
import { checkLiveToken } from "../identity/livetoken.ts";
import type { AppEnv } from "./app.ts";
import { requireApiKey, whoOf } from "./auth.ts";
import { ApiError } from "./errors.ts";

export function registerWsJobs(app: Hono<AppEnv>): void {
  app.get(
    "/ws/jobs/:id",
    async (c, next) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ApiError("bad_request", "Expected a WebSocket upgrade");
      const token = c.req.query("token");
      if (!token) return requireApiKey(c, next);
      const accountId = await checkLiveToken(c.var.services, token, c.req.param("id"));
      if (!accountId) throw new ApiError("unauthorized", "The live token is invalid, expired, for another job, or its key or session was revoked");
      c.set("accountId", accountId);
      c.set("keyId", null);
      await next();
    },
    async (c) => {
      const { services } = c.var;
      const job = await getJob(services, whoOf(c), c.req.param("id"));
      const hub = services.hub(job.id);
      // Seed the hub from the database so the first message is a true snapshot even if the hub
      // has not heard from this job yet (an older state is ignored by its seq).
      await hub.update(jobProgress(job), [], job.processed);
      return hub.fetch(c.req.raw);
    },
  );
}
