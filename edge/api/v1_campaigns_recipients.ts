// GET /api/v1/campaigns/:id/recipients: who it sends to, in list order, with each address's
// verification evidence and what the relay answered.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { RECIPIENT_STATUSES } from "../../core/enums.ts";
import { listRecipients } from "../campaigns/campaigns.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { CAMPAIGN_NOT_FOUND, CampaignIdParam, CampaignRecipientSchema } from "./campaign_schemas.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/api/v1/campaigns/{id}/recipients",
  operationId: "listCampaignRecipients",
  summary: "List a campaign's recipients",
  description: "In list order (by `id`); `next_cursor` is the last recipient's id. Addresses skipped as unverified or suppressed before the start are only counted.",
  tags: ["Campaigns"],
  security: [{ bearer: [] }],
  request: {
    params: CampaignIdParam,
    query: pageQuery("Recipients").extend({ status: z.enum(RECIPIENT_STATUSES).optional().openapi({ description: "Only recipients in this status", example: "failed" }) }),
  },
  responses: {
    200: { description: "A page of recipients", content: { "application/json": { schema: pageOf(CampaignRecipientSchema) } } },
    400: errorResponse("A `limit` or `status` out of range, or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
    ...CAMPAIGN_NOT_FOUND,
  },
});

export function registerCampaignsRecipients(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listRecipients(c.var.services, whoOf(c), { campaignId: c.req.valid("param").id, status: q.status, limit: q.limit, cursor: q.cursor }), 200);
  });
}
