// What the API answers and the app shows of senders, written once as zod schemas (field notes in
// `.meta()`, which the OpenAPI document shows).
import { z } from "zod";
import { SenderCheckItemSchema } from "../../core/contracts.ts";
import type { senders } from "../../db/schema.ts";

export type SenderRow = typeof senders.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The domain of an address (its last "@" on): where SPF, DKIM and DMARC are looked up. */
export const domainOf = (email: string) => email.slice(email.lastIndexOf("@") + 1).toLowerCase();

export const ChecklistSchema = z.object({
  items: z.array(SenderCheckItemSchema).meta({
    description:
      "Gmail's and Yahoo's bulk-sender rules, each with the DNS name asked and the answer seen: `spf` (a record at the From domain), `dkim` (a key at `<dkim_selector>._domainkey.<domain>`), " +
      "`dmarc` (a record at `_dmarc.<domain>`; `p=none` is a warning), `bounce_mx` (the bounce domain receives mail). Empty until the first check.",
  }),
  checked_at: z.string().nullable().meta({ format: "date-time", description: "When the domain was last checked; null: not yet" }),
});

export const SenderViewSchema = z.object({
  id: z.string().meta({ example: "snd_0d3kq8zp1m0avw2xbycd" }),
  from_email: z.string().meta({ example: "news@example.com" }),
  from_name: z.string().meta({ example: "Example News" }),
  reply_to: z.string().nullable().meta({ example: "hello@example.com" }),
  relay_ids: z.array(z.string()).meta({ example: ["rly_0d3kq8zp1m0avw2xbycd"], description: "The failover pool, in order: a relay that fails hands its messages to the next" }),
  bounce_domain: z.string().meta({ example: "example.com", description: "Where bounces return (`Return-Path: bounce+…@<bounce_domain>`); the From domain unless set" }),
  dkim_selector: z.string().nullable().meta({ example: "pm" }),
  confirmed: z.boolean().meta({ description: "Whether the link in the confirmation message was followed; campaigns send only from confirmed senders" }),
  confirmed_at: z.string().nullable().meta({ format: "date-time" }),
  confirmation_sent_at: z.string().nullable().meta({ format: "date-time", description: "When a relay last took the confirmation message; null: none has yet (resend it)" }),
  checklist: ChecklistSchema,
  created_at: z.string().meta({ format: "date-time" }),
});
export type SenderView = z.infer<typeof SenderViewSchema>;

export function senderView(row: SenderRow): SenderView {
  return {
    id: row.id,
    from_email: row.fromEmail,
    from_name: row.fromName,
    reply_to: row.replyTo,
    relay_ids: JSON.parse(row.relayIds) as string[],
    bounce_domain: row.bounceDomain ?? domainOf(row.fromEmail),
    dkim_selector: row.dkimSelector,
    confirmed: row.confirmedAt !== null,
    confirmed_at: iso(row.confirmedAt),
    confirmation_sent_at: iso(row.confirmationSentAt),
    checklist: { items: row.checklist ? (JSON.parse(row.checklist) as SenderView["checklist"]["items"]) : [], checked_at: iso(row.checkedAt) },
    created_at: iso(row.createdAt)!,
  };
}

/** What became of a confirmation message: whether a relay took it, and what it said. */
export const ConfirmationOutcomeSchema = z.object({
  sent: z.boolean(),
  detail: z.string().meta({ example: "250 2.0.0 Ok: queued as 4Bx2Lk0Zq1" }),
});
export type ConfirmationOutcome = z.infer<typeof ConfirmationOutcomeSchema>;

export const SenderWithConfirmationSchema = SenderViewSchema.extend({
  confirmation: ConfirmationOutcomeSchema.meta({ description: "The confirmation message this request sent (or why none went: no probe online, or the relay refused it)" }),
});
export type SenderWithConfirmation = z.infer<typeof SenderWithConfirmationSchema>;
