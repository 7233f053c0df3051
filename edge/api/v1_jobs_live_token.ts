// POST /api/v1/jobs/:id/live-token: a five-minute token to watch the job at /ws/jobs/:id.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { getJob } from "../jobs/jobs.ts";
import { mintLiveToken } from "../identity/livetoken.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, JobIdParam, NOT_FOUND } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/jobs/{id}/live-token",
  operationId: "createLiveToken",
  summary: "A short-lived token to watch a job's progress over WebSocket",
  description:
    "Connect to `url` (`GET /ws/jobs/{id}?token=…`, a WebSocket). The first message is a `snapshot`; then `progress` at most " +
    "4 times a second with counts, processed/total, rate, ETA and the latest results; then `completed`. API clients may " +
    "instead send their key as `Authorization: Bearer` on the upgrade request.",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: { params: JobIdParam },
  responses: {
    201: {
      description: "The token",
      content: { "application/json": { schema: z.object({ token: z.string(), expires_at: z.string(), url: z.string() }) } },
    },
    ...COMMON_ERRORS,
    ...NOT_FOUND,
  },
});

export function registerJobsLiveToken(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const { services, accountId, keyId } = c.var;
    const job = await getJob(services, whoOf(c), c.req.valid("param").id);
    // Bound to the key: revoking it also closes the door to sockets not yet opened.
    const { token, expiresAt } = await mintLiveToken(services, whoOf(c), { jobId: job.id, holder: keyId ? { key: keyId } : { dev: true } });
    const ws = services.origin.replace(/^http/, "ws");
    return c.json({ token, expires_at: new Date(expiresAt * 1000).toISOString(), url: `${ws}/ws/jobs/${job.id}?token=${encodeURIComponent(token)}` }, 201);
  });
}
