// Finding one person's address (issue 14): the candidates come from the name patterns in
// core/finder, ordered by what the domain is known to use; one probe asks about them in one SMTP
// transaction. One credit when an address is returned, nothing otherwise. An address accepted on
// a domain that refuses unknown mailboxes teaches the domain's pattern to the next search.
import { addressKey } from "../../core/address.ts";
import type { FindAnswer } from "../../core/contracts.ts";
import { findCandidates, parsePerson, type FindInput } from "../../core/finder/patterns.ts";
import { ServiceError } from "../errors.ts";
import type { Services, Who } from "../context.ts";
import { knownPatterns, learnPattern } from "./domainpatterns.ts";
import { askProbes } from "../dispatch/probes.ts";
import { chargeOne, DEFAULT_CHECK_BUDGET_MS, idempotent, needOneCredit, probeWait } from "../verify/verify.ts";

export interface FindPersonRequest extends FindInput {
  trace?: boolean | undefined;
  /** An address another source gave for the person (a people-data provider's): asked first, never trusted. */
  provided_email?: string | null | undefined;
}

export interface FindPersonOnceInput {
  find: FindPersonRequest;
  /** This request's id: the charge's key when no Idempotency-Key is given. */
  requestId: string;
  idempotencyKey?: string | null | undefined;
}

/** A find under an optional Idempotency-Key: a retry of a paid find gets its answer again, charged once. */
export function findPersonOnce(s: Services, who: Who, { find: req, requestId, idempotencyKey }: FindPersonOnceInput): Promise<{ answer: FindAnswer; replayed: boolean }> {
  const request = [req.first_name ?? null, req.last_name ?? null, req.full_name ?? null, req.domain ?? null, req.trace ?? false];
  return idempotent(s, who, { what: "find", requestId, idempotencyKey, request, run: (chargeKey) => findPerson(s, who, { find: req, chargeKey }), keep: (a) => a.email !== null, address: (a) => (a.email === null ? null : addressKey(a.email)) });
}

export interface FindPersonInput {
  find: FindPersonRequest;
  /** The answer is charged once under this key. */
  chargeKey: string;
}

export async function findPerson(s: Services, who: Who, { find: req, chargeKey }: FindPersonInput): Promise<FindAnswer> {
  const { accountId, actor } = who;
  const parsed = parsePerson(req);
  if (!parsed.ok) throw new ServiceError("validation_failed", `${parsed.field}: ${parsed.message}`);
  const { person, domain } = parsed;
  const list = findCandidates(person, domain, await knownPatterns(s.db, domain), req.provided_email);
  if (list.length === 0) throw new ServiceError("validation_failed", "first_name: no address can be made from this name");
  await needOneCredit(s, who, "A find");
  const wait = probeWait(s, DEFAULT_CHECK_BUDGET_MS);
  const answer = await askProbes(s, (probe, waited) => s.probeClient.find(probe, { candidates: list, ...(req.trace ? { trace: true } : {}) }, wait.probeBudget(waited)), wait);
  if (answer.email === null) return answer;
  await chargeOne(s, who, { chargeKey, what: "find" });
  // A catch-all server accepted it without knowing the mailbox: nothing to learn from that.
  if (answer.verdict === "deliverable" && answer.catch_all === false) await learnPattern(s.db, answer.email, person);
  return answer;
}
