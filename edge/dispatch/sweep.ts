// The scheduled sweeper (cron, every minute; `npm start` also calls it): fails uploads that lost
// their request, marks silent probes dead, takes back batches whose lease ran out or whose probe
// died, answers "unknown" for addresses no probe could finish, finishes purges, and dispatches.
// Fleet-wide work for nobody in particular: `(services, now)`. Every write is one statement or
// one batch; what follows a write goes through afterCommit.
import { and, eq, gte, inArray, lt, or } from "drizzle-orm";
import { batches, jobs, probeMinutes, probes } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import { afterCommit } from "../aftercommit.ts";
import { fail, writeParts } from "../jobs/lifecycle.ts";
import { purgeDeletedJobs } from "../jobs/purge.ts";
import { applyResultChunk, MAX_DISPATCH_ATTEMPTS } from "../jobs/results.ts";
import { dispatchPending } from "./dispatch.ts";

/** How long the per-probe answer counts are kept: an hour is shown, with margin. */
export const PROBE_MINUTES_KEPT_MS = 2 * 60 * 60_000;

/** An upload still ingesting after this long lost its request (a crash, a cut connection). */
export const STALLED_INGEST_MS = 15 * 60_000;

export interface SweepOutcome {
  stalledJobs: number;
  deadProbes: number;
  reclaimed: number;
  givenUp: number;
  dispatched: number;
  purged: number;
}

/** The scheduled sweeper (cron, every minute; `npm start` also calls it). */
export async function sweep(s: Services, now = Date.now()): Promise<SweepOutcome> {
  const { db, config } = s;
  // Half-ingested jobs never reserved credits; they fail (read first: each gets its own event id).
  const stalled = await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.status, "ingesting"), lt(jobs.createdAt, now - STALLED_INGEST_MS)));
  let stalledJobs = 0;
  if (stalled.length > 0) {
    // Only those still ingesting: one whose upload ended meanwhile is not failed.
    const failing = stalled.map(({ id }) => fail(id, now, ["ingesting"]));
    const results = await writeParts(db, failing.map((f) => f.statements));
    for (const [i, f] of failing.entries()) {
      const { moved, effects } = f.read(results[i]!);
      if (moved) stalledJobs++;
      afterCommit(s, effects);
    }
  }
  const dead = and(inArray(probes.status, ["active", "draining"]), lt(probes.lastHeartbeatAt, now - config.MXRAY_PROBE_DEAD_MS));
  const deadProbeIds = db.select({ id: probes.id }).from(probes).where(eq(probes.status, "dead"));
  const lapsed = and(eq(batches.status, "dispatched"), or(lt(batches.leaseExpiresAt, now), inArray(batches.probeId, deadProbeIds)));
  const [, deadNow, reclaimed, exhausted] = await db.batch([
    // A failed job's batches never go out.
    db
      .update(batches)
      .set({ status: "canceled", updatedAt: now })
      .where(and(eq(batches.status, "pending"), inArray(batches.jobId, db.select({ id: jobs.id }).from(jobs).where(eq(jobs.status, "failed"))))),
    db.update(probes).set({ status: "dead" }).where(dead).returning({ id: probes.id }),
    // A lapsed batch goes back in the queue while it has dispatches left…
    db
      .update(batches)
      .set({ status: "pending", leaseExpiresAt: null, updatedAt: now })
      .where(and(lapsed, lt(batches.attempts, MAX_DISPATCH_ATTEMPTS)))
      .returning({ id: batches.id }),
    // …and is closed when it has none: its unanswered addresses become "unknown" (below).
    db.select({ id: batches.id, jobId: batches.jobId, probeId: batches.probeId }).from(batches).where(and(lapsed, gte(batches.attempts, MAX_DISPATCH_ATTEMPTS))),
    // The fleet's per-minute answer counts are read for the last hour only (/admin).
    db.delete(probeMinutes).where(lt(probeMinutes.minute, Math.floor((now - PROBE_MINUTES_KEPT_MS) / 60_000))),
  ]);
  let givenUp = 0;
  for (const b of exhausted) {
    // No probe could finish this batch: an empty final chunk closes it as any batch asked too often.
    const outcome = await applyResultChunk(db, { probe_id: b.probeId ?? "edge", batch_id: b.id, job_id: b.jobId, seq: 0, final: true, results: [] }, now);
    givenUp += outcome.applied;
    afterCommit(s, outcome.effects);
  }
  const purged = await purgeDeletedJobs(s);
  const dispatched = await dispatchPending(s, now);
  return { stalledJobs, deadProbes: deadNow.length, reclaimed: reclaimed.length, givenUp, dispatched, purged };
}
