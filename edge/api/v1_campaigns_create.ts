// POST /api/v1/campaigns: a draft campaign to a verified list, with the consent statement.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { createCampaign } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CampaignCreateSchema, CampaignSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/api/v1/campaigns",
  operationId: "createCampaign",
  summary: "Create a draft campaign",
  description:
    "A campaign sends a template through a confirmed sender's relays to a verification job's `deliverable` addresses (and `risky` ones with " +
    "`include_risky`), never to suppressed ones. Nothing is sent until `POST /api/v1/campaigns/{id}/start`. The consent statement is required, " +
    "stored with the campaign and written to the audit log with who made it.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: CampaignCreateSchema } } } },
  responses: {
    201: { description: "The draft", content: { "application/json": { schema: CampaignSchema } } },
    400: errorResponse("A bad body, a missing consent, or a `find` job (`validation_failed`)"),
    404: errorResponse("No such job, sender or template for this account (`not_found`)"),
    409: errorResponse("The job failed or was canceled (`conflict`)"),
    ...COMMON_ERRORS,
  },
});

export function registerCampaignsCreate(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => c.json(await createCampaign(c.var.services, whoOf(c), c.req.valid("json")), 201));
}
