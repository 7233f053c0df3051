// Runs a send batch (issue 23, docs/decisions/009-campaigns.md): claim, send, record, in groups.
// For each group of recipients the relay's fleet-wide budget is taken first, then the group is
// claimed at the edge (each id is won by one probe, once, ever), then only the ids won are handed
// to the relay (concurrently, over the pool's connections), and every outcome goes to the durable
// outbox before the next group is claimed. So a batch delivered twice, or re-dispatched after its
// probe died, never sends a recipient twice: a second claim of an id wins nothing, and an id
// claimed whose outcome was lost becomes `unknown_outcome` at the edge, never `queued` again.
//
// Relays are a failover pool, not a disguise: the batch uses the sender's first relay; a 4xx or a
// connection failure moves the batch (and the messages it deferred, which the relay did not take)
// to the next relay; when none is left the claimed-but-unsent recipients are released (`queued`)
// and the final chunk pauses the campaign (`relays_exhausted`). An authentication failure pauses
// at once (`relay_auth_failed`), as does a relay refusing the sender (`relay_refused_sender`).
// When the budget ends or the batch is aborted, no group is claimed any more, messages already on
// a connection finish (each within its timeout), the rest of the group is released, and the final
// chunk is written.
import { SendClaimAnswerSchema, type SendBatch, type SendChunk, type SendClaim, type SendClaimAnswer, type SendOutcome, type SendRecipient } from "../../core/contracts.ts";
import { SIGNATURE_HEADER, sign } from "../../core/signing.ts";
import { TemplateError } from "../../core/template.ts";
import type { Log, Outbox } from "../outbox.ts";
import { systemClock, type Clock } from "../shared.ts";
import { createComposer, type Composer } from "./compose.ts";
import type { RelayBudget } from "./relaybudget.ts";
import { createRelayPool, type RelayFailure, type RelayOutcome, type RelayPool, type RelayTransportOptions } from "./transport.ts";

export const SEND_CLAIM_PATH = "/internal/probes/sends/claim";
/** Recipients claimed, and handed to the relay, at a time. */
export const DEFAULT_GROUP_SIZE = 25;
const CLAIM_ATTEMPTS = 3;
const CLAIM_TIMEOUT_MS = 15_000;
const CLAIM_RETRY_MS = 500;

export interface SendBatchDeps {
  probeId: string;
  edgeUrl: string;
  probeSecret: string;
  outbox: Pick<Outbox, "push">;
  budget: RelayBudget;
  transport: RelayTransportOptions;
  groupSize?: number;
  clock?: Clock;
  fetch?: typeof fetch;
  log?: Log;
  /** Each recipient's recorded outcome, for metrics. */
  recorded?(status: SendOutcome["status"]): void;
}

export interface SendBatchSummary {
  batch_id: string;
  sent: number;
  failed: number;
  unknown_outcome: number;
  /** Claimed and released unsent (deferred everywhere, paused, or the batch stopped). */
  queued: number;
  /** Not claimed here: another probe (or an earlier delivery) holds them, or the edge suppressed them. */
  not_claimed: number;
  /** Never asked for: the batch stopped first (its budget, an abort, a pause or the campaign). */
  not_reached: number;
  /** Why the batch stopped early: the edge's `stop`, or the pause it asked for. */
  stopped: string | null;
  pause: SendChunk["pause"] | null;
}

type Pause = NonNullable<SendChunk["pause"]>;

