// Remix's `request.formData()` reads a whole body, and a page action runs after no other check of
// size, so a page's body is read here first, up to a cap, as it streams. The web app's forms are a
// few fields; the file uploads have their own routes, which stream under MXRAY_MAX_UPLOAD_BYTES.
import { readRequestLimited } from "../core/limitedbody.ts";

export const MAX_FORM_BYTES = 256 * 1024;
export const STREAMED_UPLOAD_PATHS: ReadonlySet<string> = new Set(["/upload/file", "/suppressions/import"]);

/** The request with its body read (at most `limit` bytes), or null when the body is larger. */
export async function withCappedBody(request: Request, limit = MAX_FORM_BYTES): Promise<Request | null> {
  if (!request.body || STREAMED_UPLOAD_PATHS.has(new URL(request.url).pathname)) return request;
  const body = await readRequestLimited(request, limit);
  return body.ok ? new Request(request, { body: body.bytes }) : null;
}
