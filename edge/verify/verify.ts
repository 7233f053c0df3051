// A single real-time check: syntax here, then a probe within a budget; fresh answers come from
// the shared cache. A verdict is data: a bad address is a 200 with "undeliverable". A final
// answer costs one credit, from a probe or the cache alike; bad syntax and unknowns cost nothing.
// With an Idempotency-Key (Stripe's model) the charge is keyed by (account, key), and the answer
// is kept for a day so a retry gets it again without asking a probe; a kept answer is also
// indexed by the address it names (idempotencyIndexKey), so an erasure finds it. Acts for someone:
// `(services, who, input)`; the fleet is asked through askProbes (edge/dispatch/probes.ts).
import { addressKey, cleanAddress, parseAddress } from "../../core/address.ts";
import type { Result } from "../../core/contracts.ts";
import { invalidSyntaxResult } from "../../core/result.ts";
import { tombstoneOf } from "../../core/tombstone.ts";
import { askProbes } from "../dispatch/probes.ts";
import { ServiceError } from "../errors.ts";
import type { Services, Who } from "../context.ts";
import { afterCommit } from "../aftercommit.ts";
import { chargeCheck } from "../credits/account.ts";
import { creditBalance, insufficientCredits } from "../credits/credits.ts";

export const DEFAULT_CHECK_BUDGET_MS = 15_000;

/**
 * How long a single check or find with this budget waits for a first live probe when none has
 * reported in (MXRAY_PROBE_WAIT_MS, at most half the budget), and the budget the probe then gets:
 * what is left, never less than the other half.
 */
export function probeWait(s: Services, budgetMs: number): { waitMs: number; probeBudget: (waitedMs: number) => number } {
  const half = Math.ceil(budgetMs / 2);
  return { waitMs: Math.min(s.config.MXRAY_PROBE_WAIT_MS, Math.floor(budgetMs / 2)), probeBudget: (waited) => Math.max(half, budgetMs - waited) };
}
/** How long an Idempotency-Key's answer is kept (Stripe keeps keys 24 hours). */
export const IDEMPOTENCY_TTL_S = 24 * 60 * 60;

export interface CheckRequest {
  email: string;
  budget_ms?: number | undefined;
  trace?: boolean | undefined;
}

