// The engine's concurrency primitives: a FIFO cap (connections, DNS lookups) and a window shared
// fairly between calls (admission).

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
