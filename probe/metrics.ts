// Prometheus metrics for the probe daemon, on a registry of its own (no global state, so tests
// and several apps in one process never collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EngineObserver } from "./observer.ts";
import type { RelayBudget } from "./sending/relaybudget.ts";
import type { SharedMxState } from "./shared.ts";

export interface ProbeMetrics {
  registry: Registry;
  observer: EngineObserver;
  batchesInFlight: Gauge;
  resultsPosted: Counter;
  postFailures: Counter<"kind">;
  outboxDepth: Gauge;
  outboxDeadLetters: Gauge;
  /** Messages handed to relays, by what the relay did (probe/sending/transport.ts RelayOutcome). */
  relayMessages: Counter<"outcome">;
  /** Campaign recipients' recorded outcomes: sent, failed, unknown_outcome, queued. */
  sendOutcomes: Counter<"status">;
}

export function createMetrics(opts: { defaultMetrics?: boolean; shared?: SharedMxState; sharedConfigured?: boolean; relayBudget?: RelayBudget } = {}): ProbeMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "mxray_probe_" });
  const registers = [registry];
  if (opts.shared) sharedStateMetrics(opts.shared, opts.sharedConfigured ?? false, registers);
  if (opts.relayBudget) relayBudgetMetrics(opts.relayBudget, registers);

  const checks = new Counter({
    name: "mxray_checks_total",
    help: "Addresses verified, by verdict and reason.",
    labelNames: ["verdict", "reason"] as const,
    registers,
  });
  const rcptReplies = new Counter({
    name: "mxray_rcpt_replies_total",
    help: "RCPT TO replies, by the class the reply parser gave them.",
    labelNames: ["class"] as const,
    registers,
  });
  const connectionsOpened = new Counter({
    name: "mxray_smtp_connections_opened_total",
    help: "SMTP connections opened.",
    registers,
  });
  const connectionsOpen = new Gauge({
    name: "mxray_smtp_connections_open",
    help: "SMTP connections open now.",
    registers,
  });
  const dnsLatency = new Histogram({
    name: "mxray_dns_lookup_seconds",
    help: "DNS lookup latency, by outcome.",
    labelNames: ["outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });

  const observer: EngineObserver = {
    connectionOpened: () => {
      connectionsOpened.inc();
      connectionsOpen.inc();
    },
    connectionClosed: () => connectionsOpen.dec(),
    rcptSent: (_mx, rcptClass) => rcptReplies.inc({ class: rcptClass }),
    dnsLookup: (ms, outcome) => dnsLatency.observe({ outcome }, ms / 1000),
    resultReady: (r) => checks.inc({ verdict: r.verdict, reason: r.reason }),
  };

  return {
    registry,
    observer,
    batchesInFlight: new Gauge({
      name: "mxray_batches_in_flight",
      help: "Batches being verified now.",
      registers,
    }),
    resultsPosted: new Counter({
      name: "mxray_results_posted_total",
      help: "Results the edge acknowledged.",
      registers,
    }),
    postFailures: new Counter({
      name: "mxray_result_post_failures_total",
      help: "Failed result posts: retry (will be sent again) or dropped (refused by the edge).",
      labelNames: ["kind"] as const,
      registers,
    }),
    outboxDepth: new Gauge({
      name: "mxray_outbox_depth",
      help: "Result chunks written but not yet acknowledged by the edge.",
      registers,
    }),
    outboxDeadLetters: new Gauge({
      name: "mxray_outbox_dead_letters",
      help: "Result chunks that kept failing, parked in the outbox's dead/ folder (not re-sent).",
      registers,
    }),
    relayMessages: new Counter({
      name: "mxray_relay_messages_total",
      help: "Campaign messages handed to relays, by outcome: accepted, refused, deferred, connection_failed, auth_failed, sender_refused, lost (after DATA: unknown outcome), canceled.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    sendOutcomes: new Counter({
      name: "mxray_send_outcomes_total",
      help: "Campaign recipients' outcomes recorded for the edge: sent, failed, unknown_outcome, queued (released unsent).",
      labelNames: ["status"] as const,
      registers,
    }),
  };
}

/** Relay limits (probe/sending/relaybudget.ts): whether the fleet's counts can be reached, and what waited for them. */
function relayBudgetMetrics(budget: RelayBudget, registers: Registry[]): void {
  new Gauge({
    name: "mxray_relay_budget_up",
    help: "1 while relay limits can be counted (the fleet's Redis answers, or memory without one); 0 while a configured Redis is away and no message is sent.",
    registers,
    collect() {
      this.set(budget.stats().redisUp ? 1 : 0);
    },
  });
  let heldSeen = 0;
  new Counter({
    name: "mxray_relay_budget_held_total",
    help: "Sends that gave up at their deadline because the fleet's Redis was away (held back, never sent past a relay's limit).",
    registers,
    collect() {
      const { heldForRedis } = budget.stats();
      this.inc(heldForRedis - heldSeen);
      heldSeen = heldForRedis;
    },
  });
}

/** The fleet-shared state's health and what it saved, read from its stats at each scrape. */
function sharedStateMetrics(shared: SharedMxState, configured: boolean, registers: Registry[]): void {
  new Gauge({
    name: "mxray_shared_state_configured",
    help: "1 when the probe was given the fleet's Redis (MXRAY_FLEET_REDIS_REST_URL) for fleet-shared MX state.",
    registers,
    collect() {
      this.set(configured ? 1 : 0);
    },
  });
  new Gauge({
    name: "mxray_shared_state_up",
    help: "1 while Redis answers; 0 when the probe runs on its own memory (not configured, or unreachable).",
    registers,
    collect() {
      this.set(shared.stats().mode === "redis" ? 1 : 0);
    },
  });
  new Gauge({
    name: "mxray_breakers_open",
    help: "MX addresses this probe keeps away from now (circuit breakers open).",
    registers,
    collect() {
      this.set(shared.stats().openBreakers);
    },
  });
  let errorsSeen = 0;
  new Counter({
    name: "mxray_shared_state_errors_total",
    help: "Redis calls for shared state that failed (each starts a spell on local memory).",
    registers,
    collect() {
      const { redisErrors } = shared.stats();
      this.inc(redisErrors - errorsSeen);
      errorsSeen = redisErrors;
    },
  });
  const hitsSeen = { breaker: 0, catchAll: 0, deferral: 0 };
  new Counter({
    name: "mxray_fleet_hits_total",
    help: "Decisions taken on another probe's discovery: a dead MX skipped, a catch-all answer reused, a provider's pause kept.",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      const { fleetHits } = shared.stats();
      for (const kind of ["breaker", "catchAll", "deferral"] as const) {
        this.inc({ kind: kind === "catchAll" ? "catch_all" : kind }, fleetHits[kind] - hitsSeen[kind]);
        hitsSeen[kind] = fleetHits[kind];
      }
    },
  });
}
