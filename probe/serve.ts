// `mxray serve`: the probe daemon. Wires config → engine, sending → outbox → HTTP server, sends
// heartbeats, and shuts down gracefully: refuse new work, finish (or after the grace, abort)
// work in flight, flush results, close the engine.
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { HeartbeatAnswerSchema, type Heartbeat, type HeartbeatAnswer } from "../core/contracts.ts";
import { SIGNATURE_HEADER, sign } from "../core/signing.ts";
import { engineOptionsFrom, loadConfig, type ProbeConfig } from "./config.ts";
import type { Engine, EngineOptions } from "./engine.ts";
import { createMetrics } from "./metrics.ts";
import { createOutbox, isSendChunk, type Log } from "./outbox.ts";
import { runDoctor, type DoctorReport } from "./doctor.ts";
import { doctorOptionsFrom, startSelfCheck } from "./selfcheck.ts";
import { guardConnections, type ConnectionGuard } from "./connections.ts";
import { BODY_READ_DEADLINE_MS, createProbeApp, type ProbeApp } from "./server.ts";
import { createResolver } from "./dns.ts";
import { createBounces, type Bounces } from "./bounces/bounces.ts";
import type { ParseMessage } from "./bounces/monitor.ts";
import { parseMessage } from "./bounces/parse.ts";
import { createRelayBudget } from "./sending/relaybudget.ts";
import { createSending } from "./sending/sending.ts";
import { createSharedMxState } from "./shared.ts";

export const HEARTBEAT_PATH = "/internal/probes/heartbeat";
export const PROBE_VERSION = "0.1.0";
/** How long shutdown waits for the edge to take queued results; the rest stay on disk. */
const FLUSH_GRACE_MS = 10_000;
/**
 * Node's own limits on a request's arrival, far below its defaults (60 s for headers, 300 s for
 * the whole request: 16 slow bodies used to hold the probe for five minutes, issue 21). The whole
 * request gets more than the app's body deadline, so a slow signed body gets the app's 408 first.
 * A batch's answer may take minutes: these limit only receiving the request, not answering it.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = BODY_READ_DEADLINE_MS + HEADERS_TIMEOUT_MS;
/** How often Node enforces the two above (its default, 30 s, would stretch them by as much). */
const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;

export interface ServeOptions {
  env: NodeJS.ProcessEnv;
  engineFactory: (options: Partial<EngineOptions>) => Engine;
  version?: string;
  /** The self-check's doctor run; defaults to runDoctor with the daemon's options. */
  selfCheck?: () => Promise<DoctorReport>;
  /** The bounce parser; defaults to probe/bounces/parse.ts parseMessage. */
  parseBounce?: ParseMessage;
  /** Called once shutdown is complete; defaults to process.exit. */
  exit?: (code: number) => void;
}

/** One JSON object per line on stdout: what journald and `docker logs` handle best. */
const jsonLog: Log = (message, fields = {}) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), message, ...fields })}\n`);
};

/** Posts a heartbeat; the edge's answer when it gave one (an older edge answers without `mailboxes`). */
export async function postHeartbeat(config: Pick<ProbeConfig, "EDGE_URL" | "PROBE_SECRET" | "MXRAY_HEARTBEAT_MS">, heartbeat: Heartbeat, log: Log): Promise<HeartbeatAnswer | null> {
  const body = JSON.stringify(heartbeat);
  try {
    const res = await fetch(`${config.EDGE_URL}${HEARTBEAT_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, { method: "POST", path: HEARTBEAT_PATH }, body) },
      body,
      signal: AbortSignal.timeout(Math.max(1_000, config.MXRAY_HEARTBEAT_MS)),
    });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      log("heartbeat refused", { status: res.status });
      return null;
    }
    const answer = HeartbeatAnswerSchema.safeParse(await res.json().catch(() => null));
    if (!answer.success) log("heartbeat answer not understood", { error: answer.error.message.slice(0, 500) });
    return answer.success ? answer.data : null;
  } catch (err) {
    log("heartbeat failed", { error: String(err) });
    return null;
  }
}

