// The edge's sending capabilities as the campaign pages use them (/campaigns, the new-campaign
// flow, /campaigns/:id): campaigns and their recipients, the choices a new one is made of (lists,
// confirmed senders, templates and their preview, relays by name), live tokens, and the 404 for a
// campaign the viewer's account does not hold.
import { ServiceError } from "../../edge/errors.ts";

export { audienceEstimate, sendableJobs, type AudienceEstimate } from "../../edge/campaigns/choices.ts";
export { cancelCampaign, createCampaign, getCampaign, listCampaigns, listRecipients, MAX_CONSENT_SOURCE, MAX_RATE_PER_HOUR, pauseCampaign, resumeCampaign, startCampaign } from "../../edge/campaigns/campaigns.ts";
export { campaignProgress } from "../../edge/campaigns/progress.ts";
export type { CampaignView, RecipientView } from "../../edge/campaigns/views.ts";
export { mintLiveToken } from "../../edge/identity/livetoken.ts";
export { getJob } from "../../edge/jobs/jobs.ts";
export { jobView } from "../../edge/jobs/view.ts";
export { listRelays } from "../../edge/relays/relays.ts";
export { getSender, listSenders } from "../../edge/senders/senders.ts";
export type { SenderView } from "../../edge/senders/views.ts";
export { getTemplate, listTemplates, previewTemplate } from "../../edge/templates/templates.ts";
export type { TemplatePreview, TemplateView } from "../../edge/templates/views.ts";

/** Another account's campaign and a missing one look the same: 404, never a hint that the id exists. */
export async function campaignOr404<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "not_found") throw new Response("No such campaign in this account.", { status: 404 });
    throw e;
  }
}

/** A page of a list; a cursor the page did not make (edited by hand) is a 400, not an error page. */
export async function pageOr400<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "validation_failed") throw new Response(e.message, { status: 400 });
    throw e;
  }
}

/** What a lookup found, or null when it is gone (a sender or template deleted since the campaign was made). */
export async function orNull<T>(load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "not_found") return null;
    throw e;
  }
}
