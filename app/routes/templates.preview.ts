// POST /templates/preview: the editor's live preview. The template as typed (saved or not) is
// rendered for a sample person by the same service the API's preview uses; a template error comes
// back with its field, line and column for the editor to show beside the field. JSON in and out.
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { z } from "zod";
import { MAX_HTML, MAX_SUBJECT, MAX_TEXT } from "../../core/template.ts";
import { requireViewer } from "../auth.server.ts";
import { API_ERRORS, findServiceError } from "../lib/actions.server.ts";
import { previewSource, templateFieldError } from "../lib/templates.server.ts";

const PreviewRequest = z.object({
  subject: z.string().max(MAX_SUBJECT),
  html: z.string().max(MAX_HTML),
  text: z.string().max(MAX_TEXT).nullable(),
});

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  let body: unknown;
  try {
    body = await args.request.json();
  } catch {
    return Response.json({ error: { code: "invalid_json", message: "The body is not valid JSON" } }, { status: 400 });
  }
  const source = PreviewRequest.safeParse(body);
  if (!source.success) return Response.json({ error: { code: "validation_failed", message: source.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") } }, { status: 400 });
  try {
    const preview = await previewSource(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { source: source.data });
    return Response.json({ preview });
  } catch (err) {
    const e = findServiceError(err);
    if (!e) throw err;
    // A template that does not parse is what the preview has to show, not a failed request (and a
    // 4xx would be a console error in the browser at every unfinished tag).
    const at = templateFieldError(e);
    return Response.json({ error: { code: e.code, message: e.message }, at }, { status: at ? 200 : API_ERRORS[e.code] });
  }
}

export const loader = () => redirect("/templates");
