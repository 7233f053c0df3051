// POST /api/v1/jobs: a bulk job from a JSON array, a plain-text list, a CSV/TSV, an .xlsx workbook
// or a .zip of lists (raw body or multipart `file`). Bodies are streamed into the job as they
// arrive; the answer is the job.
import { whoOf } from "./auth.ts";
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { ingestJob } from "../jobs/ingest.ts";
import { JOB_KINDS } from "../../core/enums.ts";
import { XLSX_TYPE } from "../../core/spreadsheet/sniff.ts";
import { defaultJobName, JsonFindJobRequest, JsonJobRequest, readUpload } from "../jobs/upload.ts";
import type { AppEnv } from "./app.ts";
import { COMMON_ERRORS, errorResponse, JobSchema } from "./schemas.ts";

// The schema readUpload validates with, described for the document.
const CreateJobJson = JsonJobRequest.openapi("CreateJobJson", { example: { emails: ["ada@example.com", "grace@example.org"] } });
const CreateFindJobJson = JsonFindJobRequest.openapi("CreateFindJobJson", {
  description: "With `kind=find`: the people whose addresses are to be found, each `first_name` and `last_name`, or `full_name`, and a `domain`",
  example: { name: "leads", people: [{ first_name: "Ada", last_name: "Lovelace", domain: "example.com" }, { full_name: "Grace Hopper", domain: "https://www.example.org" }] },
});

const UploadQuery = z.object({
  name: z.string().max(200).optional().openapi({ description: "Job name, for raw-body uploads" }),
  email_column: z.string().optional().openapi({ description: "The email column of a CSV/TSV: a header name, or a 0-based index. Found by itself when absent." }),
  kind: z.enum(JOB_KINDS).optional().openapi({ description: "`verify` (the default) or `find`: the list names people, and each one's address is found" }),
  sheet: z.string().optional().openapi({ description: "An .xlsx upload: read only this sheet (by its name); every visible sheet with an email column when absent" }),
});

export function registerJobsCreate(api: OpenAPIHono<AppEnv>): void {
  api.openAPIRegistry.registerPath({
    method: "post",
    path: "/api/v1/jobs",
    operationId: "createJob",
    summary: "Create a bulk job from a list",
    description:
      "Send `application/json` `{ \"name\"?, \"emails\": [...] }`, `text/plain` (one address per line), `text/csv` " +
      "(raw body; the email column is found by its header or its content, or named by `email_column`; other columns are kept for the export), or " +
      "`multipart/form-data` with a `file` field (streamed as it arrives: send `name` and `email_column` before `file`; after it they are a 400 `bad_request`). For raw bodies, `name` may come as a query parameter. Addresses are " +
      "deduped case-insensitively; every unique address, invalid ones included, gets a result. One credit per unique " +
      "address is reserved; unknowns are refunded when the job ends.\n\n" +
      "With `kind=find` (query, or a multipart field before `file`) the list is of people: a CSV/TSV whose header names a first and last name " +
      "(`first_name`/`last_name`, `firstname`, `given_name`, `surname`…) or a full name (`full_name`, `name`), and a domain (`domain`, `company_domain`, " +
      "`website`, `url`…), or JSON `{ \"name\"?, \"people\": [...] }`. People are deduped by name and domain; a row without a usable name and domain " +
      "is counted in `rejects.invalid_person`; a header without a name or a domain column is a 400 `validation_failed`. One credit per person is " +
      "reserved, and only people whose address is found (deliverable or risky) are charged.\n\n" +
      "An **.xlsx workbook** (raw body as `" + XLSX_TYPE + "`, or a multipart `file`) is read sheet by sheet: every visible sheet with an email " +
      "column (its header row found as for a CSV), or only the one named by `sheet`; cells come as Excel shows them (dates and numbers through " +
      "their format, formulas by their cached value). A **.zip** (`application/zip`) may hold CSV, TSV, TXT and XLSX files, each read with its " +
      "own header; folders, `__MACOSX/`, dotfiles and other types are skipped. Addresses are deduped across files, and the job's `files` accounts " +
      "for each file or sheet. Refused with 413 `archive_too_many_entries` (over 1,000 entries) or `archive_too_large` (over " +
      "MXRAY_MAX_UNZIPPED_BYTES inflated), 422 `archive_ratio_exceeded` (a zip bomb), `archive_encrypted`, `archive_invalid`, " +
      "`xml_doctype_refused`, `xml_too_complex`, `spreadsheet_encrypted` (a password-protected workbook) or `spreadsheet_invalid`, 415 " +
      "`spreadsheet_format_unsupported` (.xls, .xlsb, .ods: save as .xlsx or CSV), 400 `sheet_not_found`; nothing is kept.",
    tags: ["Jobs"],
    security: [{ bearer: [] }],
    request: {
      query: UploadQuery,
      body: {
        required: true,
        content: {
          "application/json": { schema: z.union([CreateJobJson, CreateFindJobJson]) },
          "text/plain": { schema: z.string().openapi({ example: "ada@example.com\ngrace@example.org\n" }) },
          "text/csv": { schema: z.string().openapi({ example: "name,email\nAda,ada@example.com\n" }) },
          [XLSX_TYPE]: { schema: z.any().openapi({ type: "string", format: "binary", description: "An .xlsx workbook" }) },
          "application/zip": { schema: z.any().openapi({ type: "string", format: "binary", description: "A .zip of CSV, TSV, TXT and XLSX files" }) },
          "multipart/form-data": {
            schema: z.object({
              file: z.any().openapi({ type: "string", format: "binary" }),
              name: z.string().optional(),
              email_column: z.string().optional(),
              kind: z.enum(JOB_KINDS).optional(),
              sheet: z.string().optional(),
            }),
          },
        },
      },
    },
    responses: {
      201: { description: "The job, queued (or completed at once when no address needs a probe)", content: { "application/json": { schema: JobSchema } } },
      400: errorResponse("`invalid_json`, `validation_failed`, `empty_upload`, `no_email_column`, `not_utf8` or `sheet_not_found`"),
      402: errorResponse("Not enough credits (`insufficient_credits`)"),
      413: errorResponse("Upload over the size limit (`payload_too_large`), or an archive past its bounds (`archive_too_many_entries`, `archive_too_large`)"),
      415: errorResponse("Unsupported content type (`unsupported_media_type`), or a spreadsheet format not read here (`spreadsheet_format_unsupported`)"),
      422: errorResponse(
        "An archive or workbook that cannot be read: `archive_ratio_exceeded` (a zip bomb), `archive_encrypted`, `archive_invalid`, `xml_doctype_refused`, `xml_too_complex`, `spreadsheet_encrypted` or `spreadsheet_invalid`",
      ),
      ...COMMON_ERRORS,
    },
  });

  api.post("/api/v1/jobs", async (c) => {
    const { services } = c.var;
    const { name, source, kind } = await readUpload(c.req.raw, services.config.MXRAY_MAX_UPLOAD_BYTES);
    const job = await ingestJob(services, whoOf(c), { name: name || defaultJobName(), source, kind });
    return c.json(job, 201);
  });
}
