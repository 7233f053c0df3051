// Prometheus metrics for the probe daemon, on a registry of its own (no global state, so tests
// and several apps in one process never collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EngineObserver } from "./engine.ts";

export interface ProbeMetrics {
  registry: Registry;
  observer: EngineObserver;
  batchesInFlight: Gauge;
  resultsPosted: Counter;
  postFailures: Counter<"kind">;
  outboxDepth: Gauge;
  outboxDeadLetters: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): ProbeMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "mxray_probe_" });
  const registers = [registry];

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
  };
}
