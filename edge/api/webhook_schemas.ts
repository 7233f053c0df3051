// Schemas of the webhook and Zapier hook operations (edge/api/v1_webhooks_*.ts, v1_hooks_*.ts).
// The answers' shapes are the webhooks capability's views (edge/webhooks/views.ts), named here.
import { z } from "@hono/zod-openapi";
import { MAX_WEBHOOK_URL_LENGTH } from "../../core/webhookurl.ts";
import { DeliveryAcceptedSchema, DeliveryViewSchema, EndpointViewSchema, WebhookEventTypeSchema } from "../webhooks/views.ts";
import { errorResponse } from "./schemas.ts";

export { DeliveryAcceptedSchema, WebhookEventTypeSchema };

export const WebhookUrlSchema = z
  .string()
  .max(MAX_WEBHOOK_URL_LENGTH)
  .openapi({
    example: "https://hooks.example.com/mxray",
    description:
      "`https:` on port 443 to a public address or a name under a registrable domain of the Public Suffix List (no user name or password; no private, loopback, link-local, CGNAT or metadata address; no single-label or internal name); `http:` to loopback only in local mode",
  });

export const WebhookSchema = EndpointViewSchema.openapi("Webhook");

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", description: "Signs every delivery (Standard Webhooks); shown only here and on rotation" }),
}).openapi("WebhookWithSecret");

export const WebhookIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "whk_0d3kq8zp1m0avw2xbycd" }) });

export const WebhookDeliverySchema = DeliveryViewSchema.openapi("WebhookDelivery");

export const WEBHOOK_NOT_FOUND = { 404: errorResponse("No such webhook for this account (`not_found`)") } as const;
export const URL_REFUSED = errorResponse("`validation_failed` (a bad body), or `url_not_allowed` (the message names the rule the URL breaks)");
