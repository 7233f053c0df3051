// GET /api/v1/jobs/:id/results: streamed, in the upload's row order, optionally filtered by
// verdict and by safe_to_send; jsonl, json, csv (the uploaded columns kept, ours added,
// formula-injection safe) or xlsx (the CSV's columns in a workbook).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { VERDICTS, type Verdict } from "../../core/verdict.ts";
import { XLSX_CONTENT_TYPE } from "../../core/xlsxexport.ts";
import { EXPORT_CONTENT_TYPE, EXPORT_FORMATS, exportResults } from "../jobs/export.ts";
import { requireResults } from "../jobs/expiry.ts";
import { getJob } from "../jobs/jobs.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { ContradictionOpenApiSchema } from "./bounce_schemas.ts";
import { COMMON_ERRORS, errorResponse, JobFindResultSchema, JobIdParam, NOT_FOUND, ResultSchema } from "./schemas.ts";

/** A verification job's row: the result, and the hard bounce that contradicted it (issue 24). */
const JobResultSchema = ResultSchema.extend({
  contradicted: ContradictionOpenApiSchema.nullable().openapi({
    description: "The hard 5.1.x bounce that contradicted this `deliverable` verdict within 30 days (its credit came back), else null",
  }),
}).openapi("JobResult");

const route = createRoute({
  method: "get",
  path: "/api/v1/jobs/{id}/results",
  operationId: "getJobResults",
  summary: "Export a job's results (streamed)",
  description:
    "Answered addresses so far, one per unique address, in the upload's row order. CSV keeps the uploaded columns and appends ours. " +
    "XLSX is a workbook with the CSV's columns (our numbers as numbers); past Excel's 1,048,576 rows a sheet the rows go on in another sheet. " +
    "In JSON and JSON Lines each verification's `contradicted` names the hard bounce that contradicted a `deliverable` verdict (its credit came back). " +
    "Each verification's `safe_to_send` (the CSV's last column) applies the account's rules as they are when the export starts. " +
    "For a job of kind `find`: one answer per unique person (`JobFindResult`), and the CSV appends `email`, `verdict`, `reason`, `confidence`, `pattern` and `catch_all`.",
  tags: ["Jobs"],
  security: [{ bearer: [] }],
  request: {
    params: JobIdParam,
    query: z.object({
      format: z.enum(EXPORT_FORMATS).default("jsonl"),
      verdict: z.string().optional().openapi({ description: "Comma-separated verdicts to keep, e.g. `deliverable,risky`" }),
      safe_to_send: z.enum(["true", "false"]).optional().openapi({ description: "Only the results the account's rules make safe to send (`true`) or not (`false`); a verification job's filter" }),
    }),
  },
  responses: {
    200: {
      description: "The results",
      content: {
        "application/x-ndjson": { schema: z.union([JobResultSchema, JobFindResultSchema]) },
        "application/json": { schema: z.array(z.union([JobResultSchema, JobFindResultSchema])) },
        "text/csv": { schema: z.string() },
        [XLSX_CONTENT_TYPE]: { schema: z.string().openapi({ format: "binary" }) },
      },
    },
    410: errorResponse("The account's retention setting removed the job's results (`results_expired`); `GET /api/v1/jobs/{id}` still answers its summary"),
    ...COMMON_ERRORS,
    ...NOT_FOUND,
  },
});

export function registerJobsResults(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const { format, verdict, safe_to_send } = c.req.valid("query");
    let verdicts: Verdict[] | null = null;
    if (verdict) {
      const asked = verdict.split(",").map((v) => v.trim().toLowerCase());
      const bad = asked.filter((v) => !(VERDICTS as readonly string[]).includes(v));
      if (bad.length) throw new ApiError("validation_failed", `verdict: unknown ${bad.join(", ")}; use ${VERDICTS.join(", ")}`);
      verdicts = asked as Verdict[];
    }
    const job = await getJob(c.var.services, whoOf(c), id);
    requireResults(job);
    if (safe_to_send && job.kind === "find") throw new ApiError("validation_failed", "safe_to_send: a find job's answers are not rated by the rules; export it without this filter");
    const headers: Record<string, string> = { "content-type": EXPORT_CONTENT_TYPE[format] };
    if (format === "csv" || format === "xlsx") headers["content-disposition"] = `attachment; filename="${job.id}.${format}"`;
    return c.body(exportResults(c.var.services, { job, format, verdicts, safeToSend: safe_to_send === undefined ? undefined : safe_to_send === "true" }), 200, headers) as never;
  });
}
