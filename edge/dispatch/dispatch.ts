// Dispatch. Pending batches are claimed (status, probe, lease) by one conditional UPDATE …
// RETURNING, so concurrent dispatchers never send one twice, then handed to the Dispatcher (QStash,
// or the direct stand-in) with no database write in flight; their jobs start (edge/jobs/lifecycle.ts).
// Every write here is one statement or one batch. Fleet-wide work for nobody in particular: these
// take `(services)` or `(services, now)`, not a who. The sweeper is edge/dispatch/sweep.ts.
import { and, eq, gte, inArray, isNull, lte, sql } from "drizzle-orm";
import { accountWeight, fairOrder } from "../../core/fairshare.ts";
import type { Batch } from "../../core/contracts.ts";
import type { Known } from "../../core/finder/patterns.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { accounts, batches, batchItems, jobs, probes, stripeSubscriptions } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import { knownPatternsFor } from "../finder/domainpatterns.ts";
import { start } from "../jobs/lifecycle.ts";

export type ProbeRow = typeof probes.$inferSelect;

export async function liveProbes(s: Services, now = Date.now()): Promise<ProbeRow[]> {
  return s.db
    .select()
    .from(probes)
    .where(and(eq(probes.status, "active"), gte(probes.lastHeartbeatAt, now - s.config.MXRAY_PROBE_DEAD_MS)));
}

/**
 * Sends as many pending batches as live probes have room for, shared fairly across accounts
 * (core/fairshare.ts); returns how many were sent.
 */
