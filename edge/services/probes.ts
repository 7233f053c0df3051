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
  // An operator's "disabled" (/admin) outlives heartbeats: only the operator enables it again.
  const status = sql`CASE WHEN ${probes.status} = 'disabled' THEN 'disabled' ELSE excluded.status END`;
  await db.insert(probes).values({ id: hb.probe_id, ...values }).onConflictDoUpdate({ target: probes.id, set: { ...values, status } });
}
