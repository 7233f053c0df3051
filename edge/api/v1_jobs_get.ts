// GET /api/v1/jobs/:id: status, totals, counts per verdict and progress.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getJob } from "../jobs/jobs.ts";
import { jobView } from "../jobs/view.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, JobIdParam, JobSchema, NOT_FOUND } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/jobs/{id}",
  operationId: "getJob",
  summary: "A job: status, totals, counts per verdict, progress",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: { params: JobIdParam },
  responses: { 200: { description: "The job", content: { "application/json": { schema: JobSchema } } }, ...COMMON_ERRORS, ...NOT_FOUND },
});

export function registerJobsGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(jobView(await getJob(c.var.services, whoOf(c), c.req.valid("param").id)), 200));
}
