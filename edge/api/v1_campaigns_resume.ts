// POST /api/v1/campaigns/:id/resume: a paused campaign goes on.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { resumeCampaign } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_NOT_FOUND, CampaignIdParam, CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/campaigns/{id}/resume",
  operationId: "resumeCampaign",
  summary: "Resume a paused campaign",
  description: "It goes on sending where it stopped (its rate spacing moved on by the pause), or, if it never began, waits for its job or `send_at` as a start would.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { params: CampaignIdParam },
  responses: {
    200: { description: "The campaign", content: { "application/json": { schema: CampaignSchema } } },
    409: errorResponse("Not paused (`conflict`); it never began and its sender is not confirmed (`sender_not_confirmed`)"),
    ...COMMON_ERRORS,
    ...CAMPAIGN_NOT_FOUND,
  },
});

export function registerCampaignsResume(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await resumeCampaign(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