/** The probe's HTTP server, with Node's arrival limits and the per-source cap on unsigned connections. */
export function createProbeServer(build: (connections: ConnectionGuard) => ProbeApp, hostname?: string): { server: Server; probe: ProbeApp } {
  let probe: ProbeApp | undefined;
  const server = createAdaptorServer({
    fetch: (req, env) => probe!.app.fetch(req, env),
    hostname,
    serverOptions: { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS },
  }) as Server;
  probe = build(guardConnections(server));
  return { server, probe };
}

function listen(server: Server, config: ProbeConfig): Promise<void> {
  return new Promise((resolve) => server.listen(config.PORT, config.HOST, () => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const loaded = loadConfig(opts.env);
  if (!loaded.ok) {
    process.stderr.write(`mxray serve: ${loaded.error}\n`);
    return exit(2);
  }
  const config = loaded.value;
  const log = jsonLog;
  const version = opts.version ?? PROBE_VERSION;

  const redis = config.MXRAY_FLEET_REDIS_REST_URL && config.MXRAY_FLEET_REDIS_REST_TOKEN ? { url: config.MXRAY_FLEET_REDIS_REST_URL, token: config.MXRAY_FLEET_REDIS_REST_TOKEN } : undefined;
  const shared = createSharedMxState({ probeId: config.PROBE_ID, ...(redis ? { redis } : {}) });
  // Relay limits are counted in the same fleet Redis (probe/sending/relaybudget.ts).
  const relayBudget = createRelayBudget(redis ? { redis } : {});
  let relayCa: string[] = [];
  if (config.MXRAY_RELAY_CA_FILE) {
    try {
      relayCa = [readFileSync(config.MXRAY_RELAY_CA_FILE, "utf8")];
    } catch (err) {
      process.stderr.write(`mxray serve: MXRAY_RELAY_CA_FILE: cannot read ${config.MXRAY_RELAY_CA_FILE}: ${String(err)}\n`);
      return exit(2);
    }
  }
  let imapCa: string[] = [];
  if (config.MXRAY_IMAP_CA_FILE) {
    try {
      imapCa = [readFileSync(config.MXRAY_IMAP_CA_FILE, "utf8")];
    } catch (err) {
      process.stderr.write(`mxray serve: MXRAY_IMAP_CA_FILE: cannot read ${config.MXRAY_IMAP_CA_FILE}: ${String(err)}\n`);
      return exit(2);
    }
  }
  const metrics = createMetrics({ defaultMetrics: true, shared, sharedConfigured: redis !== undefined, relayBudget });
  const engine = opts.engineFactory({ ...engineOptionsFrom(config), shared, observer: metrics.observer });
  const outbox = createOutbox({
    dir: config.MXRAY_OUTBOX_DIR,
    edgeUrl: config.EDGE_URL,
    secret: config.PROBE_SECRET,
    log,
    hooks: {
      posted: (chunk) => (isSendChunk(chunk) ? undefined : metrics.resultsPosted.inc(chunk.results.length)),
      failed: (kind) => metrics.postFailures.inc({ kind }),
      depthChanged: (depth) => metrics.outboxDepth.set(depth),
      deadLettersChanged: (count) => metrics.outboxDeadLetters.set(count),
    },
  });
  await outbox.start();
  const resolver = createResolver(config.MXRAY_DNS.length ? { servers: config.MXRAY_DNS } : {});
  const sending = createSending({
    probeId: config.PROBE_ID,
    edgeUrl: config.EDGE_URL,
    probeSecret: config.PROBE_SECRET,
    outbox,
    resolver,
    helo: config.MXRAY_HELO,
    allowPrivateTargets: config.MXRAY_ALLOW_PRIVATE_TARGETS,
    extraCa: relayCa,
    budget: relayBudget,
    log,
    relayOutcome: (outcome) => metrics.relayMessages.inc({ outcome }),
    recorded: (status) => metrics.sendOutcomes.inc({ status }),
  });
  const bounces: Bounces = createBounces({
    edgeUrl: config.EDGE_URL,
    probeSecret: config.PROBE_SECRET,
    probeId: config.PROBE_ID,
    resolver,
    allowPrivateTargets: config.MXRAY_ALLOW_PRIVATE_TARGETS,
    extraCa: imapCa,
    parse: opts.parseBounce ?? parseMessage,
    pollMs: config.MXRAY_BOUNCE_POLL_MS,
    log,
  });
  const { server, probe } = createProbeServer(
    (connections) => createProbeApp({ engine, config, outbox, metrics, probeId: config.PROBE_ID, log, connections, sending, bounces }),
    config.HOST,
  );
  await listen(server, config);
  let stopping = false;
  const selfCheck = startSelfCheck({ run: opts.selfCheck ?? (() => runDoctor(doctorOptionsFrom(config))), log });

  const heartbeat = (): Heartbeat => {
    const sharing = shared.stats();
    return {
      probe_id: config.PROBE_ID,
      url: config.PUBLIC_URL,
      version,
      in_flight: probe.inFlight(),
      capacity: config.MXRAY_MAX_INFLIGHT_BATCHES,
      draining: probe.draining(),
      sent_at: new Date().toISOString(),
      ...(selfCheck.latest() ? { self_check: selfCheck.latest() } : {}),
      shared_state: { mode: sharing.mode, open_breakers: sharing.openBreakers },
    };
  };
  // The answer names the bounce mailboxes this probe reads; an answer without them (an older edge) changes nothing.
  const beat = async () => {
    const answer = await postHeartbeat(config, heartbeat(), log);
    if (answer?.mailboxes && !stopping) bounces.setAssignments(answer.mailboxes);
  };
  void beat();
  const heartbeats = setInterval(() => void beat(), config.MXRAY_HEARTBEAT_MS);

  log("mxray probe listening", {
    probe_id: config.PROBE_ID,
    version,
    listen: `${config.HOST}:${config.PORT}`,
    public_url: config.PUBLIC_URL,
    edge_url: config.EDGE_URL,
    helo: config.MXRAY_HELO,
    smtp_port: config.MXRAY_SMTP_PORT,
    max_inflight_batches: config.MXRAY_MAX_INFLIGHT_BATCHES,
    outbox_dir: config.MXRAY_OUTBOX_DIR,
    outbox_leftovers: outbox.depth(),
    shared_state: redis ? `the fleet's redis at ${new URL(redis.url).host}` : "this probe's memory (no MXRAY_FLEET_REDIS_REST_URL)",
    relay_limits: redis ? "counted across the fleet (its redis)" : "counted by this probe alone: run one probe per relay, or give it MXRAY_FLEET_REDIS_REST_URL",
    ...(config.MXRAY_RELAY_CA_FILE ? { relay_ca_file: config.MXRAY_RELAY_CA_FILE } : {}),
    bounce_mailboxes: `read every ${config.MXRAY_BOUNCE_POLL_MS} ms`,
    ...(config.MXRAY_IMAP_CA_FILE ? { imap_ca_file: config.MXRAY_IMAP_CA_FILE } : {}),
  });

  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    log("shutting down", { signal, in_flight: probe.inFlight(), grace_ms: config.MXRAY_DRAIN_GRACE_MS });
    clearInterval(heartbeats);
    selfCheck.stop();
    const draining = probe.drain(config.MXRAY_DRAIN_GRACE_MS);
    // No new mailbox reads; the ones running end within their bounds (or the grace).
    const readsDone = withTimeout(bounces.stop(), config.MXRAY_DRAIN_GRACE_MS);
    await postHeartbeat(config, heartbeat(), log); // tells the edge to stop routing here
    await draining;
    await readsDone;
    await withTimeout(outbox.flush(), FLUSH_GRACE_MS);
    outbox.close();
    await closeServer(server);
    await engine.close();
    log("stopped", { outbox_left: outbox.depth() });
    exit(0);
  }
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}
