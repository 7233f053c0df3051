// What a bounce does (issue 24, docs/decisions/010-bounces.md). One bounce of one address is a row
// of `bounces`, and everything that follows from it is written in the same atomic write as the row
// (and as the rest of its report): the suppression, the recipient and its campaign's counter, the
// soft-bounce score, the refund and its audit entry, the webhook event. Each bounce row gets a
// fresh id before the write, and every statement after its INSERT tests that this id exists: the
// INSERT does nothing for a dedupe key already applied (a report read twice, a bounce posted
// twice), and then neither does anything else of that bounce, so a suppression removed since is
// not put back and nothing is counted twice.
//
// The refund (the feedback loop): a hard bounce that says the mailbox does not exist
// (contradictsDeliverable: a 5.1.x address status, never a 5.7.x policy refusal) names the
// verification it contradicts: the row of the campaign's job when the bounce came back for a
// campaign, else the account's newest row for that address among its jobs of the last 30 days. It
// counts only if that row's verdict is `deliverable` and it was verified within the 30 days before
// the bounce. The bounce row claims the verification (refund_job_id, refund_normalized: the unique
// index bounces_refund), only if no bounce has, and the ledger's idempotency key
// `bounce_refund:{job}:{address}` is a second lock; so one verification refunds one credit
// whatever reports it, by IMAP or through the API, once or many times. A deleted job's rows refund
// nothing: its owner gave its results up (they are hidden at once and purged).
import type { InStatement, ResultSet } from "@libsql/client/web";
import { contradictsDeliverable } from "../../core/bounces.ts";
import type { BounceCategory, BounceKind, BounceSource } from "../../core/enums.ts";
import { newId } from "../../core/ids.ts";
import type { CampaignProgress } from "../../core/live.ts";
import { afterCommit } from "../aftercommit.ts";
import { auditStatementWhen } from "../audit/audit.ts";
import { recipientBouncedRead, recipientBouncedStatements } from "../campaigns/bounced.ts";
import type { Services } from "../context.ts";
import { computedMoveStatements } from "../credits/ledger.ts";
import { suppressStatements, type StatementCondition } from "../suppressions/suppressions.ts";

/** A verification older than this before its bounce is not refunded (the 30 days). */
export const REFUND_WINDOW_MS = 30 * 86_400_000;
/** A bounce not tied to a campaign looks for its verification in this many of the account's newest jobs at most. */
export const MAX_JOBS_SEARCHED = 1_000;
const DAY_MS = 86_400_000;

/** One bounce of one address, as read from a mailbox (edge/bounces/intake.ts) or posted (POST /api/v1/bounces). */
export interface BounceInput {
  /** The address's key: lower-case, A-label domain (as suppressions and job_emails.normalized). */
  email: string;
  kind: BounceKind;
  /** null for complaints. */
  category: BounceCategory | null;
  action: string | null;
  /** RFC 3463 x.y.z, normalised (core/bounces.ts normalizeStatus), or null. */
  status: string | null;
  diagnostic: string | null;
  remote_mta: string | null;
  source: BounceSource;
  /** The campaign and recipient it came back for, already checked to be the account's. */
  campaign_id: string | null;
  recipient_id: number | null;
  mailbox_id: string | null;
  dedupe_key: string;
  raw: string | null;
  raw_truncated: boolean;
  /** Unix ms. */
  occurred_at: number;
}

/** What the write did with one input. */
export interface AppliedBounce {
  dedupe_key: string;
  /** The row written now; null when the dedupe key had been applied before (nothing else happened either). */
  id: string | null;
  /** The job whose `deliverable` verdict this bounce contradicted, when a credit went back now. */
  refunded_job_id: string | null;
  /** The address went onto the suppression list now. */
  suppressed: boolean;
}

export interface BounceOutcome {
  applied: AppliedBounce[];
  /** Events were written: fan them out. */
  webhooks: boolean;
  /** The campaigns whose `bounced` count moved, as the write left them (their hubs are told). */
  campaigns: CampaignProgress[];
}

