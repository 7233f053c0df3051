// POST /api/v1/campaigns/:id/start: a draft begins (or waits for its job, or its send_at).
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { startCampaign } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_NOT_FOUND, CampaignIdParam, CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/campaigns/{id}/start",
  operationId: "startCampaign",
  summary: "Start a campaign",
  description: "A draft goes to `verifying` while its job runs, to `scheduled` until `send_at`, or straight to `sending`. The sender and template are frozen when sending begins. The sender must be confirmed.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { params: CampaignIdParam },
  responses: {
    200: { description: "The campaign", content: { "application/json": { schema: CampaignSchema } } },
    409: errorResponse("Not a draft, or its job failed, was canceled or deleted (`conflict`); the sender is not confirmed (`sender_not_confirmed`)"),
    ...COMMON_ERRORS,
    ...CAMPAIGN_NOT_FOUND,
  },
});

export function registerCampaignsStart(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await startCampaign(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
