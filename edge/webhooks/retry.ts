// The retry policy of webhook deliveries, shared by both transports. No imports: the Services
// builder (edge/context.ts) sizes QStash's retries from it without loading the delivery code.

/** Waits before attempts 2…7; after the 7th failed attempt the delivery is `failed`. Both transports. */
export const RETRY_SCHEDULE_MS = [30_000, 2 * 60_000, 10 * 60_000, 60 * 60_000, 6 * 60 * 60_000, 24 * 60 * 60_000] as const;
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
