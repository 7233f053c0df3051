// What a batch's addresses in flight wait on (core/contracts.ts TailWaiting), for the job page's
// "3 addresses waiting on greylisting, next try in 12 s" (issue 26). The call's checks tell the
// board when an address starts, is greylisted (with its retry time) and is answered; the batch
// reads a summary at each chunk. Bounded by the call's window: one entry per address in flight.
import type { TailWaiting } from "../core/contracts.ts";

/** An address asked and unanswered this long (not greylisted) is waiting on a slow server. */
export const SLOW_SERVER_AFTER_MS = 2_000;

export class WaitingBoard {
  private readonly started = new Map<object, number>();
  /** When each greylisted address is asked again (ms since the epoch). */
  private readonly retries = new Map<object, number>();

  start(address: object, at: number): void {
    this.started.set(address, at);
  }

  /** The server greylisted it: asked again at `retryAt`, or (null) no more this batch. */
  greylisted(address: object, retryAt: number | null): void {
    if (retryAt === null) this.retries.delete(address);
    else this.retries.set(address, retryAt);
  }

  done(address: object): void {
    this.started.delete(address);
    this.retries.delete(address);
  }

  summary(now: number): TailWaiting {
    const waiting: TailWaiting = {};
    if (this.retries.size > 0) {
      let next = Number.POSITIVE_INFINITY;
      for (const at of this.retries.values()) next = Math.min(next, at);
      waiting.greylisted = { count: this.retries.size, next_try_at: new Date(next).toISOString() };
    }
    let slow = 0;
    for (const [address, at] of this.started) if (!this.retries.has(address) && now - at >= SLOW_SERVER_AFTER_MS) slow++;
    if (slow > 0) waiting.slow_server = { count: slow };
    return waiting;
  }
}
