// An account's bounces for its people and keys (issue 24): report one from any source (a
// provider's webhook forwarded by the customer's code, a manual report), list and read them, and
// the soft-bounce settings. Acts for someone: `(services, who, input)`; every read and write is
// scoped by who.accountId, and another account's id is "not found". A posted bounce goes through
// the same apply step as a mailbox's (./apply.ts), so IMAP and the API reporting one bounce
// refund once.
import { and, desc, eq } from "drizzle-orm";
import { normalizeStatus, statusCategory } from "../../core/bounces.ts";
import type { BounceKind } from "../../core/enums.ts";
import type { Result } from "../../core/contracts.ts";
import { accounts, bounces, campaigns, jobEmails, jobs } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { suppressionKey } from "../suppressions/suppressions.ts";
import { afterBounces, applyBounces, type BounceInput } from "./apply.ts";
import { bounceView, type BounceDetail, type BounceRow, type BounceSettings, type BounceVerification, type BounceView } from "./views.ts";

/** The kinds a bounce may be reported as (an unclassified one is only what a mailbox could not read). */
export const REPORTED_KINDS = ["hard", "soft", "complaint"] as const satisfies readonly BounceKind[];
export type ReportedKind = (typeof REPORTED_KINDS)[number];
export const MAX_BOUNCE_DIAGNOSTIC = 1_000;
/** A bounce dated further ahead of our clock than this is refused: a clock or a unit is wrong. */
export const MAX_BOUNCE_FUTURE_MS = 86_400_000;

export interface NewBounce {
  email: string;
  kind: ReportedKind;
  /** RFC 3463 x.y.z. */
  status?: string | null | undefined;
  diagnostic?: string | null | undefined;
  campaign_id?: string | null | undefined;
  /** ISO 8601. */
  occurred_at: string;
}

const invalid = (message: string) => new ServiceError("validation_failed", message);

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function ownBounce(s: Pick<Services, "db">, who: Who, where: { id: string } | { dedupeKey: string }): Promise<BounceRow | undefined> {
  const [row] = await s.db
    .select()
    .from(bounces)
    .where(and(eq(bounces.accountId, who.accountId), "id" in where ? eq(bounces.id, where.id) : eq(bounces.dedupeKey, where.dedupeKey)));
  return row;
}

/**
 * Stores a bounce from outside and applies it as a mailbox's would be: a hard bounce or a
 * complaint suppresses the address, a soft one scores, a hard 5.1.x one refunds a contradicted
 * `deliverable` verdict. Its dedupe key is the Idempotency-Key when given, else a hash of (email,
 * kind, status, campaign, occurred_at): the same bounce posted again is the same row (`created`
 * false) and does nothing more; a key reused for another bounce is a `conflict`.
 */
export async function reportBounce(s: Services, who: Who, input: NewBounce, opts: { idempotencyKey?: string | undefined } = {}, now = Date.now()): Promise<{ bounce: BounceView; created: boolean }> {
  const email = suppressionKey(input.email);
  if (!email) throw invalid(`email: "${input.email.slice(0, 100)}" is not an address`);
  if (!REPORTED_KINDS.includes(input.kind)) throw invalid(`kind: one of ${REPORTED_KINDS.join(", ")}`);
  const given = input.status?.trim() || null;
  const status = normalizeStatus(given);
  if (given !== null && status === null) throw invalid("status: an RFC 3463 enhanced status such as 5.1.1");
  const diagnostic = input.diagnostic?.trim() || null;
  if (diagnostic !== null && diagnostic.length > MAX_BOUNCE_DIAGNOSTIC) throw invalid(`diagnostic: at most ${MAX_BOUNCE_DIAGNOSTIC} characters`);
  const occurredAt = Date.parse(input.occurred_at);
  if (!Number.isFinite(occurredAt)) throw invalid("occurred_at: an ISO 8601 date and time");
  if (occurredAt > now + MAX_BOUNCE_FUTURE_MS) throw invalid("occurred_at: in the future");

  const campaignId = input.campaign_id ?? null;
  let recipientId: number | null = null;
  if (campaignId !== null) {
    const { rows } = await s.db.$client.execute({
      sql: `SELECT c.id, (SELECT r.id FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.normalized = ?) AS recipient_id
            FROM campaigns c WHERE c.id = ? AND c.account_id = ?`,
      args: [email, campaignId, who.accountId],
    });
    if (!rows[0]) throw new ServiceError("not_found", `No campaign ${campaignId}`);
    recipientId = rows[0].recipient_id === null ? null : Number(rows[0].recipient_id);
  }

  const dedupeKey = opts.idempotencyKey
    ? `api:key:${opts.idempotencyKey}`
    : `api:${await sha256Hex([email, input.kind, status ?? "", campaignId ?? "", String(occurredAt)].join("|"))}`;
  const bounce: BounceInput = {
    email, kind: input.kind, category: input.kind === "complaint" ? null : statusCategory(status), action: null, status, diagnostic, remote_mta: null, source: "api",
    campaign_id: campaignId, recipient_id: recipientId, mailbox_id: null, dedupe_key: dedupeKey, raw: null, raw_truncated: false, occurred_at: occurredAt,
  };
  const write = await applyBounces(s, who.accountId, [bounce], now);
  const outcome = write.read(await s.db.$client.batch(write.statements, "write"));
  afterBounces(s, outcome);
  const stored = await ownBounce(s, who, { dedupeKey });
  if (!stored) throw new ServiceError("not_found", "The bounce is gone"); // its account was deleted meanwhile
  const created = outcome.applied[0]!.id !== null;
  const same = stored.email === email && stored.kind === input.kind && stored.status === status && stored.campaignId === campaignId && stored.occurredAt === occurredAt;
  if (!created && !same) throw new ServiceError("conflict", "This Idempotency-Key was used for another bounce");
  return { bounce: bounceView(stored), created };
}

