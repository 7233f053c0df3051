// Schemas of the campaign operations (edge/api/v1_campaigns_*.ts). The answers' shapes are the
// campaigns capability's views (edge/campaigns/views.ts), named here.
import { z } from "@hono/zod-openapi";
import { SAMPLE_CAMPAIGN } from "../../core/samples.ts";
import { CampaignViewSchema, ConsentSchema, RecipientViewSchema } from "../campaigns/views.ts";
import { errorResponse } from "./schemas.ts";

export const CampaignSchema = CampaignViewSchema.openapi("Campaign", { example: SAMPLE_CAMPAIGN });

export const CampaignRecipientSchema = RecipientViewSchema.openapi("CampaignRecipient", {
  example: {
    id: 4182,
    email: "ada@example.com",
    status: "sent",
    relay_id: "rly_7q2m9x4c1v8b0n3z6k5p",
    queue_id: "4BxK2c1QzZz",
    reply: { code: 250, enhanced: "2.0.0", message: "Ok: queued as 4BxK2c1QzZz" },
    verdict: "deliverable",
    reason: "accepted",
    bounce_kind: null,
    bounced_at: null,
    updated_at: "2025-03-14T09:44:51.000Z",
  },
});

export const CampaignCreateSchema = z
  .object({
    name: z.string().min(1).max(200).openapi({ example: "March newsletter" }),
    job_id: z.string().min(1).max(64).openapi({ example: "job_3kq8zp1m0avw2xbycd4e", description: "A verification job of the account (kind `verify`); while it runs, the campaign waits in `verifying`" }),
    sender_id: z.string().min(1).max(64).openapi({ example: "snd_0b7n2c4xq1m8zt5ra9we", description: "A sender of the account; it must be confirmed before the campaign starts" }),
    template_id: z.string().min(1).max(64).openapi({ example: "tpl_8d1v6k0qz3w9x2nm5bty" }),
    include_risky: z.boolean().optional().openapi({ description: "Also send to `risky` addresses (accept-all domains, full mailboxes); default false" }),
    send_at: z.iso.datetime({ offset: true }).nullable().optional().openapi({ example: "2025-03-15T08:00:00Z", description: "Not before this time; absent or null: as soon as started" }),
    rate_per_hour: z.number().int().min(1).max(1_000_000).nullable().optional().openapi({ example: 5_000, description: "Messages an hour at most; absent or null: as fast as the relays' limits allow" }),
    consent: ConsentSchema.openapi({ description: "Why these people may be mailed: stored and audited with who made the campaign" }),
  })
  .openapi("CampaignCreate");

export const CampaignIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "cmp_5t0kq8zp1m0avw2xbycd" }) });

export const CAMPAIGN_NOT_FOUND = { 404: errorResponse("No such campaign for this account (`not_found`)") } as const;
export const CAMPAIGN_CONFLICT = { 409: errorResponse("The campaign's status does not allow it; the message names the status (`conflict`)") } as const;
