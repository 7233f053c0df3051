// What the engine and its SMTP scheduler tell whoever watches them (the daemon's metrics). Its own
// module so that both can import it without importing each other.
import type { Result } from "../core/contracts.ts";
import type { RcptClass } from "../core/verdict.ts";

/** Hooks for metrics; every method is optional and must not throw. */
export interface EngineObserver {
  connectionOpened?(mx: string): void;
  connectionClosed?(mx: string): void;
  rcptSent?(mx: string, rcptClass: RcptClass): void;
  dnsLookup?(durationMs: number, outcome: string): void;
  resultReady?(result: Result): void;
}
