// Messages on a job's WebSocket, shared by the JobHub Durable Object and the browser.
import type { FindAnswer, JobView, Result } from "./contracts.ts";
import type { JobStatus } from "./enums.ts";

/** What the live messages tell of a job: the part of its API view that moves. */
export type JobProgress = Pick<JobView, "id" | "status" | "total" | "unique" | "processed" | "counts">;

/** A row of a job's latest results: a verification's result, or a find's answer (email null when none was found). */
export type LatestRow = Result | FindAnswer;

export type LiveMessage =
  /** First message on every connection: where the job stands now. */
  | { type: "snapshot"; job: JobProgress; latest: LatestRow[] }
  /** Coalesced: at most a few per second, whatever the result rate. `latest` holds only the
   * results new since the previous message (newest chunk first, at most LATEST_RESULTS). */
  | { type: "progress"; job: JobProgress; latest: LatestRow[]; rate_per_s: number; eta_s: number | null }
  /** The last message; `latest` holds the results new since the previous one. */
  | { type: "completed"; job: JobProgress; latest: LatestRow[] };

/** A job in one of these states changes no more. */
const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "canceled"];
export const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);

/** How many of the newest results ride along with each message. */
export const LATEST_RESULTS = 20;
/** How many rows a page of the job page's results table holds (edge/jobs/browse.ts). */
export const RESULTS_PAGE_SIZE = 25;
/** Minimum spacing of progress messages per job (4 a second at most). */
export const PROGRESS_INTERVAL_MS = 250;