export async function dispatchPending(s: Services, now = Date.now()): Promise<number> {
  const { db, dispatcher, config } = s;
  if (!dispatcher) {
    console.log(JSON.stringify({ msg: "no dispatcher: set QSTASH_TOKEN, or QSTASH_CURRENT_SIGNING_KEY for direct dispatch" }));
    return 0;
  }
  const alive = await liveProbes(s, now);
  if (alive.length === 0) return 0;
  // In flight per probe (its room) and per account (its share already out), in one read.
  const busy = await db
    .select({ probeId: batches.probeId, accountId: batches.accountId, n: sql<number>`count(*)` })
    .from(batches)
    .where(eq(batches.status, "dispatched"))
    .groupBy(batches.probeId, batches.accountId);
  const sum = (key: "probeId" | "accountId", id: string) => busy.reduce((n, b) => n + (b[key] === id ? b.n : 0), 0);
  const room = new Map(alive.map((p) => [p.id, Math.max(1, p.capacity) - sum("probeId", p.id)]));
  const free = [...room.values()].reduce((a, b) => a + Math.max(0, b), 0);
  // A full probe still takes one newcomer's batch in its reserve slot (BatchSchema.reserve): an
  // account with nothing in flight does not wait for another's batch to finish.
  const reserveFree = [...room.values()].filter((n) => n === 0).length;
  if (free === 0 && reserveFree === 0) return 0;
  // Each account's `free` oldest pending batches, ranked within the account: no account can need
  // more this pass, so a million-row job costs one index range over its ~1,000 batch rows, never
  // its addresses. Only jobs whose ingest finished (credits reserved): a batch written mid-upload waits.
  const ranked = db
    .select({
      id: batches.id,
      probeId: batches.probeId,
      accountId: batches.accountId,
      createdAt: batches.createdAt,
      rank: sql<number>`row_number() over (partition by ${batches.accountId} order by ${batches.createdAt}, ${batches.id})`.as("rank"),
    })
    .from(batches)
    .innerJoin(jobs, eq(jobs.id, batches.jobId))
    // A disabled account's batches wait (not lost): they go out once an operator enables it.
    .innerJoin(accounts, and(eq(accounts.id, batches.accountId), isNull(accounts.disabledAt)))
    .where(and(eq(batches.status, "pending"), lte(batches.notBefore, now), inArray(jobs.status, ["queued", "running"])))
    .as("ranked");
  const candidates = await db.select().from(ranked).where(lte(ranked.rank, Math.max(free, 1)));
  if (candidates.length === 0) return 0;
  const accountIds = [...new Set(candidates.map((b) => b.accountId))];
  const plans = await db
    .select({ accountId: stripeSubscriptions.accountId, plan: stripeSubscriptions.plan })
    .from(stripeSubscriptions)
    .where(and(inArray(stripeSubscriptions.accountId, accountIds), eq(stripeSubscriptions.status, "active")));
  const weight = (accountId: string) => Math.max(1, ...plans.filter((p) => p.accountId === accountId).map((p) => accountWeight(p.plan)));
  const inFlight = new Map(accountIds.map((id) => [id, sum("accountId", id)]));
  const pending = fairOrder(candidates, inFlight, weight, config.MXRAY_DISPATCH_ORDER).slice(0, free + reserveFree);

  // The probe with the most room for each batch, preferring one that did not just drop it; when
  // none has room, a newcomer's first batch goes to a probe's reserve slot.
  const plan = new Map<string, { probe: ProbeRow; reserve: boolean }>();
  const newcomers = new Set(accountIds.filter((id) => inFlight.get(id) === 0));
  for (const batch of pending) {
    const byRoom = (min: number) =>
      [...room.entries()]
        .filter(([, n]) => n >= min)
        .sort((a, b) => Number(a[0] === batch.probeId) - Number(b[0] === batch.probeId) || b[1] - a[1])[0];
    let choice = byRoom(1);
    const reserve = !choice && newcomers.has(batch.accountId) && config.MXRAY_DISPATCH_ORDER !== "fifo";
    if (reserve) choice = byRoom(0);
    if (!choice) continue;
    newcomers.delete(batch.accountId);
    plan.set(batch.id, { probe: alive.find((p) => p.id === choice[0])!, reserve });
    room.set(choice[0], choice[1] - 1);
  }
  if (plan.size === 0) return 0;
  // One statement claims them all; a batch another dispatcher took meanwhile is not returned.
  const probeOf = sql.join([sql`case ${batches.id}`, ...[...plan].map(([id, p]) => sql`when ${id} then ${p.probe.id}`), sql`end`], sql` `);
  const claimed = await db
    .update(batches)
    .set({ status: "dispatched", probeId: probeOf, leaseExpiresAt: now + config.MXRAY_LEASE_MS, attempts: sql`${batches.attempts} + 1`, updatedAt: now })
    .where(and(inArray(batches.id, [...plan.keys()]), eq(batches.status, "pending")))
    .returning({ id: batches.id, jobId: batches.jobId, probeId: batches.probeId });
  if (claimed.length === 0) return 0;
  // The addresses are read after the claim (a read: no lock held while they travel).
  const itemRows = await db.select().from(batchItems).where(inArray(batchItems.batchId, claimed.map((b) => b.id)));
  const itemsOf = new Map(itemRows.map((r) => [r.batchId, JSON.parse(r.items) as BatchItem[]]));
  const work = await batchWork(s, [...itemsOf.values()]);

  const outcomes = await Promise.all(
    claimed.map(async (batch) => {
      const { probe, reserve } = plan.get(batch.id)!;
      const items = itemsOf.get(batch.id) ?? [];
      const outcome = await dispatcher.dispatch({
        probeUrl: probe.url,
        probeId: probe.id,
        batch: {
          batch_id: batch.id,
          job_id: batch.jobId,
          ...work(items),
          // Probes post to their configured EDGE_URL unless we know our public URL.
          ...(config.MXRAY_PUBLIC_URL ? { callback_url: `${s.origin}/internal/probes/results` } : {}),
          budget_ms: config.MXRAY_BATCH_BUDGET_MS,
          ...(reserve ? { reserve: true } : {}),
        },
      });
      if (!outcome.ok) console.log(JSON.stringify({ msg: "dispatch failed", batch_id: batch.id, probe_id: probe.id, error: outcome.error }));
      return { batch, ok: outcome.ok };
    }),
  );
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.batch.id);
  const started = [...new Set(outcomes.filter((o) => o.ok).map((o) => o.batch.jobId))];
  // Written only when there is something to say: this runs after every finished batch.
  if (failed.length > 0) {
    // Not sent: back in the queue for the next pass; the attempt counts, so an unreachable probe
    // cannot keep a batch cycling for ever.
    await db
      .update(batches)
      .set({ status: "pending", leaseExpiresAt: null, updatedAt: now })
      .where(and(inArray(batches.id, failed), eq(batches.status, "dispatched")));
  }
  if (started.length > 0) await db.$client.batch(start(started).statements, "write");
  return outcomes.length - failed.length;
}

/**
 * What a batch asks for: its addresses, or (a job of kind `find`) its people with what their
 * domains are known to use, read now, not at ingest, so what earlier batches taught about a
 * domain's pattern (domain_patterns) orders this one's candidates; one read covers every domain
 * claimed. The probe makes the candidates.
 */
async function batchWork(s: Services, claimed: BatchItem[][]): Promise<(items: BatchItem[]) => Pick<Batch, "emails" | "people" | "known">> {
  const domains = claimed.flatMap((items) => items.flatMap((i) => (i[4] ? [i[4].domain] : [])));
  const known = domains.length > 0 ? await knownPatternsFor(s.db, domains) : new Map<string, Known>();
  return (items) => {
    if (!items.some((i) => i[4])) return { emails: items.map((i) => i[1]) };
    const people = items.flatMap(([key, , , , person]) => (person ? [{ key, person }] : []));
    const mine = new Set(people.map((p) => p.person.domain.toLowerCase()));
    return { emails: [], people, known: Object.fromEntries([...mine].map((d) => [d, known.get(d) ?? []])) };
  };
}
