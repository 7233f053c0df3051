// POST /api/v1/campaigns/:id/pause: stop handing messages to relays, until resumed.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { pauseCampaign } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_CONFLICT, CAMPAIGN_NOT_FOUND, CampaignIdParam, CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/campaigns/{id}/pause",
  operationId: "pauseCampaign",
  summary: "Pause a campaign",
  description: "Nothing more is handed to a relay; messages a probe already handed over keep their outcome. Pausing a paused campaign answers it again. A campaign is also paused by a relay's failure (`status_reason` says which).",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { params: CampaignIdParam },
  responses: {
    200: { description: "The campaign", content: { "application/json": { schema: CampaignSchema } } },
    ...CAMPAIGN_CONFLICT,
    ...COMMON_ERRORS,
    ...CAMPAIGN_NOT_FOUND,
  },
});

export function registerCampaignsPause(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await pauseCampaign(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
