// GET /api/v1/jobs: the account's jobs, newest first, paginated by cursor.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { listJobs } from "../services/jobs.ts";
import type { AppEnv } from "./app.ts";
import { COMMON_ERRORS, JobSchema } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/jobs",
  summary: "List jobs, newest first",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "Jobs per page (1–100)" }),
      cursor: z.string().max(100).optional().openapi({ description: "`next_cursor` of the previous page" }),
    }),
  },
  responses: {
    200: {
      description: "A page of jobs",
      content: { "application/json": { schema: z.object({ data: z.array(JobSchema), next_cursor: z.string().nullable() }) } },
    },
    ...COMMON_ERRORS,
  },
});

export function registerJobsList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listJobs(c.var.services.db, c.var.accountId, q.limit, q.cursor), 200);
  });
}
