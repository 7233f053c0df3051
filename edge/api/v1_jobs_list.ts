// GET /api/v1/jobs: the account's jobs, newest first, paginated by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listJobs } from "../jobs/jobs.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, JobSchema, pageOf, pageQuery } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/jobs",
  operationId: "listJobs",
  summary: "List jobs, newest first",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Jobs") },
  responses: {
    200: {
      description: "A page of jobs",
      content: { "application/json": { schema: pageOf(JobSchema) } },
    },
    ...COMMON_ERRORS,
  },
});

export function registerJobsList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    return c.json(await listJobs(c.var.services, whoOf(c), c.req.valid("query")), 200);
  });
}
