// The account's suppression list (issue 23): addresses no campaign of the account sends to. An
// address is on it once, under its normalised key (job_emails.normalized, so a campaign's claim
// compares like with like), and keeps the first reason it got: a later bounce does not turn an
// unsubscribe into a bounce, and a manual entry does not hide why an address left. Other
// capabilities put addresses on it inside their own writes (suppressStatements); people and keys
// list, add, remove, import and export it here.
import type { InStatement, InValue } from "@libsql/client/web";
import { and, asc, desc, eq, gt } from "drizzle-orm";
import { cleanAddress, parseAddress } from "../../core/address.ts";
import { csvRow } from "../../core/csvexport.ts";
import type { SuppressionReason } from "../../core/enums.ts";
import { suppressions } from "../../db/schema.ts";
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
        q.email !== undefined ? eq(suppressions.email, lookupKey(q.email)) : undefined,
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

/** Adds one address (its first entry stays when it is already there); `created` says which. */
export async function addSuppression(s: Services, who: Who, input: { email: string; reason?: SuppressionReason | undefined }, now = Date.now()): Promise<{ suppression: SuppressionView; created: boolean }> {
  const email = requireKey(input.email);
  const reason = input.reason ?? "manual";
  // The entry is read in the same write, so the answer is the row as it stands after it.
  const [written, read] = await s.db.$client.batch(
    [
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

/** Takes an address off the list: campaigns may send to it again. */
export async function removeSuppression(s: Services, who: Who, input: { email: string }, now = Date.now()): Promise<void> {
  const email = lookupKey(input.email);
  const removed = await s.db.$client.execute({
    sql: "DELETE FROM suppressions WHERE account_id = ? AND email = ? RETURNING reason, campaign_id",
    args: [who.accountId, email],
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