export interface BounceQuery {
  limit: number;
  cursor?: string | undefined;
  email?: string | undefined;
  campaign_id?: string | undefined;
  kind?: BounceKind | undefined;
}

/** Newest first (stored time), by cursor; filtered by address (compared as its key), campaign or kind. */
export async function listBounces(s: Services, who: Who, q: BounceQuery) {
  const after = decodeCursor(q.cursor, /bnc_\w+/);
  const rows = await s.db
    .select()
    .from(bounces)
    .where(
      and(
        eq(bounces.accountId, who.accountId),
        q.email !== undefined ? eq(bounces.email, suppressionKey(q.email) ?? q.email.trim().toLowerCase()) : undefined,
        q.campaign_id !== undefined ? eq(bounces.campaignId, q.campaign_id) : undefined,
        q.kind !== undefined ? eq(bounces.kind, q.kind) : undefined,
        afterCursor(bounces.createdAt, bounces.id, after),
      ),
    )
    .orderBy(desc(bounces.createdAt), desc(bounces.id))
    .limit(q.limit + 1);
  return toPage(rows, q.limit, bounceView);
}

/**
 * The address's verification beside its bounce: the job row it contradicted, else the row of the
 * campaign's job; null when there is none or the job was deleted.
 */
async function verificationOf(s: Services, who: Who, row: BounceRow): Promise<BounceVerification | null> {
  let jobId = row.refundJobId;
  let normalized = row.refundNormalized ?? row.email;
  if (jobId === null && row.campaignId !== null) {
    const [campaign] = await s.db.select({ jobId: campaigns.jobId }).from(campaigns).where(and(eq(campaigns.id, row.campaignId), eq(campaigns.accountId, who.accountId)));
    jobId = campaign?.jobId ?? null;
    normalized = row.email;
  }
  if (jobId === null) return null;
  const [found] = await s.db
    .select({ jobId: jobEmails.jobId, verdict: jobEmails.verdict, reason: jobEmails.reason, result: jobEmails.result, createdAt: jobEmails.createdAt, deletedAt: jobs.deletedAt })
    .from(jobEmails)
    .innerJoin(jobs, eq(jobs.id, jobEmails.jobId))
    .where(and(eq(jobEmails.jobId, jobId), eq(jobEmails.normalized, normalized), eq(jobs.accountId, who.accountId)));
  if (!found || found.deletedAt !== null) return null;
  const result = JSON.parse(found.result) as Partial<Result>;
  return { job_id: found.jobId, verdict: found.verdict, reason: found.reason, mx: result.mx ?? null, smtp: result.smtp ?? null, verified_at: new Date(found.createdAt).toISOString() };
}

/** One bounce with the message as read and the address's verification. */
export async function getBounce(s: Services, who: Who, id: string): Promise<BounceDetail> {
  const row = await ownBounce(s, who, { id });
  if (!row) throw new ServiceError("not_found", `No bounce ${id}`);
  return { ...bounceView(row), raw: row.raw, raw_truncated: row.rawTruncated, verification: await verificationOf(s, who, row) };
}

/** Scores grow by 0.5, so a threshold is a multiple of it. */
export const SOFT_THRESHOLD = { min: 0.5, max: 100 } as const;
export const SOFT_RESET_DAYS = { min: 1, max: 365 } as const;

export async function getBounceSettings(s: Services, who: Who): Promise<BounceSettings> {
  const [row] = await s.db.select({ soft_threshold: accounts.softBounceThreshold, soft_reset_days: accounts.softBounceResetDays }).from(accounts).where(eq(accounts.id, who.accountId));
  if (!row) throw new ServiceError("not_found", "No such account");
  return row;
}

/** Changes the soft-bounce settings (either or both); audited with what they were. */
export async function updateBounceSettings(s: Services, who: Who, input: Partial<BounceSettings>, now = Date.now()): Promise<BounceSettings> {
  const { soft_threshold: threshold, soft_reset_days: days } = input;
  if (threshold === undefined && days === undefined) throw invalid("Give soft_threshold, soft_reset_days or both");
  if (threshold !== undefined && !(threshold >= SOFT_THRESHOLD.min && threshold <= SOFT_THRESHOLD.max && Number.isInteger(threshold * 2))) {
    throw invalid(`soft_threshold: ${SOFT_THRESHOLD.min} to ${SOFT_THRESHOLD.max} in steps of 0.5`);
  }
  if (days !== undefined && !(Number.isInteger(days) && days >= SOFT_RESET_DAYS.min && days <= SOFT_RESET_DAYS.max)) {
    throw invalid(`soft_reset_days: a whole number from ${SOFT_RESET_DAYS.min} to ${SOFT_RESET_DAYS.max}`);
  }
  const before = await getBounceSettings(s, who);
  const [after] = await s.db
    .update(accounts)
    .set({ ...(threshold !== undefined ? { softBounceThreshold: threshold } : {}), ...(days !== undefined ? { softBounceResetDays: days } : {}) })
    .where(eq(accounts.id, who.accountId))
    .returning({ soft_threshold: accounts.softBounceThreshold, soft_reset_days: accounts.softBounceResetDays });
  if (!after) throw new ServiceError("not_found", "No such account");
  await recordAudit(s, who, { action: "bounce_settings.updated", target: who.accountId, detail: { before, after } }, now);
  return after;
}
