// What must follow a committed write (Django's transaction.on_commit): a write returns these
// beside its value, and whoever committed it hands them to afterCommit (edge/aftercommit.ts) once.
// Only types here, so a write's module can name its effects without importing what runs them.
import type { BatchWaiting, CampaignProgress, JobProgress, LatestRow } from "../core/live.ts";

export interface Effects {
  /** The job's hub (its WebSockets) learns where the job stands, with its newest results. */
  hub?: { job: JobProgress; latest: LatestRow[] } | undefined;
  /** The job's hub learns what its batches' unanswered addresses wait on (issue 26). */
  tail?: { jobId: string; batches: BatchWaiting[] } | undefined;
  /** The campaign's hub (its WebSockets) learns where the campaign stands, as the write left it (edge/campaigns/progress.ts). */
  campaign?: CampaignProgress | undefined;
  /** Pending batches may go out: work was queued, or a probe has room again. */
  dispatch?: boolean | undefined;
  /** Webhook events were recorded: fan them out to their endpoints. */
  webhooks?: boolean | undefined;
  /** Send batches may go out: a campaign began or resumed, or a probe finished one (edge/campaigns/dispatch.ts). */
  sendDispatch?: boolean | undefined;
  /** The sending campaign whose audience has job rows left to turn into recipients (edge/campaigns/audience.ts). */
  materialize?: string | undefined;
  /** The account whose auto top-up fell due with the write. */
  topUp?: string | undefined;
}
