// A campaign's snapshot: read here from the tables of edge/senders, edge/relays and
// edge/templates, and the account's rules from edge/rules, never written.
import { and, eq, inArray } from "drizzle-orm";
import type { Rules } from "../../core/rules.ts";
import { relays, senders, templates } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { rulesOf } from "../rules/rules.ts";
import type { CampaignRow } from "./views.ts";

/**
 * What a campaign sends with, frozen when sending begins (campaigns.snapshot), so an edit of the
 * sender or template meanwhile never changes a message half-way through a list. Relays are kept
 * by id in the sender's failover order; dispatch reads them fresh (a changed password applies).
 */
export interface Snapshot {
  sender: { from_email: string; from_name: string; reply_to: string | null };
  bounce_domain: string;
  relay_ids: string[];
  template: { subject: string; html: string; text: string | null };
  /**
   * The account's rules (core/rules.ts) when sending began: the audience is chosen by them, so a
   * change of the rules meanwhile never moves a list half-way through. Absent from snapshots taken
   * before the rules existed, which the default rules describe.
   */
  rules?: Rules;
}

export const parseSnapshot = (json: string): Snapshot => JSON.parse(json) as Snapshot;

type SnapshotRead = { ok: true; snapshot: Snapshot } | { ok: false; code: "sender_not_confirmed" | "conflict"; message: string };

/** The sender (confirmed), its relays that still exist, and the template, as one snapshot; or why not. */
export async function takeSnapshot(db: EdgeDb, campaign: Pick<CampaignRow, "accountId" | "senderId" | "templateId">): Promise<SnapshotRead> {
  const { accountId } = campaign;
  const [[sender], [template], rules] = await Promise.all([
    db.select().from(senders).where(and(eq(senders.id, campaign.senderId), eq(senders.accountId, accountId))),
    db.select().from(templates).where(and(eq(templates.id, campaign.templateId), eq(templates.accountId, accountId))),
    rulesOf(db, accountId),
  ]);
  if (!sender) return { ok: false, code: "conflict", message: `Sender ${campaign.senderId} was deleted` };
  if (!template) return { ok: false, code: "conflict", message: `Template ${campaign.templateId} was deleted` };
  if (sender.confirmedAt === null) {
    return { ok: false, code: "sender_not_confirmed", message: `Sender ${sender.id} (${sender.fromEmail}) is not confirmed yet: follow the link in its confirmation message` };
  }
  const wanted = JSON.parse(sender.relayIds) as string[];
  const found = wanted.length === 0 ? [] : await db.select({ id: relays.id }).from(relays).where(and(eq(relays.accountId, accountId), inArray(relays.id, wanted)));
  const relayIds = wanted.filter((id) => found.some((r) => r.id === id));
  if (relayIds.length === 0) return { ok: false, code: "conflict", message: `Sender ${sender.id} has no relay left to send through` };
  return {
    ok: true,
    snapshot: {
      sender: { from_email: sender.fromEmail, from_name: sender.fromName, reply_to: sender.replyTo },
      bounce_domain: sender.bounceDomain ?? sender.fromEmail.slice(sender.fromEmail.lastIndexOf("@") + 1).toLowerCase(),
      relay_ids: relayIds,
      template: { subject: template.subject, html: template.html, text: template.text },
      rules,
    },
  };
}
