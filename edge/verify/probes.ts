// Asking the fleet for a synchronous answer (a check, a find, a relay test, a sender's message or
// checklist): the live probes, least loaded first, until one answers. Kept apart from verify.ts,
// whose charging runs after-commit effects, so capabilities that only ask a probe (relays,
// senders) import no charging, and edge/aftercommit.ts → campaigns → relays makes no cycle.
import type { ProbeAnswer, ProbeTarget } from "../adapters/probeclient.ts";
import type { Services } from "../context.ts";
import { liveProbes } from "../dispatch/dispatch.ts";
import { ServiceError } from "../errors.ts";

/** Probes asked before giving up: a second chance, still within a synchronous request. */
export const PROBES_PER_CHECK = 2;
const PROBE_UNAVAILABLE_RETRY_S = 30;

/**
 * Asks the live probes, least loaded first, until one answers: a second chance, still within a
 * synchronous request. Each failure is logged and the next probe asked.
 */
export async function askProbes<T>(s: Services, ask: (probe: ProbeTarget) => Promise<ProbeAnswer<T>>): Promise<T> {
  const probes = (await liveProbes(s)).sort((a, b) => a.inFlight / Math.max(1, a.capacity) - b.inFlight / Math.max(1, b.capacity));
  if (probes.length === 0) throw new ServiceError("probe_unavailable", "No probe is online; try again shortly", PROBE_UNAVAILABLE_RETRY_S);
  for (const probe of probes.slice(0, PROBES_PER_CHECK)) {
    const answer = await ask(probe);
    if (answer.ok) return answer.result;
    console.log(JSON.stringify({ msg: "probe failed a check", probe_id: probe.id, error: answer.error, detail: answer.detail }));
  }
  throw new ServiceError("probe_unavailable", "No probe answered in time; try again", PROBE_UNAVAILABLE_RETRY_S);
}
