// The operations console (issue 13): what platform operators (edge/identity/operators.ts) see across
// every account: the probe fleet (health, last hour's answers; drain, disable), the jobs in
// flight and retried batches, accounts (credits, disabling), and Stripe events held for them.
// Probe actions are not tenant actions, so no account's audit log records them; a credit
// adjustment or an account's disabling is recorded in that account's log.
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { Heartbeat, SelfCheck } from "../../core/contracts.ts";
import { VERDICTS, type Verdict } from "../../core/verdict.ts";
import { accounts, batches, jobs, members, probeMinutes, probes, stripeEvents } from "../../db/schema.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { recordAudit } from "../audit/audit.ts";
import type { ProbeRow } from "../dispatch/dispatch.ts";
import { applyStripeEvent, type EventOutcome, type StripeEventLike } from "../billing/payments.ts";
import { moveStatements } from "../credits/ledger.ts";

/** A job none of whose batches changed state for this long is flagged stuck (leases are shorter). */
export const STUCK_MS = 10 * 60_000;
export const MAX_ADJUSTMENT = 10_000_000;
const ACCOUNTS_PAGE = 20;
const JOBS_SHOWN = 100;

/**
 * The operator who acts (their user id as `actor`, the account they are signed in to as
 * `accountId`), with the address the target account's audit log names them by.
 */
export interface OperatorWho extends Who {
  email: string;
}

/** The window of the fleet's throughput and verdict mix. */
export const THROUGHPUT_WINDOW_MS = 60 * 60_000;

type VerdictCounts = Record<Verdict, number>;

/** Every probe, with the batches it holds now, its last self-check and shared state, and its answers of the last hour. */
export async function fleet(s: Services, now = s.clock.now()) {
  const { db } = s;
  const [rows, held, answered] = await Promise.all([
    db.select().from(probes).orderBy(asc(probes.id)),
    db
      .select({ probeId: batches.probeId, n: sql<number>`count(*)` })
      .from(batches)
      .where(eq(batches.status, "dispatched"))
      .groupBy(batches.probeId),
    db
      .select({
        probeId: probeMinutes.probeId,
        deliverable: sql<number>`sum(${probeMinutes.deliverable})`,
        undeliverable: sql<number>`sum(${probeMinutes.undeliverable})`,
        risky: sql<number>`sum(${probeMinutes.risky})`,
        unknown: sql<number>`sum(${probeMinutes.unknown})`,
      })
      .from(probeMinutes)
      .where(gt(probeMinutes.minute, Math.floor((now - THROUGHPUT_WINDOW_MS) / 60_000)))
      .groupBy(probeMinutes.probeId),
  ]);
  const inFlight = new Map(held.map((h) => [h.probeId, Number(h.n)]));
  const lastHour = new Map(answered.map(({ probeId, ...v }) => [probeId, Object.fromEntries(VERDICTS.map((k) => [k, Number(v[k])])) as VerdictCounts]));
  return rows.map((p) => {
    const mix = lastHour.get(p.id) ?? (Object.fromEntries(VERDICTS.map((k) => [k, 0])) as VerdictCounts);
    const results = VERDICTS.reduce((n, k) => n + mix[k], 0);
    return {
      id: p.id,
      url: p.url,
      status: p.status,
      version: p.version,
      capacity: p.capacity,
      batchesInFlight: inFlight.get(p.id) ?? 0,
      heartbeatAgeMs: p.lastHeartbeatAt === null ? null : now - p.lastHeartbeatAt,
      // Stopped or cut off, though the sweeper has yet to mark it dead (MXRAY_PROBE_DEAD_MS): its status still says active.
      silent: p.status !== "dead" && (p.lastHeartbeatAt === null || now - p.lastHeartbeatAt > s.config.MXRAY_PROBE_SILENT_MS),
      selfCheck: p.selfCheck ? (JSON.parse(p.selfCheck) as SelfCheck) : null,
      sharedState: p.sharedState ? (JSON.parse(p.sharedState) as NonNullable<Heartbeat["shared_state"]>) : null,
      lastHour: { results, ...mix, unknownRate: results === 0 ? null : mix.unknown / results },
    };
  });
}

