// Reads an upload request into a job's source, for the API and the web app alike: a JSON array,
// a plain-text list, a raw CSV/TSV body, an .xlsx workbook or a .zip of lists, or a multipart
// `file` (all streamed; what the bytes are is told by their first ones, edge/jobs/ingest.ts). The
// email column may be chosen (`email_column`: a header name or a 0-based index); otherwise it is
// found by itself. A workbook's sheet may be named (`sheet`). With kind=find (query or multipart
// field) the list is of people whose addresses are to be found.
import { z } from "zod";
import { capBytes, readCappedText } from "../../core/limitedbody.ts";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { JOB_KINDS, type JobKind } from "../../core/enums.ts";
import { boundaryOf, MultipartError, readMultipartUpload, type MultipartUpload } from "../../core/multipart.ts";
import { ZIP_CONTENT_TYPES } from "../../core/spreadsheet/sniff.ts";
import { ServiceError } from "../errors.ts";
import type { IngestSource } from "./ingest.ts";

export const JsonJobRequest = z.object({
  name: z.string().max(200).optional(),
  emails: z.array(z.string().max(MAX_EMAIL_LENGTH)),
});

/** One person to find, as the JSON body of a job of kind `find` lists them (core/finder parsePerson). */
export const PersonJson = z.object({
  first_name: z.string().max(200).optional(),
  last_name: z.string().max(200).optional(),
  full_name: z.string().max(400).optional(),
  domain: z.string().max(2048).describe("The company's domain, an address at it, or its website URL"),
});

export const JsonFindJobRequest = z.object({
  name: z.string().max(200).optional(),
  people: z.array(PersonJson),
});

const TEXT_TYPES = new Set(["text/plain", "text/csv", "text/tab-separated-values", "application/csv", "application/octet-stream"]);
const BYTES_TYPES = new Set([...TEXT_TYPES, ...ZIP_CONTENT_TYPES]);
const MAX_NAME = 200;

export interface Upload {
  /** Empty when the upload named nothing. */
  name: string;
  source: IngestSource;
  kind: JobKind;
}

function jobKind(raw: string | undefined): JobKind {
  const kind = raw?.trim().toLowerCase() || "verify";
  if (!(JOB_KINDS as readonly string[]).includes(kind)) throw new ServiceError("validation_failed", `kind: use ${JOB_KINDS.join(" or ")}, not "${kind}"`);
  return kind as JobKind;
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
  const queryKind = url.searchParams.get("kind") ?? undefined;
  const querySheet = field(url.searchParams.get("sheet")); // blank: every sheet
  if (type === "application/json") {
    let json: unknown;
    try {
      json = JSON.parse(await readCappedText(req.body, limit, tooLarge(limit)));
    } catch (e) {
      if (e instanceof ServiceError) throw e;
      throw new ServiceError("invalid_json", "The body is not valid JSON");
    }
    const kind = jobKind(queryKind);
    const invalid = (e: z.ZodError) => new ServiceError("validation_failed", e.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    if (kind === "find") {
      const parsed = JsonFindJobRequest.safeParse(json);
      if (!parsed.success) throw invalid(parsed.error);
      return { name: parsed.data.name ?? queryName, source: { kind: "people", people: parsed.data.people }, kind };
    }
    const parsed = JsonJobRequest.safeParse(json);
    if (!parsed.success) throw invalid(parsed.error);
    return { name: parsed.data.name ?? queryName, source: { kind: "rows", emails: parsed.data.emails }, kind };
  }
  if (type === "multipart/form-data") {
    // Streamed: the fields before the file are read, the file is ingested as it arrives.
    const boundary = boundaryOf(req.headers.get("content-type") ?? "");
    if (!boundary) throw new ServiceError("bad_request", "The multipart body could not be read: no boundary");
    let upload: MultipartUpload;
    try {
      upload = await readMultipartUpload(body(), boundary, { fileField: "file", steering: ["name", "email_column", "kind", "sheet"] });
    } catch (e) {
      if (e instanceof MultipartError) throw new ServiceError("bad_request", `The multipart body could not be read: ${e.message}`);
      throw e;
    }
    const { fields, file } = upload;
    if (!file) throw new ServiceError("validation_failed", "file: send the list as a multipart field named `file`");
    const name = field(fields.get("name"))?.slice(0, MAX_NAME) || queryName || file.filename.slice(0, MAX_NAME);
    const kind = jobKind(field(fields.get("kind")) ?? queryKind);
    const source = { kind: "bytes", stream: file.stream, column: field(fields.get("email_column")) ?? queryColumn, sheet: field(fields.get("sheet")) ?? querySheet, filename: file.filename, contentType: "" } as const;
    return { name, source, kind };
  }
  if (BYTES_TYPES.has(type)) {
    return { name: queryName, source: { kind: "bytes", stream: body(), column: queryColumn, sheet: querySheet, filename: "", contentType: type }, kind: jobKind(queryKind) };
  }
  throw new ServiceError("unsupported_media_type", `Send application/json, text/plain, text/csv, an .xlsx or .zip (${ZIP_CONTENT_TYPES[0]}, application/zip) or multipart/form-data, not "${type || "nothing"}"`);
}