/** The statements of a batch of bounces, for the caller's one write, and how to read what they did. */
export interface BounceWrite {
  statements: InStatement[];
  read(results: ResultSet[]): BounceOutcome;
}

/** The verification a bounce contradicts, as read before the write. */
interface Verification {
  jobId: string;
  normalized: string;
  /** The MX it was verified at and the probe that asked: operators' accuracy per provider and probe. */
  mx: string | null;
  probeId: string | null;
}

const VERIFICATION_COLUMNS = "je.job_id, je.normalized, je.verdict, je.result, je.created_at, bt.probe_id";

/**
 * The verification a hard 5.1.x bounce contradicts, or null: the campaign's job row for the
 * address, else the newest row for it among the account's jobs created in the 30 days before the
 * bounce (at most MAX_JOBS_SEARCHED jobs, each looked up by the job_emails primary key); only
 * when it says `deliverable` and was verified within those 30 days.
 */
async function contradictedVerification(s: Pick<Services, "db">, accountId: string, b: BounceInput): Promise<Verification | null> {
  const from = b.occurred_at - REFUND_WINDOW_MS;
  const { rows } = b.campaign_id
    ? await s.db.$client.execute({
        sql: `SELECT ${VERIFICATION_COLUMNS}
              FROM campaigns c JOIN jobs j ON j.id = c.job_id AND j.account_id = c.account_id AND j.deleted_at IS NULL
              JOIN job_emails je ON je.job_id = j.id AND je.normalized = ?
              LEFT JOIN batches bt ON bt.id = je.batch_id
              WHERE c.id = ? AND c.account_id = ?`,
        args: [b.email, b.campaign_id, accountId],
      })
    : await s.db.$client.execute({
        sql: `SELECT ${VERIFICATION_COLUMNS}
              FROM job_emails je LEFT JOIN batches bt ON bt.id = je.batch_id
              WHERE je.normalized = ? AND je.job_id IN (
                SELECT id FROM jobs WHERE account_id = ? AND created_at >= ? AND created_at <= ? AND deleted_at IS NULL AND kind = 'verify'
                ORDER BY created_at DESC LIMIT ${MAX_JOBS_SEARCHED})
              ORDER BY je.created_at DESC LIMIT 1`,
        args: [b.email, accountId, from, b.occurred_at],
      });
  const row = rows[0];
  if (!row || row.verdict !== "deliverable") return null;
  const verifiedAt = Number(row.created_at);
  if (verifiedAt < from || verifiedAt > b.occurred_at) return null;
  let mx: string | null = null;
  try {
    const result = JSON.parse(String(row.result)) as { mx?: unknown };
    mx = typeof result.mx === "string" ? result.mx : null;
  } catch {
    // A result that is not JSON has no MX to tell; the refund does not depend on it.
  }
  return { jobId: String(row.job_id), normalized: String(row.normalized), mx, probeId: row.probe_id === null ? null : String(row.probe_id) };
}

/** Where one bounce's statements sit in the batch, to read what they did. */
interface Slots {
  insert: number;
  ledger: number | null;
  suppress: number | null;
  campaign: number | null;
  event: number;
}

const recipientEvent = (kind: BounceKind) => (kind === "complaint" ? "recipient.complained" : "recipient.bounced");

/**
 * The `recipient.bounced` / `recipient.complained` outbox row (core/samples.ts RecipientBounced),
 * its data made from the bounce row as this write left it (suppressed, refunded), written only if
 * the row was written now and only for an account with an enabled endpoint for the event. Its id
 * is the delivery key: each endpoint gets it once, retries included.
 */