/** What an operator makes of a probe: back in dispatch, drained, or disabled. */
export type ProbeState = "active" | "drained" | "disabled";

/**
 * Puts a probe in or out of dispatch. Drained: no new batches, those it holds finish. Disabled:
 * no new batches, and those it holds are given up now (lease expired) so the sweeper sends them
 * elsewhere. Its own heartbeats keep either state (probes.ts); only an operator makes it active.
 */
export async function setProbeState(s: Services, _operator: OperatorWho, { probeId, state }: { probeId: string; state: ProbeState }, now = Date.now()): Promise<void> {
  const { db } = s;
  const from: ProbeRow["status"][] = state === "active" ? ["drained", "disabled"] : ["active", "draining", state === "disabled" ? "drained" : "disabled"];
  const change = db.update(probes).set({ status: state }).where(and(eq(probes.id, probeId), inArray(probes.status, from))).returning({ id: probes.id });
  // Released only when this very update disabled it (changes() = 1): leases lapse now.
  const release = db
    .update(batches)
    .set({ leaseExpiresAt: now, updatedAt: now })
    .where(and(sql`changes() = 1`, eq(batches.probeId, probeId), eq(batches.status, "dispatched")));
  const [changed] = state === "disabled" ? await db.batch([change, release]) : [await change];
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
export async function jobsInFlight(s: Services, now = Date.now()) {
  const { db } = s;
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

/**
 * Batches of live jobs that went out more than once (a lapsed lease, a dispatch that failed, a
 * re-queue's lineage), most attempts first, with the probe that had them last.
 */
export async function retriedBatches(s: Services) {
  return s.db
    .select({
      id: batches.id,
      jobId: batches.jobId,
      job: jobs.name,
      accountId: batches.accountId,
      account: accounts.name,
      status: batches.status,
      attempts: batches.attempts,
      probeId: batches.probeId,
      updatedAt: batches.updatedAt,
    })
    .from(batches)
    .innerJoin(jobs, eq(jobs.id, batches.jobId))
    .innerJoin(accounts, eq(accounts.id, batches.accountId))
    .where(and(gt(batches.attempts, 1), inArray(batches.status, ["pending", "dispatched"]), inArray(jobs.status, ["queued", "running"])))
    .orderBy(desc(batches.attempts), desc(batches.updatedAt))
    .limit(JOBS_SHOWN);
}

/** Accounts whose id, name or a member's email contains `q` (all, newest first, when empty). */
export async function searchAccounts(s: Services, q: string) {
  const { db } = s;
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
      disabledAt: accounts.disabledAt,
      disabledReason: accounts.disabledReason,
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
 * Moves an account's credits by `delta` (a ledger movement, reason admin_adjustment, actor the
 * operator) in one batch keyed by the form's nonce, then audits it in that account. `applied` is
 * false when this nonce was already used.
 */
export async function adjustCredits(s: Services, operator: OperatorWho, a: Adjustment, now = Date.now()): Promise<{ applied: boolean; balance: number }> {
  const reason = a.reason.trim();
  if (!Number.isSafeInteger(a.delta) || a.delta === 0 || Math.abs(a.delta) > MAX_ADJUSTMENT) {
    throw new ServiceError("validation_failed", `The change must be a whole number of credits, not zero, at most ${MAX_ADJUSTMENT.toLocaleString("en")} either way`);
  }
  if (reason.length === 0 || reason.length > 500) throw new ServiceError("validation_failed", "Say why (up to 500 characters)");
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(a.nonce)) throw new ServiceError("validation_failed", "The form expired; reload the page");
  const movement = { accountId: a.accountId, delta: a.delta, kind: a.delta > 0 ? "grant" : "reversal", reason: "admin_adjustment", actor: operator.actor, key: `admin:${a.accountId}:${a.nonce}` } as const;
  const [entry, , balance] = await s.db.$client.batch(
    [...moveStatements(movement, now), { sql: "SELECT credit_balance AS balance FROM accounts WHERE id = ?", args: [a.accountId] }],
    "write",
  );
  const row = balance!.rows[0];
  if (!row) throw new ServiceError("not_found", `No account ${a.accountId}`);
  const done = entry!.rowsAffected === 1;
  if (done) {
    await recordAudit(s, { accountId: a.accountId, actor: operator.actor }, {
      action: "admin.credits_adjusted",
      target: a.accountId,
      detail: { delta: a.delta, reason, operator: operator.email },
    }, now);
  }
  return { applied: done, balance: Number(row.balance) };
}

/**
 * Disables an account (a reason required) or enables it again, audited in that account. While
 * disabled its API keys are refused (`account_disabled`), its members see why instead of the app,
 * and dispatch leaves its batches waiting: what was running resumes when it is enabled.
 */
export interface AccountDisabling {
  accountId: string;
  disabled: boolean;
  /** Required to disable. */
  reason?: string;
}

export async function setAccountDisabled(s: Services, operator: OperatorWho, { accountId, disabled, reason = "" }: AccountDisabling, now = Date.now()): Promise<void> {
  const { db } = s;
  const why = reason.trim();
  if (disabled && (why.length === 0 || why.length > 500)) throw new ServiceError("validation_failed", "Say why (up to 500 characters)");
  const changed = await db
    .update(accounts)
    .set({ disabledAt: disabled ? now : null, disabledReason: disabled ? why : null })
    .where(and(eq(accounts.id, accountId), disabled ? isNull(accounts.disabledAt) : isNotNull(accounts.disabledAt)))
    .returning({ id: accounts.id });
  if (changed.length === 1) {
    await recordAudit(s, { accountId, actor: operator.actor }, {
      action: disabled ? "admin.account_disabled" : "admin.account_enabled",
      target: accountId,
      detail: { ...(disabled ? { reason: why } : {}), operator: operator.email },
    }, now);
    return;
  }
  const [exists] = await db.select({ disabledAt: accounts.disabledAt }).from(accounts).where(eq(accounts.id, accountId));
  if (!exists) throw new ServiceError("not_found", `No account ${accountId}`);
  throw new ServiceError("conflict", `Account ${accountId} is already ${disabled ? "disabled" : "enabled"}`);
}

/** Stripe events held for an operator (an unknown account, bad metadata), oldest first. */
export async function heldStripeEvents(s: Services, now = Date.now()) {
  const rows = await s.db
    .select({ id: stripeEvents.id, type: stripeEvents.type, code: stripeEvents.code, createdAt: stripeEvents.createdAt })
    .from(stripeEvents)
    .where(eq(stripeEvents.outcome, "held"))
    .orderBy(asc(stripeEvents.createdAt))
    .limit(JOBS_SHOWN);
  return rows.map((r) => ({ ...r, ageMs: now - r.createdAt }));
}

/**
 * Applies a held event again, from its stored body, through the webhook's own handler: once the
 * cause is fixed (say the account now exists) it applies, once (the handler's idempotency keys),
 * and is audited there as any grant. The record then says what came of it; still held, its new code.
 */
export async function retryStripeEvent(s: Services, _operator: OperatorWho, { eventId }: { eventId: string }, now = Date.now()): Promise<EventOutcome> {
  const { db } = s;
  const [held] = await db.select().from(stripeEvents).where(and(eq(stripeEvents.id, eventId), eq(stripeEvents.outcome, "held")));
  if (!held?.payload) throw new ServiceError("not_found", `No held Stripe event ${eventId}`);
  const outcome = await applyStripeEvent(s, { event: JSON.parse(held.payload) as StripeEventLike, raw: held.payload }, now);
  const settled = outcome.outcome === "held" ? {} : { outcome: outcome.outcome === "ignored" ? ("ignored" as const) : ("processed" as const), payload: null };
  await db
    .update(stripeEvents)
    .set({ ...settled, code: outcome.code ?? null })
    .where(and(eq(stripeEvents.id, eventId), eq(stripeEvents.outcome, "held")));
  return outcome;
}
