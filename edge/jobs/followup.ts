// What every writer of results does next (a probe's chunk, the sweeper's give-up), in one place:
// tell the job's hub, hand a freed probe more work, and send the webhook event a finished job
// wrote (its outbox row is in the same write). Credits are settled inside the write.
import { LATEST_RESULTS, type LatestRow } from "../../core/live.ts";
import type { Services } from "../context.ts";
import { dispatchPending } from "../dispatch/dispatch.ts";
import type { AppliedChunk } from "./results.ts";
import { fanOut } from "../webhooks/outbox.ts";

export function followUp(s: Services, outcome: AppliedChunk, results: LatestRow[]): void {
  if (outcome.job && (outcome.applied > 0 || outcome.finished)) {
    // processed only grows, so it orders updates for the hub; a replay carries an old value.
    // The hub keeps only the newest few: the rest of a chunk is not worth the RPC's bytes.
    s.waitUntil(s.hub(outcome.job.id).update(outcome.job, results.slice(-LATEST_RESULTS), outcome.job.processed));
  }
  if (outcome.batchDone) s.waitUntil(dispatchPending(s));
  if (outcome.finished) s.waitUntil(fanOut(s));
}
