// What the API answers, the webhooks carry and the app shows of campaigns and their recipients,
// each shape written once as a zod schema (field notes in `.meta()`, which the OpenAPI document
// shows); edge/api/campaign_schemas.ts names them in the document. Imports nothing of the edge but
// its types, so every folder that shows a campaign can use it.
import { z } from "zod";
import { SmtpReplySchema } from "../../core/contracts.ts";
import { BOUNCE_KINDS, CAMPAIGN_STATUSES, CONSENT_BASES, RECIPIENT_STATUSES } from "../../core/enums.ts";
import { VERDICTS } from "../../core/verdict.ts";
import type { campaignRecipients, campaigns } from "../../db/schema.ts";

export type CampaignRow = typeof campaigns.$inferSelect;
export type RecipientRow = typeof campaignRecipients.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const ConsentSchema = z.object({
  basis: z.enum(CONSENT_BASES).meta({ description: "`opt_in`: the people asked for this mail; `existing_customers`: they are customers of the sender" }),
  source: z.string().min(1).max(500).meta({ description: "Where the list came from, in the customer's words", example: "Newsletter sign-up form on example.com, double opt-in" }),
});
export type Consent = z.infer<typeof ConsentSchema>;

export const CampaignViewSchema = z.object({
  id: z.string().meta({ example: "cmp_5t0kq8zp1m0avw2xbycd" }),
  name: z.string(),
  status: z.enum(CAMPAIGN_STATUSES).meta({
    description:
      "`draft` until started; `verifying` while its job runs; `scheduled` until `send_at`; `sending`; `paused` (by its owner, or by a relay's failure: see `status_reason`); then `completed`, `canceled` or `failed`",
  }),
  status_reason: z.string().nullable().meta({ description: "Why it paused or failed", example: "relay_auth_failed: rly_… answered 535 5.7.8 Authentication credentials invalid" }),
  job_id: z.string().meta({ description: "The verification job whose addresses it sends to" }),
  sender_id: z.string(),
  template_id: z.string(),
  include_risky: z.boolean().meta({ description: "Whether `risky` addresses (accept-all domains, full mailboxes) are sent to; `undeliverable` and `unknown` never are" }),
  send_at: z.string().nullable().meta({ format: "date-time", description: "Not before this time; null: as soon as started" }),
  rate_per_hour: z.number().int().nullable().meta({ description: "Messages an hour at most; null: as fast as the relays' limits allow" }),
  consent: ConsentSchema,
  created_by: z.string().meta({ description: "Who made it (and attested the consent): a user id or an API key id" }),
  counts: z.object({
    audience: z.number().int().meta({ description: "Recipients: the job's sendable addresses not suppressed (grows while the list is prepared)" }),
    sent: z.number().int().meta({ description: "Accepted by a relay (with its queue id)" }),
    failed: z.number().int().meta({ description: "Refused for good by the relay, or not sent after every attempt" }),
    suppressed: z.number().int().meta({ description: "On the account's suppression list: when the list was prepared, or when a probe claimed them" }),
    skipped_unverified: z.number().int().meta({ description: "Addresses of the job not sent to: `undeliverable`, `unknown`, and `risky` without `include_risky`" }),
    unsubscribed: z.number().int(),
    bounced: z.number().int(),
    unknown_outcome: z.number().int().meta({ description: "Handed to a relay whose answer was lost: they may have gone, and are never sent again" }),
  }),
  created_at: z.string().meta({ format: "date-time" }),
  started_at: z.string().nullable().meta({ format: "date-time", description: "When sending began" }),
  finished_at: z.string().nullable().meta({ format: "date-time" }),
  updated_at: z.string().meta({ format: "date-time", description: "The last change of status" }),
});
export type CampaignView = z.infer<typeof CampaignViewSchema>;

export function campaignView(row: CampaignRow): CampaignView {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    status_reason: row.statusReason,
    job_id: row.jobId,
    sender_id: row.senderId,
    template_id: row.templateId,
    include_risky: row.includeRisky,
    send_at: iso(row.sendAt),
    rate_per_hour: row.ratePerHour,
    consent: { basis: row.consentBasis, source: row.consentSource },
    created_by: row.createdBy,
    counts: {
      audience: row.audience,
      sent: row.sent,
      failed: row.failed,
      suppressed: row.suppressed,
      skipped_unverified: row.skippedUnverified,
      unsubscribed: row.unsubscribed,
      bounced: row.bounced,
      unknown_outcome: row.unknownOutcome,
    },
    created_at: iso(row.createdAt)!,
    started_at: iso(row.startedAt),
    finished_at: iso(row.finishedAt),
    updated_at: iso(row.updatedAt)!,
  };
}

export const RecipientViewSchema = z.object({
  id: z.number().int().meta({ example: 4182 }),
  email: z.string().meta({ example: "ada@example.com" }),
  status: z.enum(RECIPIENT_STATUSES).meta({
    description:
      "`queued`; `sending` (claimed by a probe); `sent` (accepted by the relay), `failed` (refused for good), `unknown_outcome` (the relay's answer was lost: never sent again); `suppressed` (after the campaign started); `canceled` (the campaign ended first)",
  }),
  relay_id: z.string().nullable().meta({ description: "The relay that answered" }),
  queue_id: z.string().nullable().meta({ description: "The relay's id of the message, from its reply", example: "4BxK2c1QzZz" }),
  reply: SmtpReplySchema.nullable().meta({ description: "What the relay answered" }),
  verdict: z.enum(VERDICTS).nullable().meta({ description: "The address's verification verdict, from the campaign's job (null once the job is deleted)" }),
  reason: z.string().nullable().meta({ description: "The verdict's reason code", example: "accepted" }),
  bounce_kind: z.enum(BOUNCE_KINDS).nullable().meta({ description: "The first hard bounce or complaint that came back for this message (`hard`, `complaint`), else null; GET /api/v1/bounces?campaign_id= lists every bounce" }),
  bounced_at: z.string().nullable().meta({ format: "date-time", description: "When that bounce or complaint happened" }),
  updated_at: z.string().meta({ format: "date-time" }),
});
export type RecipientView = z.infer<typeof RecipientViewSchema>;

/** A recipient row with its job row's verdict and reason (null when the job's rows are gone). */
export function recipientView(
  row: Pick<RecipientRow, "id" | "email" | "status" | "relayId" | "queueId" | "reply" | "bounceKind" | "bouncedAt" | "updatedAt"> & { verdict: RecipientView["verdict"]; reason: string | null },
): RecipientView {
  return {
    id: row.id,
    email: row.email,
    status: row.status,
    relay_id: row.relayId,
    queue_id: row.queueId,
    reply: row.reply ? (JSON.parse(row.reply) as RecipientView["reply"]) : null,
    verdict: row.verdict,
    reason: row.reason,
    bounce_kind: row.bounceKind,
    bounced_at: iso(row.bouncedAt),
    updated_at: iso(row.updatedAt)!,
  };
}
