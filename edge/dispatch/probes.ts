// The probe fleet: probes register and stay alive by signed heartbeats; a draining probe gets
// no new work; askProbes asks the live ones for a synchronous answer (a single check, a relay
// test, a sender's confirmation). Fleet-wide work for nobody in particular: `(services, input)`.
import { sql } from "drizzle-orm";
import type { Heartbeat } from "../../core/contracts.ts";
import { probes } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import type { Effects } from "../effects.ts";
import { ServiceError } from "../errors.ts";
import type { ProbeAnswer, ProbeTarget } from "../adapters/probeclient.ts";
import { liveProbes, type ProbeRow } from "./dispatch.ts";

/** Records a probe's heartbeat; a probe that is not draining may take waiting batches (the effect). */
export async function recordHeartbeat(s: Services, hb: Heartbeat, now = Date.now()): Promise<Effects> {
  const values = {
    url: hb.url.replace(/\/+$/, ""),
    version: hb.version,
    capacity: hb.capacity,
    inFlight: hb.in_flight,
    status: hb.draining ? ("draining" as const) : ("active" as const),
    lastHeartbeatAt: now,
  };
  // A heartbeat without them (an older probe, or before its first self-check) keeps the last known.
  const reported = {
    ...(hb.self_check ? { selfCheck: JSON.stringify(hb.self_check) } : {}),
    ...(hb.shared_state ? { sharedState: JSON.stringify(hb.shared_state) } : {}),
  };
  // An operator's "disabled" or "drained" (/admin) outlives heartbeats: only the operator undoes it.
  const status = sql`CASE WHEN ${probes.status} IN ('disabled', 'drained') THEN ${probes.status} ELSE excluded.status END`;
  await s.db
    .insert(probes)
    .values({ id: hb.probe_id, ...values, ...reported })
    .onConflictDoUpdate({ target: probes.id, set: { ...values, ...reported, status } });
  return { dispatch: !hb.draining };
}

/** Probes asked before giving up: a second chance, still within a synchronous request. */
export const PROBES_PER_CHECK = 2;
const PROBE_UNAVAILABLE_RETRY_S = 30;

/** The first pause while waiting for a live probe; each next one doubles, up to the longest. */
const PROBE_WAIT_FIRST_STEP_MS = 250;
const PROBE_WAIT_LONGEST_STEP_MS = 1_000;

/**
 * The live probes, waiting up to `waitMs` for a first one to report in when there is none (at
 * start, or while the fleet restarts): the fleet is read again after 250 ms, 500 ms, then every
 * second, so a 5 s wait is at most 8 reads. A Durable Object woken by the heartbeat would save
 * those reads, but they happen only while no probe is alive at all.
 */
async function liveProbesWithin(s: Services, waitMs: number): Promise<{ live: ProbeRow[]; waitedMs: number }> {
  const started = s.clock.now();
  let waitedMs = 0;
  let slept = 0;
  for (let step = PROBE_WAIT_FIRST_STEP_MS; ; step = Math.min(2 * step, PROBE_WAIT_LONGEST_STEP_MS)) {
    const live = await liveProbes(s);
    if (live.length > 0) return { live, waitedMs };
    // The pauses taken count too: a clock that does not move cannot hold a request forever.
    const left = waitMs - Math.max(s.clock.now() - started, slept);
    if (left <= 0) return { live, waitedMs };
    const pause = Math.min(step, left);
    await s.clock.sleep(pause);
    slept += pause;
    waitedMs = Math.max(s.clock.now() - started, slept);
  }
}

/**
 * Asks the live probes, least loaded first, until one answers: a second chance, still within a
 * synchronous request. Each failure is logged and the next probe asked. With `waitMs`, a request
 * that finds no live probe waits that long for one; `ask` learns how long it waited (0 when a
 * probe was live at once), to take it off its budget.
 */
export async function askProbes<T>(s: Services, ask: (probe: ProbeTarget, waitedMs: number) => Promise<ProbeAnswer<T>>, options: { waitMs?: number } = {}): Promise<T> {
  const { live, waitedMs } = await liveProbesWithin(s, options.waitMs ?? 0);
  const probes = live.sort((a, b) => a.inFlight / Math.max(1, a.capacity) - b.inFlight / Math.max(1, b.capacity));
  if (probes.length === 0) throw new ServiceError("probe_unavailable", "No probe is online; try again shortly", PROBE_UNAVAILABLE_RETRY_S);
  for (const probe of probes.slice(0, PROBES_PER_CHECK)) {
    const answer = await ask(probe, waitedMs);
    if (answer.ok) return answer.result;
    console.log(JSON.stringify({ msg: "probe failed a check", probe_id: probe.id, error: answer.error, detail: answer.detail }));
  }
  throw new ServiceError("probe_unavailable", "No probe answered in time; try again", PROBE_UNAVAILABLE_RETRY_S);
}