function eventStatement(id: string, b: BounceInput, now: number): InStatement {
  const type = recipientEvent(b.kind);
  return {
    sql: `INSERT INTO webhook_events (id, account_id, type, subject_id, data, created_at)
          SELECT ?, b.account_id, ?, b.id, json_object(
            'bounce_id', b.id, 'email', b.email, 'kind', b.kind, 'category', b.category, 'status', b.status, 'diagnostic', b.diagnostic,
            'source', b.source, 'campaign_id', b.campaign_id, 'recipient_id', b.recipient_id,
            'suppressed', json(CASE WHEN EXISTS (SELECT 1 FROM suppressions s WHERE s.account_id = b.account_id AND s.email = b.email) THEN 'true' ELSE 'false' END),
            'refunded_job_id', b.refund_job_id, 'occurred_at', ?), ?
          FROM bounces b
          WHERE b.id = ? AND EXISTS (SELECT 1 FROM webhook_endpoints w, json_each(w.events) e WHERE w.account_id = b.account_id AND w.enabled = 1 AND e.value = ?)`,
    args: [newId("msg"), type, new Date(b.occurred_at).toISOString(), now, id, type],
  };
}

/**
 * The soft-bounce score (as mailing lists keep one): +0.5 at most once a UTC day of the bounce,
 * back to 0.5 after more than the account's soft_bounce_reset_days quiet days; then the address
 * is suppressed (reason `bounced`) when this bounce counted and the score reached the account's
 * soft_bounce_threshold. A bounce of a day already counted, or of an earlier day read late, counts nothing.
 */
function softStatements(accountId: string, b: BounceInput, written: StatementCondition, now: number): InStatement[] {
  const day = Math.floor(b.occurred_at / DAY_MS);
  return [
    {
      sql: `INSERT INTO soft_bounce_scores (account_id, email, score, last_day, updated_at)
            SELECT ?, ?, 0.5, ?, ? WHERE ${written.sql}
            ON CONFLICT (account_id, email) DO UPDATE SET
              score = CASE WHEN excluded.last_day - soft_bounce_scores.last_day > (SELECT soft_bounce_reset_days FROM accounts WHERE id = excluded.account_id) THEN 0.5
                           ELSE soft_bounce_scores.score + 0.5 END,
              last_day = excluded.last_day, updated_at = excluded.updated_at
            WHERE excluded.last_day > soft_bounce_scores.last_day`,
      args: [accountId, b.email, day, now, ...written.args],
    },
    ...suppressStatements(accountId, b.email, "bounced", { campaignId: b.campaign_id, source: "bounce" }, now, {
      sql: `changes() > 0 AND EXISTS (SELECT 1 FROM soft_bounce_scores s JOIN accounts a ON a.id = s.account_id WHERE s.account_id = ? AND s.email = ? AND s.score >= a.soft_bounce_threshold)`,
      args: [accountId, b.email],
    }),
  ];
}

/**
 * The refund of a contradicted verification: the bounce row claims it (only if no bounce has and
 * the job is still the account's and not deleted), then one credit back under the ledger's key
 * (with the cached balance, ./credits/ledger.ts), then the audit entry if the credit moved. Four
 * statements, in this order with nothing between them.
 */
function refundStatements(accountId: string, id: string, v: Verification, b: BounceInput, now: number, request: Services["request"] | null): InStatement[] {
  return [
    {
      sql: `UPDATE bounces SET refund_job_id = ?, refund_normalized = ?, verified_mx = ?, verified_probe_id = ?
            WHERE id = ?
              AND NOT EXISTS (SELECT 1 FROM bounces WHERE refund_job_id = ? AND refund_normalized = ?)
              AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND account_id = ? AND deleted_at IS NULL)`,
      args: [v.jobId, v.normalized, v.mx, v.probeId, id, v.jobId, v.normalized, v.jobId, accountId],
    },
    ...computedMoveStatements({
      sql: `SELECT account_id, 1, 'refund', 'bounce_refund', 'system', refund_job_id, 'bounce_refund:' || refund_job_id || ':' || refund_normalized, ?
            FROM bounces WHERE id = ? AND refund_job_id IS NOT NULL`,
      args: [now, id],
    }),
    auditStatementWhen(
      { accountId, actor: "system", action: "bounce.refunded", target: v.jobId, detail: { bounce_id: id, email: b.email, status: b.status, source: b.source } },
      request,
      now,
      "changes() = 1",
    ),
  ];
}

