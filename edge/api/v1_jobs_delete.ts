// DELETE /api/v1/jobs/:id: cancel. Dispatch stops, answers already in keep counting, unused
// credits come back. Canceling a canceled job answers it again; a finished one is a conflict.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { cancelJob } from "../services/jobs.ts";
import type { AppEnv } from "./app.ts";
import { COMMON_ERRORS, errorResponse, JobIdParam, JobSchema, NOT_FOUND } from "./schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/jobs/{id}",
  summary: "Cancel a job",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: { params: JobIdParam },
  responses: {
    200: { description: "The canceled job", content: { "application/json": { schema: JobSchema } } },
    409: errorResponse("The job already finished (`conflict`)"),
    ...COMMON_ERRORS,
    ...NOT_FOUND,
  },
});

export function registerJobsDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await cancelJob(c.var.services, c.var.accountId, c.req.valid("param").id), 200));
}
