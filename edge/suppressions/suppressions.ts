// The account's suppression list (issue 23): addresses no campaign of the account sends to. An
// address is on it once, under its normalised key (job_emails.normalized, so a campaign's claim
// compares like with like), and keeps the first reason it got: a later bounce does not turn an
// unsubscribe into a bounce, and a manual entry does not hide why an address left. Other
// capabilities put addresses on it inside their own writes (suppressStatements); people and keys
// list, add, remove, import and export it here. An erased address (issue 25) stays on it as its
// tombstone (core/tombstone.ts: `sha256:…`), which SQL cannot compute: wherever an address comes
// back in clear (added, imported, looked up, or in a list a campaign is about to send to), its
// tombstone is turned back into the clear entry (revealStatements), first reason kept, so a
// tombstone suppresses exactly as the entry it replaced.
import type { InStatement, InValue } from "@libsql/client/web";
import { and, asc, desc, eq, gt, inArray } from "drizzle-orm";
import { cleanAddress, parseAddress } from "../../core/address.ts";
import { csvRow } from "../../core/csvexport.ts";
import type { SuppressionReason } from "../../core/enums.ts";
import { tombstoneOf } from "../../core/tombstone.ts";
import { suppressions } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";

type SuppressionRow = typeof suppressions.$inferSelect;

export interface SuppressionView {
  email: string;
  reason: SuppressionReason;
  campaign_id: string | null;
  source: string;
  created_at: string;
}

export const suppressionView = (r: SuppressionRow): SuppressionView => ({
  email: r.email,
  reason: r.reason,
  campaign_id: r.campaignId,
  source: r.source,
  created_at: new Date(r.createdAt).toISOString(),
});

/** Where an entry came from: the campaign whose message led here, and who or what added it. */
export interface SuppressionOrigin {
  campaignId?: string | null | undefined;
  /** A user or key id, "recipient" (one-click unsubscribe), "import", "bounce" (edge/bounces). */
  source: string;
}

/** A condition of the caller's batch (SQL with its own args), e.g. "the bounce row was written now". */
export interface StatementCondition {
  sql: string;
  args: InValue[];
}

/**
 * The statements that put a normalised address on the account's list, for a caller's own batch
 * (an unsubscribe, a bounce). An address already there keeps its first entry (ON CONFLICT DO
 * NOTHING), so the statement changes one row or none. With `when`, only if that condition holds
 * as the statement runs (a repeated bounce suppresses nothing, so a removal since is kept).
 */
export function suppressStatements(accountId: string, email: string, reason: SuppressionReason, origin: SuppressionOrigin, now: number, when?: StatementCondition): InStatement[] {
  return [
    {
      // SELECT … WHERE, not VALUES, so the condition can apply; the WHERE also keeps the upsert unambiguous.
      sql: `INSERT INTO suppressions (account_id, email, reason, campaign_id, source, created_at) SELECT ?, ?, ?, ?, ?, ? WHERE ${when?.sql ?? "1"} ON CONFLICT DO NOTHING`,
      args: [accountId, email, reason, origin.campaignId ?? null, origin.source, now, ...(when?.args ?? [])],
    },
  ];
}

/**
 * Erasure's part (issue 25): the address's entry becomes its tombstone, reason, campaign, source
 * and date kept (a tombstone already there wins), so campaigns keep skipping it. The last
 * statement reads whether the address is suppressed (by its tombstone) after them.
 */
export function tombstoneStatements(accountId: string, email: string, tombstone: string): InStatement[] {
  return [
    {
      sql: `INSERT INTO suppressions (account_id, email, reason, campaign_id, source, created_at)
            SELECT account_id, ?3, reason, campaign_id, source, created_at FROM suppressions WHERE account_id = ?1 AND email = ?2 ON CONFLICT DO NOTHING`,
      args: [accountId, email, tombstone],
    },
    { sql: "DELETE FROM suppressions WHERE account_id = ? AND email = ?", args: [accountId, email] },
    { sql: "SELECT EXISTS (SELECT 1 FROM suppressions WHERE account_id = ? AND email = ?) AS suppressed", args: [accountId, tombstone] },
  ];
}

