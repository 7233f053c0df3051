// How a person's tried candidates become one answer (issue 14). The probe asks about candidates
// in order and stops at the first that names a mailbox; these rules say when to go on and what
// the answer is, so the probe's engine and the edge agree on them.
import type { FindAnswer, FindCandidate, Result } from "../contracts.ts";

/** The server took the address (deliverable, or risky on a catch-all domain) or showed the
 *  mailbox exists (full): the person's address is found. */
export function names(r: Result): boolean {
  return r.reason === "accepted" || r.reason === "catch_all" || r.reason === "mailbox_full";
}

/** A refusal of this mailbox only: the next candidate may still exist. Anything else (no mail
 *  for the domain, a block, a timeout, greylisting not resolved) would answer every candidate
 *  the same way, so asking on is wasted RCPTs. */
export function refusesMailbox(r: Result): boolean {
  return r.reason === "mailbox_not_found" || r.reason === "mailbox_disabled";
}

/** A candidate of a pattern the domain is known to use: core/finder/patterns.ts `confidence`
 *  is above 50 only for a pattern counted on the domain (nothing known gives at most 50). */
export const isKnownPattern = (c: FindCandidate) => c.confidence > 50;

/** Candidates asked about at once, by round: one first (a known pattern is usually right),
 *  then more each round, pipelined in the same transaction. */
export const waveSize = (round: number) => 2 ** round;

/**
 * The answer for a person from the results of the candidates asked about (in candidate order;
 * results of candidates not asked are absent).
 */
export function composeFind(candidates: readonly FindCandidate[], tried: readonly (Result | undefined)[], durationMs: number): FindAnswer {
  const asked = candidates.flatMap((c, i) => (tried[i] ? [{ candidate: c, result: tried[i] }] : []));
  const list = asked.map(({ candidate, result }) => ({
    email: candidate.email,
    pattern: candidate.pattern,
    verdict: result.verdict,
    reason: result.reason,
    mx: result.mx,
    smtp: result.smtp,
  }));
  const found = asked.find(({ result }) => names(result));
  const trace = asked.some(({ result }) => result.trace) ? asked.flatMap(({ result }) => result.trace ?? []) : undefined;
  const base = { candidates: list, duration_ms: Math.round(durationMs), ...(trace ? { trace } : {}) };
  if (found) {
    const { candidate, result } = found;
    return {
      email: candidate.email,
      verdict: result.verdict,
      reason: result.reason,
      // A catch-all server accepts any address: only the pattern's likelihood speaks for it.
      confidence: result.reason === "catch_all" ? candidate.confidence : result.score,
      pattern: candidate.pattern,
      catch_all: result.catch_all,
      ...base,
    };
  }
  // Why nothing was found: the first answer that is not a mailbox refusal (it stopped the
  // search), else the last refusal.
  const why = asked.find(({ result }) => !refusesMailbox(result)) ?? asked.at(-1);
  const catchAll = asked.map(({ result }) => result.catch_all).find((c) => c !== null) ?? null;
  return {
    email: null,
    verdict: why ? why.result.verdict : "unknown",
    reason: why ? why.result.reason : "timeout",
    confidence: 0,
    pattern: null,
    catch_all: catchAll,
    ...base,
  };
}
