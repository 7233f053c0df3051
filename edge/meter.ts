// Counters of what the design spends on hosted services (QStash messages, Redis commands,
// database rows written), per isolate. The cost-model benchmark reads them from a local stack
// through GET /internal/meter and scales them to 1M addresses.
export const meter = {
  qstashMessages: 0,
  redisCommands: 0,
  dbRowsWritten: 0,
  /** Requests to the database (a batch is one): what the write path's latency is made of. */
  dbRoundTrips: 0,
  /** Statements sent again because another writer held the lock (edge/db.ts). */
  dbBusyRetries: 0,
  /** Requests to Stripe's API (billing pages, checkout, auto top-up). */
  stripeRequests: 0,
};
export type Meter = typeof meter;

export function resetMeter(): void {
  meter.qstashMessages = 0;
  meter.redisCommands = 0;
  meter.dbRowsWritten = 0;
  meter.dbRoundTrips = 0;
  meter.dbBusyRetries = 0;
  meter.stripeRequests = 0;
}
