// A campaign for its owner: make a draft, read one, list them and their recipients, and move it
// through its lifecycle (start, pause, resume, cancel). Acts for someone: `(services, who, input)`;
// every read and write is scoped by who.accountId, and another account's id is "not found". The
// senders, relays and templates a campaign names are read here, never written (edge/senders,
// edge/relays, edge/templates own them).
import { and, asc, desc, eq, gt } from "drizzle-orm";
import { CONSENT_BASES, type ConsentBasis, type RecipientStatus } from "../../core/enums.ts";
import { newId } from "../../core/ids.ts";
import { campaignRecipients, campaigns, jobEmails, jobs, senders, templates } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { afterCommit } from "../aftercommit.ts";
import { recordAudit, type AuditAction } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { requireResults } from "../jobs/expiry.ts";
import { writeParts } from "../jobs/lifecycle.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { cancel, pause, resume, start, type Transition } from "./lifecycle.ts";
import { takeSnapshot } from "./snapshot.ts";
import { campaignView, recipientView, type CampaignRow, type CampaignView, type RecipientView } from "./views.ts";

export const MAX_CONSENT_SOURCE = 500;
export const MAX_RATE_PER_HOUR = 1_000_000;

export interface NewCampaign {
  name: string;
  job_id: string;
  sender_id: string;
  template_id: string;
  include_risky?: boolean | undefined;
  /** ISO 8601; null or absent: as soon as started. */
  send_at?: string | null | undefined;
  rate_per_hour?: number | null | undefined;
  consent: { basis: ConsentBasis; source: string };
}

/** The snapshot, or the ServiceError a person starting the campaign should see. */
async function snapshotFor(s: Services, campaign: CampaignRow): Promise<string> {
  const read = await takeSnapshot(s.db, campaign);
  if (!read.ok) throw new ServiceError(read.code, read.message);
  return JSON.stringify(read.snapshot);
}

async function ownRow(db: EdgeDb, table: typeof senders | typeof templates, id: string, accountId: string): Promise<boolean> {
  const [row] = await db.select({ id: table.id }).from(table).where(and(eq(table.id, id), eq(table.accountId, accountId)));
  return row !== undefined;
}

/** A draft: nothing is sent until it starts. The consent statement is audited with who made it. */
export async function createCampaign(s: Services, who: Who, input: NewCampaign, now = Date.now()): Promise<CampaignView> {
  const { accountId } = who;
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new ServiceError("validation_failed", "name: 1 to 200 characters");
  const source = input.consent?.source?.trim() ?? "";
  if (!input.consent || !CONSENT_BASES.includes(input.consent.basis)) throw new ServiceError("validation_failed", `consent.basis: one of ${CONSENT_BASES.join(", ")}`);
  if (source.length === 0 || source.length > MAX_CONSENT_SOURCE) throw new ServiceError("validation_failed", `consent.source: where the list came from, 1 to ${MAX_CONSENT_SOURCE} characters`);
  const sendAt = input.send_at ? Date.parse(input.send_at) : null;
  if (sendAt !== null && !Number.isFinite(sendAt)) throw new ServiceError("validation_failed", "send_at: an ISO 8601 date and time");
  const rate = input.rate_per_hour ?? null;
  if (rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE_PER_HOUR)) throw new ServiceError("validation_failed", `rate_per_hour: a whole number from 1 to ${MAX_RATE_PER_HOUR}`);

  const [job] = await s.db.select().from(jobs).where(and(eq(jobs.id, input.job_id), eq(jobs.accountId, accountId)));
  if (!job || job.deletedAt !== null) throw new ServiceError("not_found", `No job ${input.job_id}`);
  if (job.kind !== "verify") throw new ServiceError("validation_failed", `job_id: ${job.id} is a find job; a campaign sends to a verified list`);
  if (job.status === "failed" || job.status === "canceled") throw new ServiceError("conflict", `Job ${job.id} is ${job.status}: it has no verified list to send to`);
  requireResults(job);
  if (!(await ownRow(s.db, senders, input.sender_id, accountId))) throw new ServiceError("not_found", `No sender ${input.sender_id}`);
  if (!(await ownRow(s.db, templates, input.template_id, accountId))) throw new ServiceError("not_found", `No template ${input.template_id}`);

  const id = newId("cmp");
  const consent = { basis: input.consent.basis, source };
  await s.db.insert(campaigns).values({
    id,
    accountId,
    name,
    jobId: job.id,
    senderId: input.sender_id,
    templateId: input.template_id,
    includeRisky: input.include_risky ?? false,
    sendAt,
    ratePerHour: rate,
    status: "draft",
    consentBasis: consent.basis,
    consentSource: consent.source,
    createdBy: who.actor,
    createdAt: now,
    updatedAt: now,
  });
  await recordAudit(s, who, { action: "campaign.created", target: id, detail: { name, job_id: job.id, consent } }, now);
  return campaignView(await campaignRow(s, who, id));
}

/** The account's campaign, or not_found (another account's too: ids are never confirmed across tenants). */
export async function campaignRow(s: Pick<Services, "db">, who: Who, id: string): Promise<CampaignRow> {
  const [row] = await s.db.select().from(campaigns).where(and(eq(campaigns.id, id), eq(campaigns.accountId, who.accountId)));
  if (!row) throw new ServiceError("not_found", `No campaign ${id}`);
  return row;
}

export async function getCampaign(s: Services, who: Who, id: string): Promise<CampaignView> {
  return campaignView(await campaignRow(s, who, id));
}

