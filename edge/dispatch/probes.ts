// The probe fleet: probes register and stay alive by signed heartbeats; a draining probe gets
// no new work. Fleet-wide work for nobody in particular: `(services, input)`.
import { sql } from "drizzle-orm";
import type { Heartbeat } from "../../core/contracts.ts";
import { probes } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import type { Effects } from "../effects.ts";

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
