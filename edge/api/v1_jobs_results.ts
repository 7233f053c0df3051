// GET /api/v1/jobs/:id/results: streamed, in the upload's row order: every data row of the upload
// (repeats and rejects included, issue 26), or filtered by verdict and by safe_to_send, each
// address once; jsonl, json, csv (the uploaded columns kept, ours added,
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

/** Where a record's row is in the upload, and its cells (issue 26). */
const rowFields = {
  row: z.number().int().min(1).openapi({ description: "The data row's number in the upload (from 1, every data row counted, rejected ones included; across an archive's files it goes on); in a filtered export, the address's first row", example: 3 }),
  columns: z.record(z.string(), z.string()).openapi({ description: "The row's cells by header name (a plain list's header is `email`)", example: { Name: "Ada", Email: "ada@example.com" } }),
};

/** A verification job's row: the result, and the hard bounce that contradicted it (issue 24). */
const JobResultSchema = ResultSchema.extend({
  contradicted: ContradictionOpenApiSchema.nullable().openapi({
    description: "The hard 5.1.x bounce that contradicted this `deliverable` verdict within 30 days (its credit came back), else null",
  }),
  ...rowFields,
}).openapi("JobResult");

const JobFindRowSchema = JobFindResultSchema.extend(rowFields).openapi("JobFindRow");

/** A data row that got no result (the full export only). */
const JobRejectedRowSchema = z
  .object({
    ...rowFields,
    email: z.literal(""),
    verdict: z.null(),
    reason: z.enum(["no_address", "too_long", "invalid_person"]).openapi({ description: "Why the row got no result: its email cell is empty, a cell or the row is too long, or (find) it names no usable person" }),
  })
  .openapi("JobRejectedRow");

const route = createRoute({
  method: "get",
  path: "/api/v1/jobs/{id}/results",
  operationId: "getJobResults",
  summary: "Export a job's results (streamed)",
  description:
    "Answered rows so far, in the upload's row order. Without `verdict` and `safe_to_send` (the full export): one record (CSV line) per data row of the upload, " +
    "with its original columns; a repeated address carries its first row's result, a rejected row an empty verdict and its reject reason (`JobRejectedRow`). " +
    "With either filter: one record per unique address. JSON and JSON Lines records carry `row` (the data row's number) and `columns` (its cells by header). " +
    "CSV keeps the uploaded columns and appends ours. " +
    "XLSX is a workbook with the CSV's columns (our numbers as numbers); past Excel's 1,048,576 rows a sheet the rows go on in another sheet. " +
    "In JSON and JSON Lines each verification's `contradicted` names the hard bounce that contradicted a `deliverable` verdict (its credit came back). " +
    "Each verification's `safe_to_send` (the CSV's last column) applies the account's rules as they are when the export starts. " +
    "For a job of kind `find`: each person's answer (`JobFindRow`), and the CSV appends `email`, `verdict`, `reason`, `confidence`, `pattern` and `catch_all`.",
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
        "application/x-ndjson": { schema: z.union([JobResultSchema, JobFindRowSchema, JobRejectedRowSchema]) },
        "application/json": { schema: z.array(z.union([JobResultSchema, JobFindRowSchema, JobRejectedRowSchema])) },
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
