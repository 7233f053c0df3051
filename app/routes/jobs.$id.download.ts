// GET /jobs/:id/download?format=csv|json|jsonl|xlsx&verdict=…&safe_to_send=true|false: the job's
// results as a file, streamed.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { VERDICTS, type Verdict } from "../../core/verdict.ts";
import { requireViewer } from "../auth.server.ts";
import { EXPORT_CONTENT_TYPE, EXPORT_FORMATS, exportResults, getJob, jobOr404, type ExportFormat } from "../lib/jobs.server.ts";

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const job = await jobOr404(() => getJob(services, { accountId: viewer.account.id, actor: viewer.user.id }, args.params.id!));
  if (job.resultsExpiredAt !== null) throw new Response("This list's results were removed under the account's retention setting (see Settings).", { status: 410 });
  const url = new URL(args.request.url);
  const format = (EXPORT_FORMATS as readonly string[]).includes(url.searchParams.get("format") ?? "") ? (url.searchParams.get("format") as ExportFormat) : "csv";
  const verdicts = url.searchParams.getAll("verdict").flatMap((v) => v.split(",")).filter((v): v is Verdict => (VERDICTS as readonly string[]).includes(v));
  const safe = url.searchParams.get("safe_to_send");
  // A find job's answers are not rated by the rules: its downloads take no such filter.
  const safeToSend = job.kind === "verify" && (safe === "true" || safe === "false") ? safe === "true" : undefined;
  const slug = job.name.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60) || job.id;
  const suffix = `${verdicts.length > 0 && verdicts.length < VERDICTS.length ? `-${verdicts.join("+")}` : ""}${safeToSend === undefined ? "" : safeToSend ? "-safe" : "-not-safe"}`;
  return new Response(exportResults(services, { job, format, verdicts: verdicts.length > 0 ? verdicts : null, safeToSend }), {
    headers: {
      "content-type": EXPORT_CONTENT_TYPE[format],
      "content-disposition": `attachment; filename="${slug}${suffix}.${format}"`,
      "cache-control": "no-store",
    },
  });
}