/**
 * The statements that apply these bounces in the caller's one write (with `guard`, a condition
 * the bounce rows are written under: the mailbox's assignment still held), and how to read what
 * they did. Reads before the write only to find the verifications hard bounces contradict.
 */
export async function applyBounces(s: Pick<Services, "db" | "request">, accountId: string, inputs: BounceInput[], now: number, guard?: StatementCondition): Promise<BounceWrite> {
  const verifications = await Promise.all(inputs.map((b) => (contradictsDeliverable(b.kind, b.status) ? contradictedVerification(s, accountId, b) : null)));
  const statements: InStatement[] = [];
  const slots: Slots[] = [];
  const ids: string[] = [];
  for (const [i, b] of inputs.entries()) {
    const id = newId("bnc");
    ids.push(id);
    const written: StatementCondition = { sql: "EXISTS (SELECT 1 FROM bounces WHERE id = ?)", args: [id] };
    const slot: Slots = { insert: statements.length, ledger: null, suppress: null, campaign: null, event: -1 };
    statements.push({
      sql: `INSERT INTO bounces (id, account_id, email, kind, category, action, status, diagnostic, remote_mta, source, campaign_id, recipient_id, mailbox_id, dedupe_key, raw, raw_truncated, occurred_at, created_at)
            SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${guard?.sql ?? "1"}
            ON CONFLICT (account_id, dedupe_key) DO NOTHING`,
      args: [
        id, accountId, b.email, b.kind, b.kind === "complaint" ? null : b.category, b.action, b.status, b.diagnostic, b.remote_mta, b.source,
        b.campaign_id, b.recipient_id, b.mailbox_id, b.dedupe_key, b.raw, b.raw_truncated ? 1 : 0, b.occurred_at, now, ...(guard?.args ?? []),
      ],
    });
    const v = verifications[i];
    if (v) {
      slot.ledger = statements.length + 1;
      statements.push(...refundStatements(accountId, id, v, b, now, s.request));
    }
    if (b.kind === "hard" || b.kind === "complaint") {
      slot.suppress = statements.length;
      statements.push(...suppressStatements(accountId, b.email, b.kind === "complaint" ? "complained" : "bounced", { campaignId: b.campaign_id, source: "bounce" }, now, written));
      if (b.campaign_id && b.recipient_id !== null) {
        slot.campaign = statements.length;
        statements.push(...recipientBouncedStatements(b.campaign_id, b.recipient_id, b.kind, b.occurred_at, now, written));
      }
    } else if (b.kind === "soft") {
      slot.suppress = statements.length + 1;
      statements.push(...softStatements(accountId, b, written, now));
    }
    slot.event = statements.length;
    statements.push(eventStatement(id, b, now));
    slots.push(slot);
  }
  return {
    statements,
    read(results) {
      const campaigns = new Map<string, CampaignProgress>();
      let webhooks = false;
      const applied = inputs.map((b, i): AppliedBounce => {
        const slot = slots[i]!;
        const inserted = results[slot.insert]!.rowsAffected > 0;
        const refunded = slot.ledger !== null && results[slot.ledger]!.rowsAffected > 0;
        if (slot.campaign !== null) {
          const progress = recipientBouncedRead(results.slice(slot.campaign, slot.campaign + 3));
          // A later read in the same write is the newer one.
          if (progress) campaigns.set(progress.id, progress);
        }
        if (results[slot.event]!.rowsAffected > 0) webhooks = true;
        return {
          dedupe_key: b.dedupe_key,
          id: inserted ? ids[i]! : null,
          refunded_job_id: refunded ? verifications[i]!.jobId : null,
          suppressed: slot.suppress !== null && results[slot.suppress]!.rowsAffected > 0,
        };
      });
      return { applied, webhooks, campaigns: [...campaigns.values()] };
    },
  };
}

/** What follows a committed write of bounces: its events fanned out, its campaigns' hubs told. */
export function afterBounces(s: Services, outcome: BounceOutcome): void {
  if (outcome.webhooks) afterCommit(s, { webhooks: true });
  for (const campaign of outcome.campaigns) afterCommit(s, { campaign });
}