/** Newest first; the cursor is the last campaign's `created_at` and id. */
export async function listCampaigns(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /cmp_\w+/);
  const rows = await s.db
    .select()
    .from(campaigns)
    .where(and(eq(campaigns.accountId, who.accountId), afterCursor(campaigns.createdAt, campaigns.id, after)))
    .orderBy(desc(campaigns.createdAt), desc(campaigns.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, campaignView);
}

/**
 * A campaign's recipients in list order (by id), optionally of one status, each with its address's
 * verification verdict from the job; the cursor is the last recipient's id.
 */
export async function listRecipients(
  s: Services,
  who: Who,
  q: { campaignId: string; status?: RecipientStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<{ data: RecipientView[]; next_cursor: string | null }> {
  const campaign = await campaignRow(s, who, q.campaignId);
  if (q.cursor !== undefined && !/^\d{1,15}$/.test(q.cursor)) throw new ServiceError("validation_failed", "cursor: not a cursor from this API");
  const rows = await s.db
    .select({
      id: campaignRecipients.id,
      email: campaignRecipients.email,
      status: campaignRecipients.status,
      relayId: campaignRecipients.relayId,
      queueId: campaignRecipients.queueId,
      reply: campaignRecipients.reply,
      bounceKind: campaignRecipients.bounceKind,
      bouncedAt: campaignRecipients.bouncedAt,
      updatedAt: campaignRecipients.updatedAt,
      verdict: jobEmails.verdict,
      reason: jobEmails.reason,
    })
    .from(campaignRecipients)
    .leftJoin(jobEmails, and(eq(jobEmails.jobId, campaign.jobId), eq(jobEmails.normalized, campaignRecipients.normalized)))
    .where(
      and(
        eq(campaignRecipients.campaignId, campaign.id),
        q.status ? eq(campaignRecipients.status, q.status) : undefined,
        q.cursor ? gt(campaignRecipients.id, Number(q.cursor)) : undefined,
      ),
    )
    .orderBy(asc(campaignRecipients.id))
    .limit(q.limit + 1);
  const shown = rows.slice(0, q.limit);
  return { data: shown.map(recipientView), next_cursor: rows.length > q.limit ? String(shown.at(-1)!.id) : null };
}

/** Runs a transition of the account's campaign; when it did not move, the campaign changed meanwhile. */
async function transition(s: Services, who: Who, row: CampaignRow, t: Transition, action: AuditAction, detail?: Record<string, unknown>): Promise<CampaignView> {
  const [results] = await writeParts(s.db, [t.statements]);
  const { moved, effects } = t.read(results);
  const after = await campaignRow(s, who, row.id);
  if (!moved) throw new ServiceError("conflict", `Campaign ${row.id} is ${after.status}`);
  await recordAudit(s, who, { action, target: row.id, ...(detail ? { detail } : {}) });
  afterCommit(s, effects);
  return campaignView(after);
}

/**
 * draft → verifying (its job still runs), scheduled (send_at is ahead) or sending. The sender must
 * be confirmed (`sender_not_confirmed`), and its job neither failed, canceled nor deleted.
 */
export async function startCampaign(s: Services, who: Who, id: string, now = Date.now()): Promise<CampaignView> {
  const row = await campaignRow(s, who, id);
  if (row.status !== "draft") throw new ServiceError("conflict", `Campaign ${id} is ${row.status}; only a draft starts`);
  const [job] = await s.db.select().from(jobs).where(and(eq(jobs.id, row.jobId), eq(jobs.accountId, who.accountId)));
  if (!job || job.deletedAt !== null) throw new ServiceError("conflict", `Job ${row.jobId} was deleted: the campaign has no list to send to`);
  if (job.status === "failed" || job.status === "canceled") throw new ServiceError("conflict", `Job ${job.id} is ${job.status}: it has no verified list to send to`);
  requireResults(job);
  const snapshot = await snapshotFor(s, row);
  return transition(s, who, row, start(id, who.accountId, snapshot, now), "campaign.started");
}

/** verifying | scheduled | sending → paused; pausing a paused campaign changes nothing. */
export async function pauseCampaign(s: Services, who: Who, id: string, now = Date.now()): Promise<CampaignView> {
  const row = await campaignRow(s, who, id);
  if (row.status === "paused") return campaignView(row);
  if (!["verifying", "scheduled", "sending"].includes(row.status)) throw new ServiceError("conflict", `Campaign ${id} is ${row.status}; only a verifying, scheduled or sending one pauses`);
  return transition(s, who, row, pause(id, `paused by ${who.actor}`, now), "campaign.paused");
}

/** paused → sending (or, never begun, where start would send it); the sender must still be confirmed to begin. */
export async function resumeCampaign(s: Services, who: Who, id: string, now = Date.now()): Promise<CampaignView> {
  const row = await campaignRow(s, who, id);
  if (row.status !== "paused") throw new ServiceError("conflict", `Campaign ${id} is ${row.status}; only a paused one resumes`);
  const snapshot = row.startedAt === null ? await snapshotFor(s, row) : null;
  return transition(s, who, row, resume(id, snapshot, now), "campaign.resumed", { reason_was: row.statusReason });
}

/** Any open campaign → canceled: nothing more is sent; what a probe already claimed keeps its outcome. */
export async function cancelCampaign(s: Services, who: Who, id: string, now = Date.now()): Promise<CampaignView> {
  const row = await campaignRow(s, who, id);
  if (row.status === "canceled") return campaignView(row);
  if (row.status === "completed" || row.status === "failed") throw new ServiceError("conflict", `Campaign ${id} is ${row.status}`);
  return transition(s, who, row, cancel(id, who.accountId, now), "campaign.canceled");
}
