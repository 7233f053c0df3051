// Schemas of the sender operations (edge/api/v1_senders_*.ts). The answers' shapes are the
// senders capability's views (edge/senders/views.ts), named here for the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { MAX_SENDER_RELAYS } from "../senders/senders.ts";
import { SenderViewSchema, SenderWithConfirmationSchema } from "../senders/views.ts";
import { errorResponse } from "./schemas.ts";

export const SenderSchema = SenderViewSchema.openapi("Sender");
export const SenderWithConfirmationOpenApi = SenderWithConfirmationSchema.openapi("SenderWithConfirmation");

export const SenderIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "snd_0d3kq8zp1m0avw2xbycd" }) });

export const SenderCreateSchema = z
  .object({
    from_email: z.string().min(3).max(254).openapi({ example: "news@example.com" }),
    from_name: z.string().min(1).max(100).openapi({ example: "Example News" }),
    reply_to: z.string().max(254).nullable().optional().openapi({ example: "hello@example.com" }),
    relay_ids: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(MAX_SENDER_RELAYS)
      .openapi({ example: ["rly_0d3kq8zp1m0avw2xbycd"], description: `The account's relays, first first: a failover pool of 1 to ${MAX_SENDER_RELAYS}` }),
    bounce_domain: z.string().max(253).nullable().optional().openapi({ example: "bounces.example.com", description: "Where bounces return; default: the From domain" }),
    dkim_selector: z.string().max(63).nullable().optional().openapi({ example: "pm", description: "The selector your relay signs with, checked at `<selector>._domainkey.<domain>`" }),
  })
  .strict()
  .openapi("SenderCreate", { example: { from_email: "news@example.com", from_name: "Example News", relay_ids: ["rly_0d3kq8zp1m0avw2xbycd"], dkim_selector: "pm" } });

export const SENDER_NOT_FOUND = { 404: errorResponse("No such sender for this account (`not_found`)") } as const;
export const PROBE_UNAVAILABLE = { 503: errorResponse("No probe is online, or none answered (`probe_unavailable`); see Retry-After") } as const;
