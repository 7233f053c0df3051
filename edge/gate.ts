// The fair gate the database client queues at (edge/db.ts): at most `size` callers at once in
// this isolate, shared fairly between lanes. Pure scheduling, with an injected clock for tests.

/**
 * At most `size` callers at once in this isolate, taken fairly across lanes: a freed turn goes to
 * the lane served longest ago, and within it to the oldest waiter. A lane is a request, or every
 * request carrying one job's results (Services.setDbLane), so a million-row job's result chunks
 * queue behind each other while another job's chunk, or a person's page, takes the next turn.
 * A waiter polls on its own timer rather than being woken by the one leaving: in workerd a promise
 * resolved from another request's context continues there, and its I/O would then fail ("Cannot
 * perform I/O on behalf of a different request"). The one leaving hands its turn to the waiter
 * chosen next, which takes it at its next poll. A waiter whose request went away stops polling and
 * is forgotten, and a turn handed to it is taken back.
 *
 * A burst (issue 22: 1,000 WebSocket upgrades at once, each reading its job) must cost the isolate
 * little while it waits: choosing is kept between turns (a poll is O(1), not a scan of every
 * waiter), freed turns are handed out together (not one per poll of whoever is first), a waiter
 * far back polls less often, and time the isolate spent on other work is not charged to the
 * database (see run).
 */
export class Gate {
  /** Turns running or handed over. */
  private active = 0;
  private next = 0;
  private tick = 0;
  /** Waiters in arrival order: when each should poll next, its lane, and its place in the queue. */
  private readonly waiters = new Map<number, { due: number; lane: string; place: number }>();
  /** Turns handed over and not yet taken: the waiter's id → when it should poll next. */
  private readonly handed = new Map<number, number>();
  /** When each lane last got a turn (a tick), for lanes seen lately. */
  private readonly served = new Map<string, number>();
  /** The waiter chosen() found, until a turn is given or a waiter leaves. */
  private head: number | undefined;
  /** Waiters that joined and that left: a waiter's place less `left` is about how many are ahead. */
  private joined = 0;
  private left = 0;
  /** How late this isolate's timers run now (ms): a waiter is gone only when much later than that. */
  private lag = 0;
  /** Turns ended so far: the queue moves while this grows. */
  private ended = 0;
  constructor(
    private readonly size: number,
    private readonly clock: { now(): number; sleep(ms: number): Promise<void> },
    /** How long the queue may stand still before a waiter gives up. */
    private readonly patienceMs: number,
  ) {}

  /**
   * Runs `work` when its turn comes; false (nothing run) if it had not come by `deadline`. The
   * deadline is for a queue that does not move (a database holding every turn): each turn that
   * ends while a caller waits gives it `patienceMs` more, and so does time this isolate spent on
   * other work (a pause that overran: the turns ahead may be done, their answers waiting behind
   * that work too). A burst then queues and is served instead of being told the database is
   * unavailable, while a database that answers nothing still is, on time.
   */
  async run<T>(work: () => Promise<T>, deadline: number, lane: string): Promise<{ ran: true; value: T } | { ran: false }> {
    const id = this.next++;
    if (this.active < this.size && this.waiters.size === 0) this.begin(lane);
    else if (!(await this.wait(id, lane, deadline))) return { ran: false };
    try {
      return { ran: true, value: await work() };
    } finally {
      this.end();
    }
  }

  private async wait(id: number, lane: string, deadline: number): Promise<boolean> {
    for (let until = deadline; ; ) {
      const ahead = this.join(id, lane);
      const pause = GATE_POLL_MS * Math.min(GATE_MAX_POLL_MS / GATE_POLL_MS, Math.max(1, ahead / this.size)) * (0.5 + Math.random());
      const due = this.clock.now() + pause;
      this.waiters.get(id)!.due = due;
      const ended = this.ended;
      await this.clock.sleep(pause);
      const now = this.clock.now();
      this.lag = Math.max(0, now - due);
      if (this.lag > GATE_POLL_MS) until += this.lag;
      if (this.ended !== ended) until = Math.max(until, now + this.patienceMs);
      if (this.handed.delete(id)) return true;
      this.takeBackUnclaimed(now);
      if (this.active < this.size && this.chosen(true) === id) {
        this.leave(id);
        this.begin(lane);
        return true;
      }
      if (now >= until) {
        this.leave(id);
        return false;
      }
    }
  }

  /** Puts the waiter in the queue (again, if it was taken for gone); how many are about ahead of it. */
  private join(id: number, lane: string): number {
    let w = this.waiters.get(id);
    if (!w) {
      w = { due: this.clock.now(), lane, place: this.joined++ };
      this.waiters.set(id, w);
      const head = this.head === undefined ? undefined : this.waiters.get(this.head);
      if (head && (this.served.get(lane) ?? -1) < (this.served.get(head.lane) ?? -1)) this.head = id;
    }
    return Math.max(0, w.place - this.left);
  }

  private leave(id: number): void {
    if (this.waiters.delete(id)) this.left++;
    if (this.head === id) this.head = undefined;
  }

  private gone(due: number, now: number): boolean {
    return now - due > this.lag + GATE_STALE_MS;
  }

  /**
   * The waiter whose turn is next: of the lane served longest ago, the oldest. Only a waiter's own
   * poll (`prune`), which knows how late timers run now, forgets waiters that went away; a turn
   * handed to one of them is taken back.
   */
  private chosen(prune = false): number | undefined {
    const now = this.clock.now();
    const head = this.head === undefined ? undefined : this.waiters.get(this.head);
    if (head && !(prune && this.gone(head.due, now))) return this.head;
    let best: { id: number; served: number } | undefined;
    for (const [id, w] of this.waiters) {
      if (prune && this.gone(w.due, now)) {
        this.leave(id);
        continue;
      }
      const served = this.served.get(w.lane) ?? -1;
      if (!best || served < best.served) best = { id, served };
    }
    this.head = best?.id;
    return this.head;
  }

  private serve(lane: string): void {
    // A lane's turn moves it behind every other: the choice is made afresh.
    this.head = undefined;
    this.served.set(lane, this.tick++);
    if (this.served.size > MAX_LANES_REMEMBERED) this.forgetIdleLanes();
  }

  private begin(lane: string): void {
    this.serve(lane);
    this.active++;
  }

  /** The turn passes to the waiter chosen next (it stays counted), or is freed. */
  private end(): void {
    this.ended++;
    const next = this.chosen();
    if (next === undefined) {
      this.active--;
      return;
    }
    const w = this.waiters.get(next)!;
    this.leave(next);
    this.handed.set(next, w.due);
    this.serve(w.lane);
  }

  private takeBackUnclaimed(now: number): void {
    for (const [id, due] of this.handed) {
      if (!this.gone(due, now)) continue;
      this.handed.delete(id);
      this.active--;
    }
  }

  private forgetIdleLanes(): void {
    const waiting = new Set([...this.waiters.values()].map((w) => w.lane));
    for (const lane of this.served.keys()) if (!waiting.has(lane)) this.served.delete(lane);
  }
}
const MAX_LANES_REMEMBERED = 1_000;
const GATE_POLL_MS = 2;
/** The slowest a waiter far back in the queue polls. */
const GATE_MAX_POLL_MS = 50;
/** A waiter this much later than the isolate's other timers went away. */
const GATE_STALE_MS = 250;
