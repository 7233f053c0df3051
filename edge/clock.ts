// Time as the edge's waiting code sees it: injected (Services.clock, edge/db.ts) so that tests
// drive waits instead of sleeping through them.
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)) };
