// The operations console (issue 13): what platform operators (MXRAY_ADMIN_EMAILS) see across
// every account: the probe fleet, the jobs in flight, and accounts, whose credits they adjust.
// Probe actions are not tenant actions, so no account's audit log records them; a credit
// adjustment is recorded in the adjusted account's log.
import { and, asc, eq, inArray, isNull, or, sql } from "drizzle-orm";
import type { Config } from "../config.ts";
import { accounts, batches, jobs, members, probes } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit, type RequestMeta } from "./audit.ts";

/** A job none of whose batches changed state for this long is flagged stuck (leases are shorter). */
export const STUCK_MS = 10 * 60_000;
export const MAX_ADJUSTMENT = 10_000_000;
const ACCOUNTS_PAGE = 20;
const JOBS_SHOWN = 100;

export function isOperator(config: Config, email: string | null | undefined): boolean {
  return Boolean(email) && config.MXRAY_ADMIN_EMAILS.includes(email!.trim().toLowerCase());
}

/** Every probe, with the batches it holds now. */
export async function fleet(db: EdgeDb, now = Date.now()) {
  const [rows, held] = await Promise.all([
    db.select().from(probes).orderBy(asc(probes.id)),
    db
      .select({ probeId: batches.probeId, n: sql<number>`count(*)` })
      .from(batches)
      .where(eq(batches.status, "dispatched"))
      .groupBy(batches.probeId),
  ]);
  const inFlight = new Map(held.map((h) => [h.probeId, Number(h.n)]));
  return rows.map((p) => ({
    id: p.id,
    url: p.url,
    status: p.status,
    version: p.version,
    capacity: p.capacity,
    batchesInFlight: inFlight.get(p.id) ?? 0,
    heartbeatAgeMs: p.lastHeartbeatAt === null ? null : now - p.lastHeartbeatAt,
  }));
}

/**
 * Takes a probe out of dispatch ("disabled": no new batches; those it holds finish or their lease
 * lapses), or puts it back. Its own heartbeats keep a disabled probe disabled (probes.ts).
 */
export async function setProbeEnabled(db: EdgeDb, probeId: string, enabled: boolean): Promise<void> {
  const changed = await db
    .update(probes)
    .set({ status: enabled ? "active" : "disabled" })
    .where(and(eq(probes.id, probeId), enabled ? eq(probes.status, "disabled") : inArray(probes.status, ["active", "draining"])))
    .returning({ id: probes.id });
  if (changed.length > 0) return;
  const [exists] = await db.select({ status: probes.status }).from(probes).where(eq(probes.id, probeId));
  if (!exists) throw new ServiceError("not_found", `No probe ${probeId}`);
  throw new ServiceError("conflict", `Probe ${probeId} is ${exists.status}`);
}

/**
 * Queued and running jobs of every account, oldest first. Jobs have no "last changed" column, so
 * progress is the newest state change of any of their batches (dispatch, done, re-queue), or the
 * job's creation when none moved yet: a live job moves one within a lease.
 */
export async function jobsInFlight(db: EdgeDb, now = Date.now()) {
  const lastMove = sql<number>`max(${jobs.createdAt}, coalesce((SELECT max(${batches.updatedAt}) FROM ${batches} WHERE ${batches.jobId} = ${jobs.id}), 0))`;
  const rows = await db
    .select({
      id: jobs.id,
      name: jobs.name,
      status: jobs.status,
      accountId: jobs.accountId,
      account: accounts.name,
      unique: jobs.unique,
      processed: jobs.processed,
      createdAt: jobs.createdAt,
      lastMove,
    })
    .from(jobs)
    .innerJoin(accounts, eq(accounts.id, jobs.accountId))
    .where(and(inArray(jobs.status, ["queued", "running"]), isNull(jobs.deletedAt)))
    .orderBy(asc(jobs.createdAt))
    .limit(JOBS_SHOWN);
  return rows.map(({ lastMove: last, ...j }) => ({ ...j, ageMs: now - j.createdAt, idleMs: now - Number(last), stuck: now - Number(last) >= STUCK_MS }));
}

/** Accounts whose id, name or a member's email contains `q` (all, newest first, when empty). */
export async function searchAccounts(db: EdgeDb, q: string) {
  const term = q.trim();
  const pattern = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const match = term
    ? or(
        eq(accounts.id, term),
        sql`${accounts.name} LIKE ${pattern} ESCAPE '\\'`,
        inArray(accounts.id, db.select({ id: members.accountId }).from(members).where(sql`${members.email} LIKE ${pattern} ESCAPE '\\'`)),
      )
    : undefined;
  const rows = await db
    .select({
      id: accounts.id,
      name: accounts.name,
      kind: accounts.kind,
      balance: accounts.creditBalance,
      emails: sql<string | null>`(SELECT group_concat(${members.email}, ', ') FROM ${members} WHERE ${members.accountId} = ${accounts.id})`,
    })
    .from(accounts)
    .where(match)
    .orderBy(sql`${accounts.createdAt} DESC`)
    .limit(ACCOUNTS_PAGE);
  return rows.map((r) => ({ ...r, emails: r.emails ?? "" }));
}

export interface Adjustment {
  accountId: string;
  delta: number;
  reason: string;
  /** From the form that was shown once: a double submit applies once. */
  nonce: string;
}

/**
 * Moves an account's credits by `delta` with a ledger entry (reason admin_adjustment, actor the
 * operator) in one batch keyed by the form's nonce, then audits it in that account. `applied` is
 * false when this nonce was already used.
 */
export async function adjustCredits(
  db: EdgeDb, request: RequestMeta | null, operator: { id: string; email: string }, a: Adjustment, now = Date.now(),
): Promise<{ applied: boolean; balance: number }> {
  const reason = a.reason.trim();
  if (!Number.isSafeInteger(a.delta) || a.delta === 0 || Math.abs(a.delta) > MAX_ADJUSTMENT) {
    throw new ServiceError("validation_failed", `The change must be a whole number of credits, not zero, at most ${MAX_ADJUSTMENT.toLocaleString("en")} either way`);
  }
  if (reason.length === 0 || reason.length > 500) throw new ServiceError("validation_failed", "Say why (up to 500 characters)");
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(a.nonce)) throw new ServiceError("validation_failed", "The form expired; reload the page");
  const [, , applied, balance] = await db.$client.batch(
    [
      {
        sql: `INSERT INTO credit_ledger (account_id, delta, kind, reason, actor, idempotency_key, created_at)
              SELECT id, ?, ?, 'admin_adjustment', ?, ?, ? FROM accounts WHERE id = ? ON CONFLICT DO NOTHING`,
        args: [a.delta, a.delta > 0 ? "grant" : "reversal", operator.id, `admin:${a.accountId}:${a.nonce}`, now, a.accountId],
      },
      { sql: "UPDATE accounts SET credit_balance = credit_balance + ? WHERE changes() = 1 AND id = ?", args: [a.delta, a.accountId] },
      { sql: "SELECT changes() AS n", args: [] },
      { sql: "SELECT credit_balance AS balance FROM accounts WHERE id = ?", args: [a.accountId] },
    ],
    "write",
  );
  const row = balance!.rows[0];
  if (!row) throw new ServiceError("not_found", `No account ${a.accountId}`);
  const done = Number(applied!.rows[0]!.n) === 1;
  if (done) {
    await recordAudit(db, request, {
      accountId: a.accountId,
      actor: operator.id,
      action: "admin.credits_adjusted",
      target: a.accountId,
      detail: { delta: a.delta, reason, operator: operator.email },
    }, now);
  }
  return { applied: done, balance: Number(row.balance) };
}
