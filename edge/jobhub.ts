// One Durable Object per job. `fetch` only accepts the WebSocket and sends a snapshot; producers
// call the idempotent `update` RPC; messages are coalesced to PROGRESS_INTERVAL_MS and broadcast
// to every socket (edge/livehub.ts).
import { addressKey } from "../core/address.ts";
import type { TailWaiting } from "../core/contracts.ts";
import { LATEST_RESULTS, PROGRESS_INTERVAL_MS, sumWaiting, type BatchWaiting, type JobProgress, type LatestRow, type LiveMessage } from "../core/live.ts";
import { LiveHub } from "./livehub.ts";

interface HubState {
  job: JobProgress;
  latest: LatestRow[];
  seq: number;
  /** What each running batch's unanswered addresses wait on (issue 26), by batch id. */
  waiting?: Record<string, Omit<BatchWaiting, "batch_id">>;
  /** The batches that ended most recently (at most ENDED_KEPT), so a late chunk cannot bring one back. */
  ended?: string[];
}

/** Ended batches remembered: the state stays far under a Durable Object value's 128 KiB whatever the job's size. */
const ENDED_KEPT = 256;

export class JobHub extends LiveHub<LiveMessage> {
  private state: HubState | null = null;
  private lastSentAt = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private rateSample: { at: number; processed: number } | null = null;
  /** Results that arrived since the last progress message (the newest chunk first). */
  private unsent: LatestRow[] = [];

  private async load(): Promise<HubState | null> {
    this.state ??= (await this.ctx.storage.get<HubState>("state")) ?? null;
    return this.state;
  }

  override async fetch(request: Request): Promise<Response> {
    return this.accept(request, async () => {
      const state = await this.load();
      return state ? { type: "snapshot", job: state.job, latest: state.latest, waiting: this.waitingNow(state) } : null;
    });
  }

  /** Producers' entry: a newer `seq` replaces the state; an old or repeated one changes nothing. */
  async update(job: JobProgress, results: LatestRow[], seq: number): Promise<void> {
    const state = await this.load();
    const terminal = job.status === "completed" || job.status === "failed" || job.status === "canceled";
    // An equal seq still carries news when the status became terminal (a cancel moves no counter).
    if (state && (seq < state.seq || (seq === state.seq && (!terminal || state.job.status === job.status)))) return;
    const latest = [...results.slice(-LATEST_RESULTS), ...(state?.latest ?? [])].slice(0, LATEST_RESULTS);
    this.state = { job, latest, seq, ...(state?.waiting ? { waiting: state.waiting, ended: state.ended ?? [] } : {}) };
    this.unsent = [...results.slice(-LATEST_RESULTS), ...this.unsent].slice(0, LATEST_RESULTS);
    await this.ctx.storage.put("state", this.state);
    if (terminal) {
      // The last chunk's results ride on the last message: no progress message follows it.
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      const fresh = this.unsent;
      this.unsent = [];
      this.broadcast({ type: "completed", job, latest: fresh });
      return;
    }
    this.schedule();
  }

  /**
   * What batches' addresses wait on now (issue 26): a probe's summary replaces an older chunk's of
   * its batch (a repeated or late chunk changes nothing), null ends it. Known before any update
   * is ignored: there is no job to tell of yet.
   */
  async tailWaiting(changes: BatchWaiting[]): Promise<void> {
    const state = await this.load();
    if (!state || changes.length === 0) return;
    const waiting = { ...state.waiting };
    const ended = [...(state.ended ?? [])];
    let moved = false;
    for (const { batch_id, seq, waiting: w } of changes) {
      // An ended batch stays ended, and leaves the map; a re-queue's estimate (seq -1) gives way to its probe's word.
      if (ended.includes(batch_id)) continue;
      if (w === null) {
        delete waiting[batch_id];
        ended.push(batch_id);
        if (ended.length > ENDED_KEPT) ended.shift();
      } else {
        const had = waiting[batch_id];
        if (had && seq <= had.seq) continue;
        waiting[batch_id] = { seq, waiting: w };
      }
      moved = true;
    }
    if (!moved) return;
    this.state = { ...state, waiting, ended };
    await this.ctx.storage.put("state", this.state);
    if (!(state.job.status === "completed" || state.job.status === "failed" || state.job.status === "canceled")) this.schedule();
  }

  /** Every batch's waiting summed; undefined when no probe or re-queue ever said. */
  private waitingNow(state: HubState): TailWaiting | undefined {
    return state.waiting ? sumWaiting(Object.values(state.waiting).map((b) => b.waiting)) : undefined;
  }

  private schedule(): void {
    if (this.flushTimer) return; // a flush is due: it will carry this state
    const wait = Math.max(0, this.lastSentAt + PROGRESS_INTERVAL_MS - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  /**
   * Retention and erasure (issue 25): the newest results the hub keeps for its snapshot leave its
   * storage: those naming these address keys, or all of them (null) when the job's results went.
   */
  async forget(keys: string[] | null): Promise<number> {
    const state = await this.load();
    if (!state) return 0;
    const named = (r: LatestRow) => {
      if (keys === null) return true;
      const key = "normalized" in r && r.normalized ? r.normalized : r.email === null ? null : addressKey(r.email);
      return key !== null && keys.includes(key);
    };
    const kept = state.latest.filter((r) => !named(r));
    this.unsent = this.unsent.filter((r) => !named(r));
    if (kept.length === state.latest.length) return 0;
    this.state = { ...state, latest: kept };
    await this.ctx.storage.put("state", this.state);
    return state.latest.length - kept.length;
  }

  private flush(): void {
    this.flushTimer = null;
    const state = this.state;
    if (!state) return;
    const now = Date.now();
    const sample = this.rateSample;
    const rate = sample && now > sample.at ? ((state.job.processed - sample.processed) * 1000) / (now - sample.at) : 0;
    this.rateSample = { at: now, processed: state.job.processed };
    const left = state.job.unique - state.job.processed;
    this.lastSentAt = now;
    const fresh = this.unsent;
    this.unsent = [];
    this.broadcast({
      type: "progress",
      job: state.job,
      // Only what is new since the previous message: a socket already has the rest.
      latest: fresh,
      rate_per_s: Math.round(rate * 10) / 10,
      eta_s: rate > 0 ? Math.ceil(left / rate) : null,
      ...(state.waiting ? { waiting: this.waitingNow(state) } : {}),
    });
  }
}