export interface CheckOutcome {
  result: Result;
  /** No probe was asked for this request (a fresh cached result, or a replay). */
  cached: boolean;
  /** The answer stored for an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/** What an Idempotency-Key remembers: the request it was first used for, and its answer once final. */
interface KeyRecord<T> {
  request: string;
  /** null after an answer nothing was charged for (an unknown): a retry asks a probe again. */
  result: T | null;
}

/** A single check or find to run once per Idempotency-Key. */
export interface Idempotent<T> {
  what: "verify" | "find";
  /** The charge key when no Idempotency-Key was sent. */
  requestId: string;
  idempotencyKey?: string | null | undefined;
  /** The request's parameters: the same key with others is a conflict. */
  request: unknown[];
  /** Runs the work, charged under the key it is given. */
  run: (chargeKey: string) => Promise<T>;
  /** Whether an answer was paid for (and so is kept for a retry). */
  keep: (answer: T) => boolean;
  /** The address a kept answer names (a check's, a find's found one): its key (core/address.ts addressKey), or null. */
  address: (answer: T) => string | null;
}

/** The single-check cache's key of an address key: shared by every account, an answer is no account's own. */
export const checkCacheKey = (key: string) => `verify:${key}`;

/** The set of an account's kept Idempotency-Key answers that name an address, by its tombstone: erasure reads it. */
export const idempotencyIndexKey = (accountId: string, tombstone: string) => `idem:address:${accountId}:${tombstone}`;

/**
 * Runs a single check or find under an optional Idempotency-Key (Stripe's model): the charge is
 * keyed by (account, key), and a paid answer is kept a day, so a retry gets it again without a
 * probe.
 */
export async function idempotent<T>(s: Services, who: Who, input: Idempotent<T>): Promise<{ answer: T; replayed: boolean }> {
  const { what, requestId, idempotencyKey, request, run, keep, address } = input;
  if (!idempotencyKey) return { answer: await run(requestId), replayed: false };
  // Account-scoped: two accounts may pick the same key. Request ids ("req_…") never collide.
  const scoped = `${who.accountId}:${idempotencyKey}`;
  const recordKey = `${what}:idem:${scoped}`;
  const fingerprint = JSON.stringify(request);
  const seen = await s.cache.get<KeyRecord<T>>(recordKey);
  if (seen && seen.request !== fingerprint) {
    throw new ServiceError("conflict", `This Idempotency-Key was used with different parameters; use a new key for a new ${what === "find" ? "find" : "check"}`);
  }
  if (seen?.result) return { answer: seen.result, replayed: true };
  const answer = await run(scoped);
  const record: KeyRecord<T> = { request: fingerprint, result: keep(answer) ? answer : null };
  try {
    await s.cache.set(recordKey, record, IDEMPOTENCY_TTL_S);
    const named = record.result === null ? null : address(record.result);
    if (named !== null) await s.cache.remember(idempotencyIndexKey(who.accountId, await tombstoneOf(named)), recordKey, IDEMPOTENCY_TTL_S);
  } catch (e) {
    // The charge is keyed in the ledger, so a retry is still charged once; it only asks again.
    console.log(JSON.stringify({ msg: "idempotent answer not stored", error: e instanceof Error ? e.message : String(e) }));
  }
  return { answer, replayed: false };
}

/** One check for `who` (the actor is recorded with the charge), with the request's id and optional Idempotency-Key. */
export async function checkAddress(s: Services, who: Who, input: { check: CheckRequest; requestId: string; idempotencyKey?: string | null | undefined }): Promise<CheckOutcome> {
  const { check: req, requestId, idempotencyKey } = input;
  let cached = false;
  const run = async (chargeKey: string) => {
    const outcome = await check(s, who, chargeKey, req);
    cached = outcome.cached;
    return outcome.result;
  };
  const request = [req.email, req.budget_ms ?? null, req.trace ?? false];
  const { answer, replayed } = await idempotent(s, who, { what: "verify", requestId, idempotencyKey, request, run, keep: (r) => r.verdict !== "unknown", address: () => addressKey(req.email) });
  return { result: answer, cached: cached || replayed, replayed };
}

const noCredit = (s: Services, who: Who, what = "A check") => insufficientCredits(s.db, who.accountId, 1, what);

/** Charges one credit for a single check or find, once per key; refuses when the balance is empty. */
export async function chargeOne(s: Services, who: Who, input: { chargeKey: string; what?: "verify" | "find" | undefined }): Promise<void> {
  const what = input.what ?? "verify";
  const { paid, topUpDue } = await chargeCheck(s, who, { key: input.chargeKey, what });
  if (topUpDue) afterCommit(s, { topUp: who.accountId });
  if (!paid) throw await noCredit(s, who, what === "find" ? "A find" : "A check");
}

/** Refuses before asking a probe when the account cannot pay for an answer (the charge decides); `what` names it in the refusal. */
export async function needOneCredit(s: Services, who: Who, what = "A check"): Promise<void> {
  if ((await creditBalance(s.db, who.accountId)) < 1) throw await noCredit(s, who, what);
}

/** One check, charged under `chargeKey` (the request id, or the account-scoped Idempotency-Key). */
async function check(s: Services, who: Who, chargeKey: string, req: CheckRequest): Promise<Omit<CheckOutcome, "replayed">> {
  const email = cleanAddress(req.email);
  const parsed = parseAddress(email);
  if (!parsed.ok) return { result: invalidSyntaxResult(email), cached: false };
  const cacheKey = checkCacheKey(parsed.normalized);
  if (!req.trace) {
    const hit = await s.cache.get<Result>(cacheKey);
    if (hit) {
      // The cache is shared by every account: an answer from it costs what a fresh one does.
      await chargeOne(s, who, { chargeKey });
      return { result: { ...hit, email }, cached: true };
    }
  }
  // Saves asking a probe for an account without credit; the charge itself decides.
  await needOneCredit(s, who);
  const budget = req.budget_ms ?? DEFAULT_CHECK_BUDGET_MS;
  const wait = probeWait(s, budget);
  const result = await askProbes(s, (probe, waited) => s.probeClient.verify(probe, { email, ...(req.trace ? { trace: true } : {}) }, wait.probeBudget(waited)), wait);
  if (result.verdict !== "unknown") {
    await chargeOne(s, who, { chargeKey });
    if (s.config.MXRAY_VERIFY_CACHE_S > 0) {
      const { trace: _t, ...cacheable } = result;
      s.waitUntil(s.cache.set(cacheKey, cacheable, s.config.MXRAY_VERIFY_CACHE_S));
    }
  }
  return { result, cached: false };
}

/**
 * Erasure's part (issue 25): the address's fresh single-check answer (shared by every account: the
 * next check of it, from any account, asks a probe) and the account's kept Idempotency-Key answers
 * that name it (a retry of one is then asked and charged again). Answers how many of each went.
 */
export async function forgetAddress(s: Pick<Services, "cache">, accountId: string, key: string, tombstone: string): Promise<{ cached_checks: number; idempotency_records: number }> {
  const index = idempotencyIndexKey(accountId, tombstone);
  const records = await s.cache.members(index);
  const idempotencyRecords = await s.cache.delete(records);
  await s.cache.delete([index]);
  return { cached_checks: await s.cache.delete([checkCacheKey(key)]), idempotency_records: idempotencyRecords };
}
