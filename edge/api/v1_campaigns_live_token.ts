// POST /api/v1/campaigns/:id/live-token: a five-minute token to watch the campaign at /ws/campaigns/:id.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { campaignRow } from "../campaigns/campaigns.ts";
import { mintLiveToken } from "../identity/livetoken.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_NOT_FOUND, CampaignIdParam } from "./campaign_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/campaigns/{id}/live-token",
  operationId: "createCampaignLiveToken",
  summary: "A short-lived token to watch a campaign's progress over WebSocket",
  description:
    "Connect to `url` (`GET /ws/campaigns/{id}?token=…`, a WebSocket). Every message is `{ \"type\": \"campaign\", \"campaign\": { id, status, " +
    "status_reason, counts, updated_at } }`: the first says where the campaign stands, the next come at most 4 times a second while it " +
    "moves, and a move to `completed`, `canceled` or `failed` is sent at once. The token opens only this campaign's socket. API clients " +
    "may instead send their key as `Authorization: Bearer` on the upgrade request.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { params: CampaignIdParam },
  responses: {
    201: {
      description: "The token",
      content: { "application/json": { schema: z.object({ token: z.string(), expires_at: z.string(), url: z.string() }) } },
    },
    ...COMMON_ERRORS,
    ...CAMPAIGN_NOT_FOUND,
  },
});

export function registerCampaignsLiveToken(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const { services, keyId } = c.var;
    const campaign = await campaignRow(services, whoOf(c), c.req.valid("param").id);
    // Bound to the key: revoking it also closes the door to sockets not yet opened.
    const { token, expiresAt } = await mintLiveToken(services, whoOf(c), { campaignId: campaign.id, holder: keyId ? { key: keyId } : { dev: true } });
    const ws = services.origin.replace(/^http/, "ws");
    return c.json({ token, expires_at: new Date(expiresAt * 1000).toISOString(), url: `${ws}/ws/campaigns/${campaign.id}?token=${encodeURIComponent(token)}` }, 201);
  });
}
