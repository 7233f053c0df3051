// Messages on a job's and a campaign's WebSocket, shared by their hubs (Durable Objects) and the browser.
import type { FindAnswer, JobView, Result, TailWaiting } from "./contracts.ts";
import type { CampaignStatus, JobStatus } from "./enums.ts";

/** What the live messages tell of a job: the part of its API view that moves. */
export type JobProgress = Pick<JobView, "id" | "status" | "total" | "unique" | "processed" | "counts">;

/** A row of a job's latest results: a verification's result, or a find's answer (email null when none was found). */
export type LatestRow = Result | FindAnswer;

export type LiveMessage =
  /** First message on every connection: where the job stands now. */
  | { type: "snapshot"; job: JobProgress; latest: LatestRow[]; waiting?: TailWaiting }
  /** Coalesced: at most a few per second, whatever the result rate. `latest` holds only the
   * results new since the previous message (newest chunk first, at most LATEST_RESULTS).
   * `waiting`: what the unanswered addresses wait on, across the job's batches (absent: not known). */
  | { type: "progress"; job: JobProgress; latest: LatestRow[]; rate_per_s: number; eta_s: number | null; waiting?: TailWaiting }
  /** The last message; `latest` holds the results new since the previous one. */
  | { type: "completed"; job: JobProgress; latest: LatestRow[] };

/** What a batch's addresses wait on, as the job's hub keeps it: the probe's latest summary
 *  (the chunk's `seq`), or the edge's own re-queue of greylisted addresses (seq -1: any chunk of
 *  that batch replaces it); null once the batch is done. */
export interface BatchWaiting {
  batch_id: string;
  seq: number;
  waiting: TailWaiting | null;
}

/** Every batch's waiting summed: counts add up, the soonest retry leads. */
export function sumWaiting(batches: Iterable<TailWaiting | null>): TailWaiting {
  const sum: TailWaiting = {};
  for (const w of batches) {
    if (w?.greylisted) {
      const g = sum.greylisted;
      sum.greylisted = {
        count: (g?.count ?? 0) + w.greylisted.count,
        next_try_at: g && g.next_try_at < w.greylisted.next_try_at ? g.next_try_at : w.greylisted.next_try_at,
      };
    }
    if (w?.slow_server) sum.slow_server = { count: (sum.slow_server?.count ?? 0) + w.slow_server.count };
  }
  return sum;
}

/** A job in one of these states changes no more. */
const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "canceled"];
export const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);

/** How many of the newest results ride along with each message. */
export const LATEST_RESULTS = 20;
/** How many rows a page of the job page's results table holds (edge/jobs/browse.ts). */
export const RESULTS_PAGE_SIZE = 25;
/** Minimum spacing of progress messages per job (4 a second at most). */
export const PROGRESS_INTERVAL_MS = 250;

/** What a campaign's live messages tell: the part of its API view (edge/campaigns/views.ts) that moves. */
export interface CampaignProgress {
  id: string;
  status: CampaignStatus;
  status_reason: string | null;
  counts: {
    audience: number;
    sent: number;
    failed: number;
    suppressed: number;
    skipped_unverified: number;
    unsubscribed: number;
    bounced: number;
    unknown_outcome: number;
  };
  /** The last change of status (ISO 8601). */
  updated_at: string;
}

/**
 * Every message on a campaign's WebSocket (/ws/campaigns/:id, the CampaignHub Durable Object): the
 * first on a connection is where the campaign stands; then coalesced, at most a few a second;
 * a move to an end is sent at once and is the last.
 */
export type CampaignLiveMessage = { type: "campaign"; campaign: CampaignProgress };

const CAMPAIGN_TERMINAL: readonly CampaignStatus[] = ["completed", "canceled", "failed"];
export const isCampaignTerminal = (status: CampaignStatus) => CAMPAIGN_TERMINAL.includes(status);

/**
 * Orders two reads of one campaign (negative: `a` is older). Its counters only grow, a recipient's
 * answer counts twice (unknown_outcome → sent moves one and takes back the other), so their
 * weighted sum is larger in any later read that counted something; reads that counted the same
 * are told apart by when the status last changed, and an end is never older than a non-end.
 */
export function compareCampaignProgress(a: CampaignProgress, b: CampaignProgress): number {
  const weight = ({ counts: c }: CampaignProgress) =>
    c.audience + c.suppressed + c.skipped_unverified + c.unsubscribed + c.bounced + c.unknown_outcome + 2 * (c.sent + c.failed);
  return (
    weight(a) - weight(b) ||
    Number(isCampaignTerminal(a.status)) - Number(isCampaignTerminal(b.status)) ||
    Date.parse(a.updated_at) - Date.parse(b.updated_at)
  );
}
