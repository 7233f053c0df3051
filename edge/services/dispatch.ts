// Dispatch and the sweeper. A pending batch is claimed (status, probe, lease) by one conditional
// update, so concurrent dispatchers never send it twice, then handed to the Dispatcher (QStash,
// or the direct stand-in). The sweeper marks silent probes dead, takes back batches whose lease
// ran out or whose probe died, and answers "unknown" for addresses no probe could finish.
import { and, asc, eq, gte, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { BatchItem } from "../../core/ingest.ts";
import { batches, jobs, probes } from "../../db/schema.ts";
import { meter } from "../meter.ts";
import type { Services } from "./context.ts";
import { settleJob } from "./credits.ts";
import { applyResultChunk, MAX_DISPATCH_ATTEMPTS } from "./results.ts";

export { MAX_DISPATCH_ATTEMPTS };

export type ProbeRow = typeof probes.$inferSelect;

export async function liveProbes(s: Services, now = Date.now()): Promise<ProbeRow[]> {
  return s.db
    .select()
    .from(probes)
    .where(and(eq(probes.status, "active"), gte(probes.lastHeartbeatAt, now - s.config.MXRAY_PROBE_DEAD_MS)));
}

/** Sends as many pending batches as live probes have room for; returns how many were sent. */
export async function dispatchPending(s: Services, now = Date.now()): Promise<number> {
  const { db, dispatcher, config } = s;
  if (!dispatcher) {
    console.log(JSON.stringify({ msg: "no dispatcher: set QSTASH_TOKEN, or QSTASH_CURRENT_SIGNING_KEY for direct dispatch" }));
    return 0;
  }
  const alive = await liveProbes(s, now);
  if (alive.length === 0) return 0;
  const busy = await db
    .select({ probeId: batches.probeId, n: sql<number>`count(*)` })
    .from(batches)
    .where(eq(batches.status, "dispatched"))
    .groupBy(batches.probeId);
  const room = new Map(alive.map((p) => [p.id, Math.max(1, p.capacity) - (busy.find((b) => b.probeId === p.id)?.n ?? 0)]));
  const free = [...room.values()].reduce((a, b) => a + Math.max(0, b), 0);
  if (free === 0) return 0;
  // Only jobs whose ingest finished (credits reserved): a batch written mid-upload waits.
  const pending = await db
    .select({ id: batches.id, jobId: batches.jobId, items: batches.items, probeId: batches.probeId })
    .from(batches)
    .innerJoin(jobs, eq(jobs.id, batches.jobId))
    .where(and(eq(batches.status, "pending"), lte(batches.notBefore, now), inArray(jobs.status, ["queued", "running"])))
    .orderBy(asc(batches.createdAt))
    .limit(free);
  let sent = 0;
  const started = new Set<string>();
  for (const batch of pending) {
    // The probe with the most room, preferring one that did not just drop this batch.
    const choice = [...room.entries()]
      .filter(([, n]) => n > 0)
      .sort((a, b) => Number(a[0] === batch.probeId) - Number(b[0] === batch.probeId) || b[1] - a[1])[0];
    if (!choice) break;
    const probe = alive.find((p) => p.id === choice[0])!;
    const claimed = await db
      .update(batches)
      .set({ status: "dispatched", probeId: probe.id, leaseExpiresAt: now + config.MXRAY_LEASE_MS, attempts: sql`${batches.attempts} + 1`, updatedAt: now })
      .where(and(eq(batches.id, batch.id), eq(batches.status, "pending")))
      .returning({ id: batches.id });
    if (claimed.length === 0) continue; // another dispatcher took it
    meter.dbRowsWritten++;
    room.set(probe.id, choice[1] - 1);
    const items = JSON.parse(batch.items) as BatchItem[];
    const outcome = await dispatcher.dispatch({
      probeUrl: probe.url,
      probeId: probe.id,
      batch: {
        batch_id: batch.id,
        job_id: batch.jobId,
        emails: items.map((i) => i[1]),
        // Probes post to their configured EDGE_URL unless we know our public URL.
        ...(config.MXRAY_PUBLIC_URL ? { callback_url: `${s.origin}/internal/probes/results` } : {}),
        budget_ms: config.MXRAY_BATCH_BUDGET_MS,
      },
    });
    if (!outcome.ok) {
      console.log(JSON.stringify({ msg: "dispatch failed", batch_id: batch.id, probe_id: probe.id, error: outcome.error }));
      await db.update(batches).set({ status: "pending", leaseExpiresAt: null, updatedAt: now }).where(eq(batches.id, batch.id));
      meter.dbRowsWritten++;
      continue;
    }
    started.add(batch.jobId);
    sent++;
  }
  if (started.size > 0) {
    const running = await db
      .update(jobs)
      .set({ status: "running" })
      .where(and(inArray(jobs.id, [...started]), eq(jobs.status, "queued")))
      .returning({ id: jobs.id });
    meter.dbRowsWritten += running.length;
  }
  return sent;
}

/** An upload still ingesting after this long lost its request (a crash, a cut connection). */
export const STALLED_INGEST_MS = 15 * 60_000;

export interface SweepOutcome {
  stalledJobs: number;
  deadProbes: number;
  reclaimed: number;
  givenUp: number;
  dispatched: number;
}

/** The scheduled sweeper (cron, every minute; `npm start` also calls it). */
export async function sweep(s: Services, now = Date.now()): Promise<SweepOutcome> {
  const { db, config } = s;
  // Half-ingested jobs never reserved credits; they fail, and their batches never go out.
  const stalled = await db
    .update(jobs)
    .set({ status: "failed", finishedAt: now })
    .where(and(eq(jobs.status, "ingesting"), lt(jobs.createdAt, now - STALLED_INGEST_MS)))
    .returning({ id: jobs.id });
  if (stalled.length > 0) {
    await db.update(batches).set({ status: "canceled", updatedAt: now }).where(inArray(batches.jobId, stalled.map((j) => j.id)));
  }
  const dead = await db
    .update(probes)
    .set({ status: "dead" })
    .where(and(inArray(probes.status, ["active", "draining"]), lt(probes.lastHeartbeatAt, now - config.MXRAY_PROBE_DEAD_MS)))
    .returning({ id: probes.id });
  const deadIds = (await db.select({ id: probes.id }).from(probes).where(eq(probes.status, "dead"))).map((p) => p.id);
  const reclaimed = await db
    .update(batches)
    .set({ status: "pending", leaseExpiresAt: null, updatedAt: now })
    .where(
      and(
        eq(batches.status, "dispatched"),
        or(lt(batches.leaseExpiresAt, now), deadIds.length ? inArray(batches.probeId, deadIds) : undefined),
      ),
    )
    .returning({ id: batches.id, jobId: batches.jobId, attempts: batches.attempts, probeId: batches.probeId });
  meter.dbRowsWritten += stalled.length + dead.length + reclaimed.length;
  let givenUp = 0;
  for (const b of reclaimed) {
    if (b.attempts < MAX_DISPATCH_ATTEMPTS) continue;
    // No probe could finish this batch: an empty final chunk lets the results service answer
    // what is still unanswered with an honest "unknown", as it does for any batch asked too often.
    await db.update(batches).set({ status: "dispatched" }).where(eq(batches.id, b.id));
    const applied = await applyResultChunk(db, { probe_id: b.probeId ?? "edge", batch_id: b.id, job_id: b.jobId, seq: 0, final: true, results: [] });
    givenUp += applied.applied;
    if (applied.finished) await settleJob(db, b.jobId);
    if (applied.job) s.waitUntil(s.hub(b.jobId).update(applied.job, [], applied.job.processed));
  }
  const dispatched = await dispatchPending(s, now);
  return { stalledJobs: stalled.length, deadProbes: dead.length, reclaimed: reclaimed.length, givenUp, dispatched };
}
