// The edge's jobs capability as the pages use it (upload, a job's page, its downloads), and the
// 404 for a job the viewer's account does not hold.
import { ServiceError } from "../../edge/errors.ts";
import type { JobRow } from "../../edge/jobs/view.ts";

export { browseResults, latestResults } from "../../edge/jobs/browse.ts";
export { EXPORT_CONTENT_TYPE, EXPORT_FORMATS, exportResults, type ExportFormat } from "../../edge/jobs/export.ts";
export { cancelJob, deleteJob, getJob, listJobs } from "../../edge/jobs/jobs.ts";
export { ingestJob } from "../../edge/jobs/ingest.ts";
export { jobProgress, jobView } from "../../edge/jobs/view.ts";
export { defaultJobName, readUpload } from "../../edge/jobs/upload.ts";

/** Another account's job and a missing one look the same: 404, never a hint that the id exists. */
export async function jobOr404(load: () => Promise<JobRow>): Promise<JobRow> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "not_found") throw new Response("No such job in this account.", { status: 404 });
    throw e;
  }
}
