// Which probe reads each bounce mailbox (docs/decisions/010-bounces.md, "Who reads a mailbox").
// One live probe at a time: on its heartbeat a probe that is active (not draining, drained,
// disabled or dead) takes the mailboxes no live probe reads, up to MXRAY_MAILBOXES_PER_PROBE, and
// its answer lists every mailbox it reads now. Each take is one conditional UPDATE that bumps the
// mailbox's `epoch`, so of two probes heartbeating at once only one gets a mailbox, and a report a
// former reader reads under the old epoch is refused (edge/bounces/intake.ts). A probe never loses a
// mailbox while it is live: mailboxes move when their probe dies, drains or is disabled, and are
// not rebalanced onto a newcomer. Probe rows are never deleted (the sweeper marks them dead), so a
// mailbox's probe_id always names a row.
import { and, eq, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Heartbeat, MailboxWire } from "../../core/contracts.ts";
import { bounceMailboxes, probes } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import { liveProbes, type ProbeRow } from "../dispatch/dispatch.ts";
import { ServiceError } from "../errors.ts";
import { wireMailboxes } from "./mailboxwire.ts";
import type { MailboxRow } from "./mailboxviews.ts";

/** Asking again after this long finds a probe that heartbeated meanwhile (probes heartbeat every 10 s). */
const NO_READER_RETRY_S = 30;

/** What an assignment was read as: it moves only if the row still says so. */
export type MailboxHolder = Pick<MailboxRow, "id" | "probeId" | "epoch">;

/** The conditional UPDATE of one take: `probeId` gets the mailbox only if nobody moved it since `seen`. */
function takeStatement(s: Services, seen: MailboxHolder, probeId: string, now: number) {
  return s.db
    .update(bounceMailboxes)
    .set({ probeId, epoch: sql`${bounceMailboxes.epoch} + 1`, assignedAt: now })
    .where(and(eq(bounceMailboxes.id, seen.id), eq(bounceMailboxes.epoch, seen.epoch), seen.probeId === null ? isNull(bounceMailboxes.probeId) : eq(bounceMailboxes.probeId, seen.probeId)))
    .returning();
}

/** Gives the mailbox to `probeId` if it is still as `seen`; the row as taken, or null when another write came first. */
export async function takeMailbox(s: Services, seen: MailboxHolder, probeId: string, now = Date.now()): Promise<MailboxRow | null> {
  const [taken] = await takeStatement(s, seen, probeId, now);
  return taken ?? null;
}

/**
 * The mailboxes the heartbeating probe reads from now on, wired for it: the ones it holds, and
 * those it takes now. A draining probe, or one an operator drained or disabled, gets none (it
 * stops reading; live probes take them on their heartbeats). Runs after recordHeartbeat.
 *
 * Cost when there is nothing to take: one round trip of three reads: the probe's row (primary
 * key), its mailboxes (bounce_mailboxes_probe), and the takeable ones (probe_id IS NULL on the same
 * index, plus the non-live probes, a scan of the fleet's few rows, each looked up on it), at most
 * the cap. A take adds one write batch; wiring opens each password (AES-GCM, the accounts'
 * data keys read in one query) and seals it again.
 */
export async function mailboxesForProbe(s: Services, hb: Pick<Heartbeat, "probe_id" | "draining">, now = Date.now()): Promise<MailboxWire[]> {
  if (hb.draining) return [];
  const { db, config } = s;
  const me = hb.probe_id;
  const cap = config.MXRAY_MAILBOXES_PER_PROBE;
  const notLive = db
    .select({ id: probes.id })
    .from(probes)
    .where(and(ne(probes.id, me), or(ne(probes.status, "active"), isNull(probes.lastHeartbeatAt), lt(probes.lastHeartbeatAt, now - config.MXRAY_PROBE_DEAD_MS))));
  const [self, mine, takeable] = await db.batch([
    db.select({ status: probes.status }).from(probes).where(eq(probes.id, me)),
    db.select().from(bounceMailboxes).where(eq(bounceMailboxes.probeId, me)),
    db
      .select({ id: bounceMailboxes.id, probeId: bounceMailboxes.probeId, epoch: bounceMailboxes.epoch })
      .from(bounceMailboxes)
      .where(or(isNull(bounceMailboxes.probeId), inArray(bounceMailboxes.probeId, notLive)))
      .limit(cap),
  ]);
  if (self[0]?.status !== "active") return [];
  const [first, ...rest] = takeable.slice(0, Math.max(0, cap - mine.length)).map((m) => takeStatement(s, m, me, now));
  const taken = first ? (await db.batch([first, ...rest])).flat() : [];
  const { wired, unreadable } = await wireMailboxes(s, [...mine, ...taken]);
  if (unreadable.length > 0) await noteUnreadable(s, unreadable);
  return wired;
}

const UNREADABLE = "The stored password can no longer be read (the account's encryption key was replaced); set it again";

/** Says on the mailbox why its probe does not read it; written only when it says something else. */
async function noteUnreadable(s: Services, rows: readonly MailboxRow[]): Promise<void> {
  console.log(JSON.stringify({ msg: "bounce mailbox password unreadable", mailbox_ids: rows.map((r) => r.id) }));
  await s.db
    .update(bounceMailboxes)
    .set({ lastError: UNREADABLE })
    .where(and(inArray(bounceMailboxes.id, rows.map((r) => r.id)), sql`${bounceMailboxes.lastError} IS NOT ${UNREADABLE}`));
}

/**
 * The live probe that reads the mailbox, giving it to one first when none does (POST …/poll): the
 * live probe reading the fewest mailboxes, under the cap, by the same conditional take as a
 * heartbeat's. No live probe, or none with room: probe_unavailable.
 */
export async function readerOf(s: Services, row: MailboxRow, now = Date.now()): Promise<{ row: MailboxRow; probe: ProbeRow }> {
  const live = await liveProbes(s, now);
  const holder = live.find((p) => p.id === row.probeId);
  if (holder) return { row, probe: holder };
  if (live.length === 0) throw new ServiceError("probe_unavailable", "No probe is online to read the mailbox; try again shortly", NO_READER_RETRY_S);
  const load = await s.db
    .select({ probeId: bounceMailboxes.probeId, n: sql<number>`count(*)` })
    .from(bounceMailboxes)
    .where(inArray(bounceMailboxes.probeId, live.map((p) => p.id)))
    .groupBy(bounceMailboxes.probeId);
  const held = (id: string) => Number(load.find((l) => l.probeId === id)?.n ?? 0);
  const roomy = live.filter((p) => held(p.id) < s.config.MXRAY_MAILBOXES_PER_PROBE).sort((a, b) => held(a.id) - held(b.id) || a.id.localeCompare(b.id));
  const probe = roomy[0];
  if (!probe) throw new ServiceError("probe_unavailable", `Every online probe reads as many mailboxes as it may (${s.config.MXRAY_MAILBOXES_PER_PROBE}); try again later`, NO_READER_RETRY_S);
  const taken = await takeMailbox(s, row, probe.id, now);
  if (taken) return { row: taken, probe };
  // Another write came first (a heartbeat took it, or it changed): whoever holds it now, if live.
  const [current] = await s.db.select().from(bounceMailboxes).where(eq(bounceMailboxes.id, row.id));
  if (!current) throw new ServiceError("not_found", `No bounce mailbox ${row.id}`);
  const holderNow = live.find((p) => p.id === current.probeId);
  if (holderNow) return { row: current, probe: holderNow };
  throw new ServiceError("probe_unavailable", "The mailbox changed while a probe was being found for it; try again", 1);
}
