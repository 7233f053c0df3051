// POST /api/v1/jobs: a bulk job from a JSON array, a plain-text list, or a CSV/TSV (raw body or
// multipart `file`). Raw bodies are streamed into the job as they arrive; the answer is the job.
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { ingestJob, type IngestSource } from "../services/jobs.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";
import { COMMON_ERRORS, errorResponse, JobSchema } from "./schemas.ts";

const JsonJobRequest = z
  .object({
    name: z.string().max(200).optional(),
    emails: z.array(z.string().max(MAX_EMAIL_LENGTH)).openapi({ example: ["ada@example.com", "grace@example.org"] }),
  })
  .openapi("CreateJobJson");

const NameQuery = z.object({ name: z.string().max(200).optional().openapi({ description: "Job name, for raw-body uploads" }) });

const TEXT_TYPES = new Set(["text/plain", "text/csv", "text/tab-separated-values", "application/csv", "application/octet-stream"]);

export function registerJobsCreate(api: OpenAPIHono<AppEnv>): void {
  api.openAPIRegistry.registerPath({
    method: "post",
    path: "/api/v1/jobs",
    summary: "Create a bulk job from a list",
    description:
      "Send `application/json` `{ \"name\"?, \"emails\": [...] }`, `text/plain` (one address per line), `text/csv` " +
      "(raw body; the email column is found by its header or its content; other columns are kept for the export), or " +
      "`multipart/form-data` with a `file` field. For raw bodies, `name` may come as a query parameter. Addresses are " +
      "deduped case-insensitively; every unique address, invalid ones included, gets a result. One credit per unique " +
      "address is reserved; unknowns are refunded when the job ends.",
    tags: ["Jobs"],
    security: [{ bearer: [] }],
    request: {
      query: NameQuery,
      body: {
        required: true,
        content: {
          "application/json": { schema: JsonJobRequest },
          "text/plain": { schema: z.string().openapi({ example: "ada@example.com\ngrace@example.org\n" }) },
          "text/csv": { schema: z.string().openapi({ example: "name,email\nAda,ada@example.com\n" }) },
          "multipart/form-data": { schema: z.object({ file: z.any().openapi({ type: "string", format: "binary" }), name: z.string().optional() }) },
        },
      },
    },
    responses: {
      201: { description: "The job, queued (or completed at once when no address needs a probe)", content: { "application/json": { schema: JobSchema } } },
      400: errorResponse("`invalid_json`, `validation_failed`, `empty_upload`, `no_email_column` or `not_utf8`"),
      402: errorResponse("Not enough credits (`insufficient_credits`)"),
      413: errorResponse("Upload over the size limit (`payload_too_large`)"),
      415: errorResponse("Unsupported content type (`unsupported_media_type`)"),
      ...COMMON_ERRORS,
    },
  });

  api.post("/api/v1/jobs", async (c) => {
    const { services, accountId } = c.var;
    const limit = services.config.MXRAY_MAX_UPLOAD_BYTES;
    const declared = Number(c.req.header("content-length"));
    if (Number.isFinite(declared) && declared > limit) {
      throw new ApiError("payload_too_large", `Uploads are limited to ${limit} bytes; split the list`);
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const queryName = c.req.query("name")?.slice(0, 200);
    let name = queryName ?? "";
    let source: IngestSource;
    if (type === "application/json") {
      let json: unknown;
      try {
        json = JSON.parse(await c.req.text());
      } catch {
        throw new ApiError("invalid_json", "The body is not valid JSON");
      }
      const parsed = JsonJobRequest.safeParse(json);
      if (!parsed.success) throw new ApiError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
      name = parsed.data.name ?? name;
      source = { kind: "rows", emails: parsed.data.emails };
    } else if (type === "multipart/form-data") {
      let form: FormData;
      try {
        form = await c.req.formData();
      } catch {
        throw new ApiError("bad_request", "The multipart body could not be read");
      }
      const file = form.get("file");
      if (!file || typeof file === "string") throw new ApiError("validation_failed", "file: send the list as a multipart field named `file`");
      if (file.size > limit) throw new ApiError("payload_too_large", `Uploads are limited to ${limit} bytes; split the list`);
      const formName = form.get("name");
      name = (typeof formName === "string" && formName ? formName.slice(0, 200) : null) ?? queryName ?? file.name ?? "";
      source = { kind: "bytes", stream: file.stream() };
    } else if (TEXT_TYPES.has(type)) {
      const body = c.req.raw.body;
      source = { kind: "bytes", stream: body ?? new ReadableStream({ start: (ctl) => ctl.close() }) };
    } else {
      throw new ApiError("unsupported_media_type", `Send application/json, text/plain, text/csv or multipart/form-data, not "${type || "nothing"}"`);
    }
    const job = await ingestJob(services, accountId, name || defaultName(), source);
    return c.json(job, 201);
  });
}

const defaultName = () => `List of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`;
