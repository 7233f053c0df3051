// The engine's concurrency primitives: a FIFO cap (connections, DNS lookups), a window shared
// fairly between calls (admission), each call's share of it (pulling inputs as it has room,
// answering in order or as they finish), and a single-flight map (identical addresses in flight
// together are checked once).

/** A global cap on open connections. FIFO so no MX group starves. */
export class Semaphore {
  private waiters: (() => void)[] = [];
  private used = 0;
  constructor(private readonly size: number) {}
  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.used--;
  }
  get inUse(): number {
    return this.used;
  }
}

/**
 * A window of slots shared by several callers (flows), handed out fairly: a freed slot goes to
 * the waiting flow with the fewest slots held, urgent flows (single checks) before the rest, and
 * the longest waiter on a tie. So a small batch admitted beside a big one gets its addresses in
 * at once instead of queuing behind the big one's backlog, and a single check never waits
 * behind batches.
 */
export class FairGate {
  private used = 0;
  private readonly waiting = new Set<FairFlow>();
  private ticket = 0;
  constructor(private readonly size: number) {}

  flow(urgent = false): FairFlow {
    return { held: 0, urgent, queue: [] };
  }

  async acquire(flow: FairFlow): Promise<void> {
    if (this.used < this.size && this.waiting.size === 0) {
      this.used++;
      flow.held++;
      return;
    }
    await new Promise<void>((resolve) => {
      flow.queue.push({ resolve, ticket: this.ticket++ });
      this.waiting.add(flow);
    });
  }

  release(flow: FairFlow): void {
    flow.held--;
    let next: FairFlow | null = null;
    for (const f of this.waiting) {
      if (!next || Number(f.urgent) > Number(next.urgent) || (f.urgent === next.urgent && (f.held < next.held || (f.held === next.held && f.queue[0]!.ticket < next.queue[0]!.ticket)))) next = f;
    }
    if (!next) {
      this.used--;
      return;
    }
    const waiter = next.queue.shift()!;
    if (next.queue.length === 0) this.waiting.delete(next);
    next.held++;
    waiter.resolve();
  }

  get inUse(): number {
    return this.used;
  }
}

export interface FairFlow {
  held: number;
  urgent: boolean;
  queue: { resolve: () => void; ticket: number }[];
}

/**
 * One call's share of a FairGate: each input takes a slot when it is admitted and gives it back
 * when it is answered. Answers are handed over as they come, or in input order: then the ones
 * after an unanswered input are held, and since they hold their slots too, the reorder buffer
 * never exceeds the window.
 */
export class AnswerWindow<T> {
  private readonly flow: FairFlow;
  private readonly held = new Map<number, T>();
  private head = 0;
  private unanswered = 0;
  private sourceDone = false;
  private allAnswered: (() => void) | null = null;

  constructor(
    private readonly gate: FairGate,
    private readonly ordered: boolean,
    urgent: boolean,
    private readonly deliver: (value: T, index: number) => void,
  ) {
    this.flow = gate.flow(urgent);
  }

  /**
   * Admits each input (its position from 0) as a slot frees, then waits until every admitted one
   * is answered. A source that throws stops admission; the error is thrown once the inputs in
   * flight are answered.
   */
  async pull<I>(source: Iterable<I> | AsyncIterable<I>, admit: (input: I, index: number) => void): Promise<void> {
    let sourceError: { error: unknown } | null = null;
    let index = 0;
    try {
      for await (const input of source) {
        await this.gate.acquire(this.flow);
        this.unanswered++;
        admit(input, index++);
      }
    } catch (error) {
      sourceError = { error };
    }
    this.sourceDone = true;
    if (this.unanswered > 0) await new Promise<void>((resolve) => (this.allAnswered = resolve));
    if (sourceError) throw sourceError.error;
  }

  /** The answer to the input at `index`; each input is answered once. */
  answer(value: T, index: number): void {
    if (!this.ordered) this.release(value, index);
    else {
      this.held.set(index, value);
      for (let next = this.held.get(this.head); next; next = this.held.get(this.head)) {
        this.held.delete(this.head);
        this.release(next, this.head++);
      }
    }
    if (this.sourceDone && this.unanswered === 0) this.allAnswered?.();
  }

  private release(value: T, index: number): void {
    this.gate.release(this.flow);
    this.unanswered--;
    this.deliver(value, index);
  }
}

/** Identical keys in flight together are worked on once: the first caller starts the work, the
 *  others join it, and every one of them is answered when it lands. */
export class SingleFlight<K, W> {
  private readonly flights = new Map<K, W[]>();

  /** True when `waiter` is the first for its key: its caller starts the work. */
  join(key: K, waiter: W): boolean {
    const waiters = this.flights.get(key);
    if (waiters) {
      waiters.push(waiter);
      return false;
    }
    this.flights.set(key, [waiter]);
    return true;
  }

  /** Ends the key's flight: its waiters, in the order they joined. */
  land(key: K): W[] {
    const waiters = this.flights.get(key) ?? [];
    this.flights.delete(key);
    return waiters;
  }
}
