// The verification engine: syntax and lists (core/), DNS, then SMTP through the per-MX scheduler.
// Everything that verifies addresses (CLI, daemon, benchmark) goes through `createEngine`.
import type { Result } from "../core/contracts.ts";
import type { RcptClass } from "../core/verdict.ts";

export interface EngineOptions {
  /** MAIL FROM reverse-path; "" sends the null sender `<>`. */
  from: string;
  /** EHLO name; should match the host's PTR record in production. */
  helo: string;
  /** DNS servers as "host" or "host:port"; empty means the system resolver's servers. */
  dnsServers: string[];
  /** SMTP port (25 in production; the simulated world uses another). */
  port: number;
  /** Per-phase SMTP timeout in milliseconds. */
  timeoutMs: number;
  /** Global cap on simultaneous SMTP connections. */
  concurrency: number;
  /** Simultaneous connections to one MX host. */
  perHostConnections: number;
  /** How long greylisted addresses may be retried before answering unknown. */
  greylistBudgetMs: number;
  /** How long a domain's catch-all answer is reused. */
  catchAllTtlMs: number;
  observer?: EngineObserver;
}

/** Hooks for metrics; every method is optional and must not throw. */
export interface EngineObserver {
  connectionOpened?(mx: string): void;
  connectionClosed?(mx: string): void;
  rcptSent?(mx: string, rcptClass: RcptClass): void;
  dnsLookup?(durationMs: number, outcome: string): void;
  resultReady?(result: Result): void;
}

export interface VerifyCall {
  /** Milliseconds the whole call may take, greylist retries included. */
  budgetMs?: number;
  trace?: boolean;
  signal?: AbortSignal;
}

export interface Engine {
  /** Verifies each address once and calls onResult as each finishes (any order). */
  verify(emails: string[], call: VerifyCall, onResult: (r: Result) => void): Promise<void>;
  /** SMTP connections currently open. */
  openConnections(): number;
  close(): Promise<void>;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  from: "",
  helo: "localhost",
  dnsServers: [],
  port: 25,
  timeoutMs: 10_000,
  concurrency: 32,
  perHostConnections: 2,
  greylistBudgetMs: 3 * 60_000,
  catchAllTtlMs: 24 * 60 * 60_000,
};
