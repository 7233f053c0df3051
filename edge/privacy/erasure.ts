// Erasure (issue 25, docs/data-protection.md): one address out of everything the account keeps
// about it, for a data subject's request (GDPR art. 17) the customer passes on. The address is
// keyed as ingest keys it (core/address.ts addressKey) and named afterwards only by its tombstone
// (core/tombstone.ts), in the answer and in the audit log. In order, each step one short write
// (or one per job) that a second call finds nothing left for, so a call cut short is finished by
// calling again:
//   1. the suppression list: a suppressed address stays suppressed, as its tombstone (erasure never
//      re-enables mailing); the audit log's and the ledger's mentions of it become the tombstone;
//   2. every job's results and batch items (edge/jobs/erasure.ts; counters stay), and the newest
//      results the jobs' live hubs keep;
//   3. the campaigns' recipients (edge/campaigns/privacy.ts);
//   4. bounces and the soft-bounce score (edge/bounces/privacy.ts);
//   5. webhook events not yet past the outbox's retention (edge/webhooks/privacy.ts);
//   6. the single-check cache and the account's kept Idempotency-Key answers (edge/verify).
// Not touched, and said so in docs/data-protection.md: what was already delivered or sent (webhook
// payloads at the customer's endpoints, mail at relays), messages in flight to probes, backups.
import { addressKey } from "../../core/address.ts";
import { MAX_EMAIL_LENGTH } from "../../core/contracts.ts";
import { tombstoneOf } from "../../core/tombstone.ts";
import { afterCommit } from "../aftercommit.ts";
import { recordAudit, redactAddressStatements } from "../audit/audit.ts";
import { eraseBounces } from "../bounces/privacy.ts";
import { eraseRecipients } from "../campaigns/privacy.ts";
import type { Services, Who } from "../context.ts";
import { eraseAddressFromKeysStatement } from "../credits/ledger.ts";
import { ServiceError } from "../errors.ts";
import { eraseFromJobs } from "../jobs/erasure.ts";
import { tombstoneStatements } from "../suppressions/suppressions.ts";
import { forgetAddress } from "../verify/verify.ts";
import { eraseEvents } from "../webhooks/privacy.ts";

/** How many of the address's records went, per place. */
export interface ErasedCounts {
  /** Answered rows of jobs (verify jobs' rows of the address, find jobs' rows that found it). */
  results: number;
  /** Addresses still waiting in a running job, taken out of its queue (counted as unknown, refunded). */
  unanswered: number;
  campaign_recipients: number;
  bounces: number;
  soft_bounce_scores: number;
  webhook_events: number;
  cached_checks: number;
  idempotency_records: number;
}

export interface Erasure {
  /** The address's tombstone: how the answer, the audit log and the suppression list name it from now on. */
  email_hash: string;
  removed: ErasedCounts;
  /** The address is suppressed (as its tombstone): no campaign of the account will send to it. */
  suppressed: boolean;
}

function requireAddress(input: string): string {
  const email = input.trim();
  if (email.length === 0 || email.length > MAX_EMAIL_LENGTH || !email.includes("@")) {
    throw new ServiceError("validation_failed", `email: an address of at most ${MAX_EMAIL_LENGTH} characters`);
  }
  return addressKey(email);
}

export async function eraseAddress(s: Services, who: Who, input: { email: string }, now = Date.now()): Promise<Erasure> {
  const address = requireAddress(input.email);
  const tombstone = await tombstoneOf(address);
  const { accountId } = who;

  // tombstoneStatements ends with its read of whether the address is suppressed (as its tombstone).
  const [, , read] = await s.db.$client.batch(
    [...tombstoneStatements(accountId, address, tombstone), ...redactAddressStatements(accountId, address, tombstone), eraseAddressFromKeysStatement(accountId, address, tombstone)],
    "write",
  );
  const suppressed = Number(read!.rows[0]!.suppressed) === 1;

  const jobs = await eraseFromJobs(s.db, accountId, address, now);
  for (const effects of jobs.effects) afterCommit(s, effects);
  await Promise.all(jobs.jobIds.map((id) => s.hub(id).forget([address])));
  const recipients = await eraseRecipients(s.db, accountId, address, tombstone, now);
  const bounces = await eraseBounces(s.db, accountId, address, tombstone);
  const events = await eraseEvents(s.db, accountId, address);
  const cached = await forgetAddress(s, accountId, address, tombstone);

  const removed: ErasedCounts = { results: jobs.results, unanswered: jobs.unanswered, campaign_recipients: recipients, ...bounces, webhook_events: events, ...cached };
  await recordAudit(s, who, { action: "address.erased", target: tombstone, detail: { removed, suppressed } }, now);
  return { email_hash: tombstone, removed, suppressed };
}
