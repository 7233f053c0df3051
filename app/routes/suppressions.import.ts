// POST /suppressions/import: the suppression page's CSV import, as a resource route so the file
// streams into the import (multipart, under MXRAY_MAX_UPLOAD_BYTES, not the pages' small form
// cap: edge/formbody.ts). The page's script asks for JSON (the counts, or the error); a form
// posted without JavaScript is sent back to the page, whose URL carries the same.
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { SUPPRESSION_REASONS, type SuppressionReason } from "../../core/enums.ts";
import { capBytes } from "../../core/limitedbody.ts";
import { boundaryOf, MultipartError, readMultipartUpload } from "../../core/multipart.ts";
import { requireViewer } from "../auth.server.ts";
import { API_ERRORS, findServiceError, ServiceError } from "../lib/actions.server.ts";
import { importSuppressions } from "../lib/suppressions.server.ts";

const isReason = (v: string | undefined): v is SuppressionReason => (SUPPRESSION_REASONS as readonly (string | undefined)[]).includes(v);

async function readFile(request: Request, limit: number) {
  const boundary = boundaryOf(request.headers.get("content-type") ?? "");
  if (!boundary || !request.body) throw new ServiceError("bad_request", "Choose a CSV file to import.");
  const tooLarge = () => new ServiceError("payload_too_large", `Imports are limited to ${limit} bytes; split the list`);
  const upload = await readMultipartUpload(capBytes(request.body, limit, tooLarge), boundary, { fileField: "file", steering: ["reason"] });
  if (!upload.file || upload.file.filename === "") throw new ServiceError("validation_failed", "Choose a CSV file to import.");
  const reason = upload.fields.get("reason");
  return { stream: upload.file.stream, reason: isReason(reason) ? reason : undefined };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const wantsJson = (args.request.headers.get("accept") ?? "").includes("application/json");
  try {
    const { stream, reason } = await readFile(args.request, services.config.MXRAY_MAX_UPLOAD_BYTES);
    const counts = await importSuppressions(services, { accountId: viewer.account.id, actor: viewer.user.id }, { source: { kind: "text", stream }, reason });
    if (wantsJson) return Response.json({ counts });
    return redirect(`/suppressions?${new URLSearchParams({ imported: "1", rows: String(counts.rows), added: String(counts.added), already: String(counts.already), invalid: String(counts.invalid) })}`);
  } catch (err) {
    const e = err instanceof MultipartError ? new ServiceError("bad_request", `The upload could not be read: ${err.message}`) : findServiceError(err);
    if (!e) throw err;
    if (wantsJson) return Response.json({ error: { code: e.code, message: e.message } }, { status: API_ERRORS[e.code] });
    return redirect(`/suppressions?${new URLSearchParams({ import_error: e.message })}`);
  }
}

export const loader = () => redirect("/suppressions");
