// The one seam that runs what follows a committed write (edge/effects.ts). Whoever committed the
// write (the service that made it, or the route or sweeper that called a bare write such as
// applyResultChunk) hands its effects here once. Each runs in the background (waitUntil): the
// answer never waits for them, and none holds a database lock. Each is safe to run twice.
import { LATEST_RESULTS } from "../core/live.ts";
import type { Services } from "./context.ts";
import type { Effects } from "./effects.ts";
import { logTopUpError, runAutoTopUp } from "./billing/billing.ts";
import { materializeCampaign } from "./campaigns/audience.ts";
import { dispatchSends } from "./campaigns/dispatch.ts";
import { tellCampaignHub } from "./campaigns/progress.ts";
import { dispatchPending } from "./dispatch/dispatch.ts";
import { fanOut } from "./webhooks/outbox.ts";

export function afterCommit(s: Services, effects: Effects): void {
  const { hub, tail, campaign, dispatch, webhooks, topUp, sendDispatch, materialize } = effects;
  // processed only grows, so it orders updates for the hub; a replay carries an old value. The
  // hub keeps only the newest few results: the rest are not worth the RPC's bytes.
  if (hub) s.waitUntil(s.hub(hub.job.id).update(hub.job, hub.latest.slice(-LATEST_RESULTS), hub.job.processed));
  if (tail) s.waitUntil(s.hub(tail.jobId).tailWaiting(tail.batches));
  // The hub orders reads of a campaign itself and coalesces its messages (edge/campaignhub.ts).
  if (campaign) tellCampaignHub(s, campaign);
  if (dispatch) s.waitUntil(dispatchPending(s));
  if (webhooks) s.waitUntil(fanOut(s));
  if (topUp) s.waitUntil(runAutoTopUp(s, topUp).catch(logTopUpError(topUp)));
  // A campaign's next audience steps; the batches they make go out by their own effects.
  if (materialize) s.waitUntil(materializeCampaign(s, materialize).then((more) => afterCommit(s, more)));
  if (sendDispatch) s.waitUntil(dispatchSends(s));
}