/**
 * The addresses' tombstones back in clear ([address, tombstone] pairs): the address is in the
 * customer's data again, so it is suppressed under its own key, with the tombstone's reason and date.
 */
export function revealStatements(accountId: string, pairs: readonly (readonly [string, string])[]): InStatement[] {
  const json = JSON.stringify(pairs);
  return [
    {
      // `WHERE true` tells SQLite's parser that ON CONFLICT is the upsert's, not a join's.
      sql: `INSERT INTO suppressions (account_id, email, reason, campaign_id, source, created_at)
            SELECT x.account_id, p.value ->> 0, x.reason, x.campaign_id, x.source, x.created_at
            FROM json_each(?2) p JOIN suppressions x ON x.account_id = ?1 AND x.email = p.value ->> 1 WHERE true
            ON CONFLICT DO NOTHING`,
      args: [accountId, json],
    },
    { sql: "DELETE FROM suppressions WHERE account_id = ?1 AND email IN (SELECT p.value ->> 1 FROM json_each(?2) p)", args: [accountId, json] },
  ];
}

/** Whether the account holds any tombstone (rare: only after an erasure of a suppressed address). One index seek. */
export async function hasTombstones(db: EdgeDb, accountId: string): Promise<boolean> {
  // Tombstones sort between "sha256:" and "sha256;" (';' follows ':'), a range of the primary key.
  const { rows } = await db.$client.execute({ sql: "SELECT 1 FROM suppressions WHERE account_id = ? AND email >= 'sha256:' AND email < 'sha256;' LIMIT 1", args: [accountId] });
  return rows.length > 0;
}

/** [address, tombstone] pairs of these addresses. */
export const withTombstones = async (emails: readonly string[]): Promise<[string, string][]> => Promise.all(emails.map(async (e): Promise<[string, string]> => [e, await tombstoneOf(e)]));

/**
 * The audience's pre-step (edge/campaigns/audience.ts): before a step turns job rows `after`…
 * into recipients, the tombstones of those rows' addresses come back in clear, so the step's
 * suppression check (suppressions.email = job_emails.normalized) sees them. Nothing to do, and one
 * index seek, for an account without tombstones.
 */
export async function revealJobRows(db: EdgeDb, accountId: string, jobId: string, after: number, rows: number): Promise<number> {
  if (!(await hasTombstones(db, accountId))) return 0;
  const read = await db.$client.execute({ sql: "SELECT normalized FROM job_emails WHERE job_id = ? AND row_index > ? ORDER BY row_index LIMIT ?", args: [jobId, after, rows] });
  const pairs = await withTombstones(read.rows.map((r) => String(r.normalized)));
  if (pairs.length === 0) return 0;
  const [revealed] = await db.$client.batch(revealStatements(accountId, pairs), "write");
  return revealed!.rowsAffected;
}

/** The list's key of an address as a person typed it (invisible characters dropped, lower-case, A-label domain), or null when it is no address. */
export function suppressionKey(input: string): string | null {
  const parsed = parseAddress(cleanAddress(input));
  return parsed.ok ? parsed.normalized : null;
}

function requireKey(input: string): string {
  const key = suppressionKey(input);
  if (!key) throw new ServiceError("validation_failed", `email: "${input.slice(0, 100)}" is not an address`);
  return key;
}

/** A stored key looked up as asked: normalised when it is an address, else as typed (lower-case). */
const lookupKey = (input: string) => suppressionKey(input) ?? cleanAddress(input).toLowerCase();

export interface SuppressionQuery {
  limit: number;
  cursor?: string | undefined;
  reason?: SuppressionReason | undefined;
  /** One address: its entry or none. */
  email?: string | undefined;
}

