// Reads an upload request into a job's source, for the API and the web app alike: a JSON array,
// a plain-text list, a raw CSV/TSV body, or a multipart `file` (both streamed). The email column may be
// chosen (`email_column`: a header name or a 0-based index); otherwise it is found by itself.
import { z } from "zod";
import { capBytes, readCappedText } from "../../core/limitedbody.ts";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { boundaryOf, MultipartError, readMultipartUpload, type MultipartUpload } from "../../core/multipart.ts";
import { ServiceError } from "../errors.ts";
import type { IngestSource } from "./jobs.ts";

export const JsonJobRequest = z.object({
  name: z.string().max(200).optional(),
  emails: z.array(z.string().max(MAX_EMAIL_LENGTH)),
});

const TEXT_TYPES = new Set(["text/plain", "text/csv", "text/tab-separated-values", "application/csv", "application/octet-stream"]);
const MAX_NAME = 200;

export interface Upload {
  /** Empty when the upload named nothing. */
  name: string;
  source: IngestSource;
}

const field = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);

/** A name for a job whose upload named none. */
export const defaultJobName = (now = new Date()) => `List of ${now.toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** The error of a body over `limit` bytes. */
const tooLarge = (limit: number) => () => new ServiceError("payload_too_large", `Uploads are limited to ${limit} bytes; split the list`);

/**
 * Reads at most `limit` bytes of the body whatever its framing: a Content-Length over it is
 * refused before reading, and a chunked body (none declared) stops at the first byte past it.
 */
export async function readUpload(req: Request, limit: number): Promise<Upload> {
  const declared = Number(req.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)();
  const body = () => capBytes(req.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() }), limit, tooLarge(limit));
  const url = new URL(req.url);
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const queryName = url.searchParams.get("name")?.slice(0, MAX_NAME) ?? "";
  const queryColumn = url.searchParams.get("email_column")?.trim() || undefined;
  if (type === "application/json") {
    let json: unknown;
    try {
      json = JSON.parse(await readCappedText(req.body, limit, tooLarge(limit)));
    } catch (e) {
      if (e instanceof ServiceError) throw e;
      throw new ServiceError("invalid_json", "The body is not valid JSON");
    }
    const parsed = JsonJobRequest.safeParse(json);
    if (!parsed.success) throw new ServiceError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    return { name: parsed.data.name ?? queryName, source: { kind: "rows", emails: parsed.data.emails } };
  }
  if (type === "multipart/form-data") {
    // Streamed: the fields before the file are read, the file is ingested as it arrives.
    const boundary = boundaryOf(req.headers.get("content-type") ?? "");
    if (!boundary) throw new ServiceError("bad_request", "The multipart body could not be read: no boundary");
    let upload: MultipartUpload;
    try {
      upload = await readMultipartUpload(body(), boundary, { fileField: "file", steering: ["name", "email_column"] });
    } catch (e) {
      if (e instanceof MultipartError) throw new ServiceError("bad_request", `The multipart body could not be read: ${e.message}`);
      throw e;
    }
    const { fields, file } = upload;
    if (!file) throw new ServiceError("validation_failed", "file: send the list as a multipart field named `file`");
    const name = field(fields.get("name"))?.slice(0, MAX_NAME) || queryName || file.filename.slice(0, MAX_NAME);
    return { name, source: { kind: "bytes", stream: file.stream, column: field(fields.get("email_column")) ?? queryColumn } };
  }
  if (TEXT_TYPES.has(type)) return { name: queryName, source: { kind: "bytes", stream: body(), column: queryColumn } };
  throw new ServiceError("unsupported_media_type", `Send application/json, text/plain, text/csv or multipart/form-data, not "${type || "nothing"}"`);
}
