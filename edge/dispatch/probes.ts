// The probe fleet: probes register and stay alive by signed heartbeats; a draining probe gets
// no new work.
import { sql } from "drizzle-orm";
import type { Heartbeat } from "../../core/contracts.ts";
import { probes } from "../../db/schema.ts";
import type { EdgeDb } from "../db.ts";

export async function recordHeartbeat(db: EdgeDb, hb: Heartbeat, now = Date.now()): Promise<void> {
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
  await db
    .insert(probes)
    .values({ id: hb.probe_id, ...values, ...reported })
    .onConflictDoUpdate({ target: probes.id, set: { ...values, ...reported, status } });
}
