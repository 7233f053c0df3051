// DELETE /api/v1/jobs/:id: cancel. Dispatch stops, answers already in keep counting, unused
// credits come back. Canceling a canceled job answers it again; a finished one is a conflict.
// With `?purge=true` the job is also deleted with all its results (canceled first if it still
// runs): it is gone at once, its rows are removed in the background; the ledger keeps its entries.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { isTerminal } from "../../core/live.ts";
import { cancelJob, deleteJob, getJob } from "../jobs/jobs.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, JobIdParam, JobSchema, NOT_FOUND } from "./schemas.ts";

const route = createRoute({
  method: "delete",
  path: "/api/v1/jobs/{id}",
  operationId: "cancelJob",
  summary: "Cancel a job, or delete it and its results",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: {
    params: JobIdParam,
    query: z.object({
      purge: z
        .enum(["true", "false"])
        .optional()
        .openapi({ description: "`true`: also delete the job and every result of it (it is canceled first if it still runs). Answers 204." }),
    }),
  },
  responses: {
    200: { description: "The canceled job", content: { "application/json": { schema: JobSchema } } },
    204: { description: "Deleted (with `purge=true`)" },
    409: errorResponse("The job already finished (`conflict`)"),
    ...COMMON_ERRORS,
    ...NOT_FOUND,
  },
});

export function registerJobsDelete(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const s = c.var.services;
    const id = c.req.valid("param").id;
    const who = whoOf(c);
    if (c.req.valid("query").purge !== "true") return c.json(await cancelJob(s, who, id), 200);
    if (!isTerminal((await getJob(s, who, id)).status)) await cancelJob(s, who, id);
    await deleteJob(s, who, id);
    return c.body(null, 204);
  });
}