export async function runSendBatch(batch: SendBatch, deps: SendBatchDeps, signal: AbortSignal): Promise<SendBatchSummary> {
  const clock = deps.clock ?? systemClock;
  const log: Log = deps.log ?? (() => {});
  const doFetch = deps.fetch ?? fetch;
  const groupSize = Math.max(1, deps.groupSize ?? DEFAULT_GROUP_SIZE);
  const deadline = clock.now() + batch.budget_ms;
  const claimUrl = `${deps.edgeUrl.replace(/\/+$/, "")}${SEND_CLAIM_PATH}`;
  const summary: SendBatchSummary = { batch_id: batch.batch_id, sent: 0, failed: 0, unknown_outcome: 0, queued: 0, not_claimed: 0, not_reached: 0, stopped: null, pause: null };

  // Messages not yet on a connection are released when the batch stops (abort, or budget end).
  const budgetOver = new AbortController();
  const budgetTimer = setTimeout(() => budgetOver.abort(), Math.max(0, deadline - clock.now()));
  const stopSending = AbortSignal.any([signal, budgetOver.signal]);

  let seq = 0;
  let pending: SendOutcome[] = [];
  const record = (o: SendOutcome) => {
    pending.push(o);
    summary[o.status]++;
    deps.recorded?.(o.status);
  };
  async function pushChunk(final: boolean, pause?: Pause): Promise<void> {
    if (!final && pending.length === 0) return;
    const chunk: SendChunk = { kind: "send", probe_id: deps.probeId, batch_id: batch.batch_id, campaign_id: batch.campaign_id, attempt: batch.attempt, seq: seq++, final, outcomes: pending, ...(pause ? { pause } : {}) };
    pending = [];
    await deps.outbox.push(chunk);
  }

  const pools = new Map<number, RelayPool>();
  const poolOf = (i: number) => {
    let pool = pools.get(i);
    if (!pool) pools.set(i, (pool = createRelayPool(batch.relays[i]!, deps.transport)));
    return pool;
  };
  let relayIndex = 0;
  // Set from inside callbacks, so held in an object (a plain `let` would be narrowed to null).
  const halt: { pause: Pause | null } = { pause: null };

  /** Claims ids at the edge; null when the edge could not be asked or refused (the batch stops). */
  async function claim(ids: number[]): Promise<SendClaimAnswer | null> {
    const body = JSON.stringify({ probe_id: deps.probeId, batch_id: batch.batch_id, campaign_id: batch.campaign_id, attempt: batch.attempt, ids } satisfies SendClaim);
    for (let attempt = 1; ; attempt++) {
      let retryable = true;
      let why: string;
      try {
        const res = await doFetch(claimUrl, {
          method: "POST",
          headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(deps.probeSecret, { method: "POST", path: SEND_CLAIM_PATH }, body) },
          body,
          signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS),
        });
        if (res.ok) {
          const parsed = SendClaimAnswerSchema.safeParse(await res.json().catch(() => null));
          if (parsed.success) {
            // Only what was asked for: an id this batch did not ask about is never sent.
            const asked = new Set(ids);
            return { claimed: parsed.data.claimed.filter((id) => asked.has(id)), stop: parsed.data.stop };
          }
          why = "an answer outside SendClaimAnswerSchema";
          retryable = false;
        } else {
          await res.body?.cancel().catch(() => {});
          why = `HTTP ${res.status}`;
          retryable = res.status >= 500 || res.status === 429 || res.status === 408;
        }
      } catch (err) {
        why = String(err);
      }
      // A retry wins only ids still queued: any a lost answer had already given this probe stay
      // `sending` and end as unknown_outcome when the lease runs out. Never a second copy.
      if (!retryable || attempt >= CLAIM_ATTEMPTS || clock.now() + CLAIM_RETRY_MS * attempt >= deadline || signal.aborted) {
        log("send claim failed, stopping the batch", { batch_id: batch.batch_id, why, attempts: attempt });
        summary.stopped = `claim failed: ${why}`;
        return null;
      }
      await clock.sleep(CLAIM_RETRY_MS * attempt, signal);
    }
  }

  const release = (r: SendRecipient, last: RelayOutcome | null, relayId: string | null) =>
    record({ id: r.id, status: "queued", relay_id: relayId, queue_id: null, reply: last?.reply ?? null });

  /** The recipient's message to the relay, or why it has none (its row does not render). */
  async function sendOne(composer: Composer, pool: RelayPool, r: SendRecipient): Promise<RelayOutcome | { kind: "unrenderable"; detail: string }> {
    let message;
    try {
      message = composer.compose(r, clock.now());
    } catch (e) {
      if (e instanceof TemplateError) return { kind: "unrenderable", detail: e.message };
      throw e;
    }
    return pool.send(message, stopSending);
  }

  /** Hands claimed recipients to the current relay, failing over; records each one's outcome. */
  async function deliver(composer: Composer, claimed: SendRecipient[]): Promise<void> {
    let todo = claimed;
    while (todo.length > 0) {
      const relay = batch.relays[relayIndex]!;
      const pool = poolOf(relayIndex);
      const outcomes = await Promise.all(todo.map((r) => sendOne(composer, pool, r)));
      const again: { r: SendRecipient; outcome: RelayFailure }[] = [];
      outcomes.forEach((outcome, i) => {
        const r = todo[i]!;
        switch (outcome.kind) {
          case "accepted":
            return record({ id: r.id, status: "sent", relay_id: relay.id, queue_id: outcome.queueId, reply: outcome.reply });
          case "refused":
            return record({ id: r.id, status: "failed", relay_id: relay.id, queue_id: null, reply: outcome.reply });
          case "unrenderable":
            log("a recipient's message does not render", { batch_id: batch.batch_id, id: r.id, detail: outcome.detail });
            return record({ id: r.id, status: "failed", relay_id: null, queue_id: null, reply: null });
          case "lost":
            return record({ id: r.id, status: "unknown_outcome", relay_id: relay.id, queue_id: null, reply: null });
          case "canceled":
            return release(r, null, null);
          case "auth_failed":
            halt.pause ??= { reason: "relay_auth_failed", relay_id: relay.id, detail: outcome.detail.slice(0, 1_024) };
            return release(r, outcome, relay.id);
          case "sender_refused":
            halt.pause ??= { reason: "relay_refused_sender", relay_id: relay.id, detail: outcome.detail.slice(0, 1_024) };
            return release(r, outcome, relay.id);
          case "deferred":
          case "connection_failed":
            again.push({ r, outcome });
        }
      });
      if (again.length === 0) return;
      const last = again.at(-1)!.outcome;
      if (halt.pause) {
        for (const a of again) release(a.r, a.outcome, relay.id);
        return;
      }
      // The relay deferred or could not be reached: the batch moves to the next relay for good.
      log("relay failed over", { batch_id: batch.batch_id, relay_id: relay.id, kind: last.kind, detail: last.detail, messages: again.length });
      relayIndex++;
      if (relayIndex >= batch.relays.length) {
        halt.pause = { reason: "relays_exhausted", relay_id: relay.id, detail: `every relay deferred or could not be reached; the last, ${relay.host}:${relay.port}: ${last.detail}`.slice(0, 1_024) };
        for (const a of again) release(a.r, a.outcome, relay.id);
        return;
      }
      // The messages it did not take go to the next relay, inside that relay's own limits.
      const next = batch.relays[relayIndex]!;
      todo = [];
      while (todo.length < again.length) {
        const n = await deps.budget.takeUpTo(next, again.length - todo.length, deadline, stopSending);
        if (n === 0) break;
        todo.push(...again.slice(todo.length, todo.length + n).map((a) => a.r));
      }
      for (const a of again.slice(todo.length)) release(a.r, a.outcome, relay.id);
    }
  }

  let next = 0;
  try {
    let composer: Composer;
    try {
      composer = createComposer(batch);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      // The edge checked it with the same code; a probe of another version may read it otherwise.
      halt.pause = { reason: "template_invalid", relay_id: null, detail: e.message.slice(0, 1_024) };
      return summary;
    }
    while (next < batch.recipients.length && !halt.pause && !stopSending.aborted) {
      const relay = batch.relays[relayIndex]!;
      const want = Math.min(groupSize, batch.recipients.length - next);
      const slots = await deps.budget.takeUpTo(relay, want, deadline, stopSending);
      if (slots === 0) break; // the budget ran out waiting for the relay's limits
      const group = batch.recipients.slice(next, next + slots);
      next += slots;
      const answer = await claim(group.map((r) => r.id));
      if (!answer) {
        next -= slots; // never claimed: still the edge's to hand out
        break;
      }
      const won = new Set(answer.claimed);
      const claimed = group.filter((r) => won.has(r.id));
      summary.not_claimed += group.length - claimed.length;
      if (answer.stop !== null) {
        // The campaign stopped sending (paused, canceled…): what was won here goes back.
        summary.stopped = answer.stop;
        for (const r of claimed) release(r, null, null);
        break;
      }
      await deliver(composer, claimed);
      await pushChunk(false);
    }
    return summary;
  } finally {
    clearTimeout(budgetTimer);
    summary.not_reached = batch.recipients.length - next;
    summary.pause = halt.pause;
    if (halt.pause) summary.stopped ??= halt.pause.reason;
    for (const pool of pools.values()) pool.close();
    await pushChunk(true, halt.pause ?? undefined);
    log("send batch finished", { ...summary });
  }
}
