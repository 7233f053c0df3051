// POST /campaigns/:id/live-token: a fresh token for the campaign's WebSocket, for the signed-in viewer.
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { requireViewer } from "../auth.server.ts";
import { campaignOr404, getCampaign, mintLiveToken } from "../lib/campaigns.server.ts";

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const campaign = await campaignOr404(() => getCampaign(services, viewer, args.params.id!));
  return Response.json(await mintLiveToken(services, viewer, { campaignId: campaign.id, holder: viewer.holder }));
}