/** Newest first, by cursor; `reason` keeps one reason, `email` looks one address up. */
export async function listSuppressions(s: Services, who: Who, q: SuppressionQuery) {
  const after = decodeCursor(q.cursor, /.+/);
  const rows = await s.db
    .select()
    .from(suppressions)
    .where(
      and(
        eq(suppressions.accountId, who.accountId),
        q.reason ? eq(suppressions.reason, q.reason) : undefined,
        q.email !== undefined ? inArray(suppressions.email, [lookupKey(q.email), await tombstoneOf(lookupKey(q.email))]) : undefined,
        afterCursor(suppressions.createdAt, suppressions.email, after),
      ),
    )
    .orderBy(desc(suppressions.createdAt), desc(suppressions.email))
    .limit(q.limit + 1);
  return toPage(
    rows.map((r) => ({ ...r, id: r.email })),
    q.limit,
    suppressionView,
  );
}

/** Adds one address (its first entry stays when it is already there, as itself or as its tombstone); `created` says which. */
export async function addSuppression(s: Services, who: Who, input: { email: string; reason?: SuppressionReason | undefined }, now = Date.now()): Promise<{ suppression: SuppressionView; created: boolean }> {
  const email = requireKey(input.email);
  const reason = input.reason ?? "manual";
  // The entry is read in the same write, so the answer is the row as it stands after it.
  const [, , written, read] = await s.db.$client.batch(
    [
      ...revealStatements(who.accountId, [[email, await tombstoneOf(email)]]),
      ...suppressStatements(who.accountId, email, reason, { source: who.actor }, now),
      { sql: "SELECT email, reason, campaign_id, source, created_at FROM suppressions WHERE account_id = ? AND email = ?", args: [who.accountId, email] },
    ],
    "write",
  );
  const created = written!.rowsAffected > 0;
  if (created) await recordAudit(s, who, { action: "suppression.added", target: email, detail: { reason } }, now);
  const row = read!.rows[0]!;
  return {
    suppression: suppressionView({ accountId: who.accountId, email: String(row.email), reason: row.reason as SuppressionReason, campaignId: row.campaign_id === null ? null : String(row.campaign_id), source: String(row.source), createdAt: Number(row.created_at) }),
    created,
  };
}

/** Takes an address off the list (its tombstone too): campaigns may send to it again. */
export async function removeSuppression(s: Services, who: Who, input: { email: string }, now = Date.now()): Promise<void> {
  const email = lookupKey(input.email);
  const removed = await s.db.$client.execute({
    sql: "DELETE FROM suppressions WHERE account_id = ? AND email IN (?, ?) RETURNING reason, campaign_id",
    args: [who.accountId, email, await tombstoneOf(email)],
  });
  const row = removed.rows[0];
  if (!row) throw new ServiceError("not_found", `${email.slice(0, 100)} is not on the suppression list`);
  await recordAudit(s, who, { action: "suppression.removed", target: email, detail: { reason: row.reason, campaign_id: row.campaign_id } }, now);
}

export const EXPORT_COLUMNS = ["email", "reason", "campaign_id", "source", "created_at"] as const;
const EXPORT_PAGE = 1_000;

/** The whole list as CSV in address order, streamed a page at a time, safe against formula injection (core/csvexport.ts). */
export function exportSuppressions(s: Services, who: Who): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let last: string | null = null;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let out = started ? "" : csvRow([...EXPORT_COLUMNS]);
      started = true;
      const rows = await s.db
        .select()
        .from(suppressions)
        .where(and(eq(suppressions.accountId, who.accountId), last === null ? undefined : gt(suppressions.email, last)))
        .orderBy(asc(suppressions.email))
        .limit(EXPORT_PAGE);
      for (const r of rows) {
        const v = suppressionView(r);
        out += csvRow([v.email, v.reason, v.campaign_id, v.source, v.created_at]);
      }
      if (rows.length > 0) last = rows.at(-1)!.email;
      if (out) controller.enqueue(encoder.encode(out));
      if (rows.length < EXPORT_PAGE) controller.close();
    },
  });
}
