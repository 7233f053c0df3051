// GET /api/v1/campaigns: the account's campaigns, newest first, by cursor.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listCampaigns } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/campaigns",
  operationId: "listCampaigns",
  summary: "List campaigns, newest first",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { query: pageQuery("Campaigns") },
  responses: {
    200: { description: "A page of campaigns", content: { "application/json": { schema: pageOf(CampaignSchema) } } },
    400: errorResponse("A `limit` out of range or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerCampaignsList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await listCampaigns(c.var.services, whoOf(c), c.req.valid("query")), 200));
}
