// GET /api/v1/campaigns/:id: status (and why), counts, consent and times.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { getCampaign } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_NOT_FOUND, CampaignIdParam, CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/campaigns/{id}",
  operationId: "getCampaign",
  summary: "A campaign: status, counts, consent",
  description:
    "Every address of the job is counted once when the list is prepared: a recipient (`audience`), `suppressed`, or `skipped_unverified`. " +
    "Each recipient then ends `sent`, `failed`, `unknown_outcome` (never sent twice), `suppressed` (suppressed after the start) or canceled.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { params: CampaignIdParam },
  responses: { 200: { description: "The campaign", content: { "application/json": { schema: CampaignSchema } } }, ...COMMON_ERRORS, ...CAMPAIGN_NOT_FOUND },
});

export function registerCampaignsGet(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await getCampaign(c.var.services, whoOf(c), c.req.valid("param").id), 200));
}
