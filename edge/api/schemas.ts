// Schemas the OpenAPI document shows, shared by the /api/v1 operations.
import { z } from "@hono/zod-openapi";
import { FileAccountSchema, FindAnswerSchema, JobSchema as CoreJob, ResultSchema as CoreResult } from "../../core/contracts.ts";
import { API_ERRORS } from "./errors.ts";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(API_ERRORS) as [keyof typeof API_ERRORS, ...(keyof typeof API_ERRORS)[]]),
      message: z.string(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

export const ResultSchema = CoreResult.extend({
  safe_to_send: z.boolean().openapi({
    description: "Whether the account's rules (`GET /api/v1/account/rules`) let this address be sent to; applied when the result is read, so a change of the rules shows at once",
  }),
}).openapi("Result", {
  description: "One address's verdict with its evidence (the same record as the probe CLI's --json output), and `safe_to_send` under the account's rules.",
});

export const JobFindResultSchema = FindAnswerSchema.omit({ trace: true })
  .extend({ person: z.string().openapi({ description: "The person as the job lists them", example: "Ada Lovelace <example.com>" }) })
  .openapi("JobFindResult", {
    description: "A job of kind `find`: one person's answer, `email` the address found or null (as POST /api/v1/find answers).",
  });

/** The job contract (core/contracts.ts), with what the document says of its fields. */
const job = CoreJob.shape;
export const JobSchema = CoreJob.extend({
  id: job.id.openapi({ example: "job_3kq8Zp1m0aVw2XbYcD4e" }),
  kind: job.kind.openapi({ description: "`verify`: a list of addresses; `find`: a list of people whose addresses are found" }),
  total: job.total.openapi({ description: "Rows with an address cell; the upload's rows are `total` plus the sum of `rejects`" }),
  unique: job.unique.openapi({ description: "Addresses after case-insensitive dedupe; each gets a result" }),
  processed: job.processed.openapi({ description: "Unique addresses with a final result" }),
  progress: job.progress.openapi({ description: "processed / unique" }),
  rejects: job.rejects.openapi({
    description:
      "Rows that got no result, by reason: `no_address` (the email cell is empty), `too_long` (longer than 512 characters), " +
      "`invalid_person` (a `find` job's row without a usable name and domain). " +
      "Every other row gets a result (a repeated address shares its first row's).",
    example: { no_address: 3, too_long: 0, invalid_person: 0 },
  }),
  created_at: job.created_at.openapi({ format: "date-time" }),
  finished_at: job.finished_at.openapi({ format: "date-time" }),
  results_expired_at: job.results_expired_at.openapi({
    format: "date-time",
    description: "When the account's retention setting removed the job's results (its results then answer 410 `results_expired`); the job stays as this summary. Null while they are kept.",
  }),
  files: z.array(FileAccountSchema.openapi("JobFile", {
    description:
      "One file of an archive upload, or one sheet of a workbook, with its own `total`, `unique` (addresses first met in it) and `rejects`; " +
      "`skipped` says why one was not read (`directory`, `system_file`, `unsupported_type`, `format_unsupported`, `nested_archive`, " +
      "`no_email_column`, `no_people_columns`, `empty`, `hidden_sheet`, `not_selected`, `not_a_worksheet`).",
  })).nullable().openapi({
    description: "An .xlsx or .zip upload's files or sheets, each accounted for (the job's counts are their sums); null for a single list",
    example: [
      { name: "contacts.xlsx", sheet: "Customers", total: 1204, unique: 1180, rejects: { no_address: 3, too_long: 0, invalid_person: 0 } },
      { name: "contacts.xlsx", sheet: "Notes", total: 0, unique: 0, rejects: { no_address: 0, too_long: 0, invalid_person: 0 }, skipped: "no_email_column" },
    ],
  }),
}).openapi("Job");

/** An Idempotency-Key header: Stripe's limit of 255, printable ASCII because it travels in a header. */
export const IdempotencyKeyHeader = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x20-\x7e]+$/, "printable ASCII only")
  .optional();

export const JobIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "job_3kq8Zp1m0aVw2XbYcD4e" }) });

/** The query of a cursor-paged list (edge/paging.ts). */
export const pageQuery = (what: string) =>
  z.object({
    limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: `${what} per page (1–100)` }),
    cursor: z.string().max(100).optional().openapi({ description: "`next_cursor` of the previous page" }),
  });

/** A page of a cursor-paged list: `next_cursor` is null on the last page. */
export const pageOf = <T extends z.ZodTypeAny>(item: T) => z.object({ data: z.array(item), next_cursor: z.string().nullable() });

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });

/** The errors every authenticated operation may answer. */
export const COMMON_ERRORS = {
  401: errorResponse("Missing, unknown or revoked API key (`unauthorized`, `key_revoked`: revoked, or its maker is no longer an owner or admin of the account)"),
  429: errorResponse("Rate limited (`rate_limited`: this key's limit, or the one all of the account's keys share); see Retry-After and RateLimit-* headers"),
} as const;

export const NOT_FOUND = { 404: errorResponse("No such job for this account (`not_found`)") } as const;
export { errorResponse };
