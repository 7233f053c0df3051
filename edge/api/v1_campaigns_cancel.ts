// POST /api/v1/campaigns/:id/cancel: nothing more is sent.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { cancelCampaign } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_NOT_FOUND, CampaignIdParam, CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/campaigns/{id}/cancel",
  operationId: "cancelCampaign",
  summary: "Cancel a campaign",
  description: "Its queued recipients are canceled and nothing more is sent; messages a probe already handed to a relay keep their outcome. Canceling a canceled campaign answers it again.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { params: CampaignIdParam },
  responses: {
    200: { description: "The campaign", content: { "application/json": { schema: CampaignSchema } } },
    409: errorResponse("The campaign already completed or failed (`conflict`)"),
    ...COMMON_ERRORS,
    ...CAMPAIGN_NOT_FOUND,
  },
});

export function registerCampaignsCancel(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await cancelCampaign(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
