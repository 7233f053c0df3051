// POST /upload/file: the upload itself, as a resource route. The page sends the raw file (streamed
// into the job) with the chosen column; without JavaScript its form posts multipart here instead.
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { requireViewer } from "../auth.server.ts";
import { API_ERRORS, findServiceError } from "../lib/actions.server.ts";
import { defaultJobName, ingestJob, readUpload } from "../lib/jobs.server.ts";

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { request, context } = args;
  const wantsJson = (request.headers.get("accept") ?? "").includes("application/json");
  try {
    const { name, source, kind } = await readUpload(request, context.services.config.MXRAY_MAX_UPLOAD_BYTES);
    const job = await ingestJob(context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { name: name || defaultJobName(), source, kind });
    return wantsJson ? Response.json({ job }, { status: 201 }) : redirect(`/jobs/${job.id}`);
  } catch (err) {
    const e = findServiceError(err);
    if (!e) throw err;
    const body = { error: { code: e.code, message: e.message } };
    return wantsJson ? Response.json(body, { status: API_ERRORS[e.code] }) : redirect(`/upload?${new URLSearchParams({ error: e.message, code: e.code })}`);
  }
}

export const loader = () => redirect("/upload");
