// The bounce mailboxes this probe reads (issue 24, docs/decisions/010-bounces.md). The edge
// assigns them in its answer to each heartbeat; this keeps that set, reads each one every poll
// interval (MXRAY_BOUNCE_POLL_MS) and at once when asked (POST /v1/mailboxes/poll, or a newer
// poll_requested_at), one read at a time per mailbox and a few mailboxes at once. A mailbox
// dropped from the assignment, or whose report the edge calls stale, is not read again until it
// is assigned anew. No IDLE connections: a probe serving many accounts would hold one per mailbox.
import type { MailboxWire } from "../../core/contracts.ts";
import { Semaphore } from "../concurrency.ts";
import type { Log } from "../outbox.ts";
import type { Cursor, ReadOutcome } from "./monitor.ts";

/** Mailboxes read at the same time. */
export const DEFAULT_MAX_CONCURRENT_READS = 3;

/** setTimeout and clearTimeout, injected so tests fire the polls themselves. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // a scheduled poll alone never keeps the daemon alive
    return t;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface MailboxManagerOptions {
  /** One read (readMailbox with the daemon's deps); never throws. */
  read(mailbox: MailboxWire): Promise<ReadOutcome>;
  pollMs: number;
  maxConcurrent?: number;
  timers?: Timers;
  log?: Log;
}

export interface MailboxManager {
  /** The heartbeat answer's mailboxes: the whole set this probe reads from now on. */
  setAssignments(mailboxes: MailboxWire[]): void;
  /** Reads the mailbox soon (after the read in progress, if one is); false when its epoch is older than the one held, or stale. */
  pollNow(mailbox: MailboxWire): boolean;
  /** The ids of the mailboxes read here. */
  assigned(): string[];
  /** Resolves once no read is running or waiting (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops scheduling reads; resolves when the reads in progress have ended. */
  stop(): Promise<void>;
}

interface Tracked {
  wire: MailboxWire;
  /** Where the next read starts: the wire's cursor, or where this probe's last read left it. */
  cursor: Cursor;
  timer: unknown;
  /** A read was asked for while one was running (or waiting for a slot). */
  again: boolean;
  /** The edge said this probe's epoch is stale: nothing more until a newer assignment. */
  stale: boolean;
  /** The newest poll_requested_at acted upon. */
  pollRequestedAt: string | null;
}

const cursorOf = (wire: MailboxWire): Cursor => ({ uidvalidity: wire.uidvalidity, last_uid: wire.last_uid });

export function createMailboxManager(opts: MailboxManagerOptions): MailboxManager {
  const timers = opts.timers ?? systemTimers;
  const log: Log = opts.log ?? (() => {});
  const slots = new Semaphore(Math.max(1, opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_READS));
  const tracked = new Map<string, Tracked>();
  /** Mailbox ids with a read running or waiting for a slot: one at a time per mailbox, whatever happens to its assignment meanwhile. */
  const reading = new Set<string>();
  const running = new Set<Promise<void>>();
  let stopped = false;

  function schedule(t: Tracked, ms: number): void {
    timers.clear(t.timer);
    t.timer = timers.set(() => {
      t.timer = undefined;
      start(t);
    }, ms);
  }

  function start(t: Tracked): void {
    const id = t.wire.id;
    if (stopped || t.stale || tracked.get(id) !== t) return;
    if (reading.has(id)) {
      t.again = true;
      return;
    }
    timers.clear(t.timer);
    t.timer = undefined;
    t.again = false;
    reading.add(id);
    const work = (async () => {
      await slots.acquire();
      const epoch = t.wire.epoch;
      let result: ReadOutcome | null = null;
      try {
        // Still assigned once a slot is free? (Removed or stopped meanwhile: nothing to read.)
        if (!stopped && tracked.get(id) === t) result = await opts.read({ ...t.wire, ...t.cursor });
      } catch (err) {
        log("bounce mailbox read threw", { mailbox_id: id, error: String(err) });
      } finally {
        slots.release();
        reading.delete(id);
      }
      // What the read found holds for the assignment it read under, not for a newer one.
      if (result && t.wire.epoch === epoch) {
        t.cursor = result.cursor;
        if (result.status === "stale") t.stale = true;
      }
      const current = tracked.get(id);
      if (stopped || !current) return;
      if (current !== t || current.stale) {
        if (current.again) start(current);
        return;
      }
      // A read that stopped at its limit goes on at once (behind the other mailboxes waiting for a slot).
      if (t.again || result?.status === "more") start(t);
      else schedule(t, opts.pollMs);
    })();
    running.add(work);
    void work.finally(() => running.delete(work));
  }

  /** A newer poll request than the one acted upon (ISO strings of one format compare as times). */
  const newerPoll = (t: Tracked, at: string | null) => at !== null && (t.pollRequestedAt === null || at > t.pollRequestedAt);

  /** Takes one mailbox of an assignment: a new one, or a newer assignment, is read at once. */
  function assign(wire: MailboxWire): void {
    const t = tracked.get(wire.id);
    if (!t) {
      const fresh: Tracked = { wire, cursor: cursorOf(wire), timer: undefined, again: false, stale: false, pollRequestedAt: wire.poll_requested_at };
      tracked.set(wire.id, fresh);
      log("bounce mailbox assigned here", { mailbox_id: wire.id, epoch: wire.epoch });
      start(fresh); // a new mailbox is read at once
      return;
    }
    if (wire.epoch < t.wire.epoch) return; // an answer older than what we hold
    if (wire.epoch > t.wire.epoch) {
      // Assigned anew (after another probe held it, or after a stale report): the edge's cursor is the truth.
      Object.assign(t, { wire, cursor: cursorOf(wire), stale: false, pollRequestedAt: wire.poll_requested_at });
      log("bounce mailbox assigned here again", { mailbox_id: wire.id, epoch: wire.epoch });
      start(t);
      return;
    }
    // The same assignment, its settings perhaps edited. Within an epoch only this probe moves the
    // cursor, so its own is the newer one (a heartbeat answered before its last report was applied
    // carries an older one), unless the folder changed or the edge's is further on the same uids.
    const folderChanged = wire.folder !== t.wire.folder || wire.host !== t.wire.host || wire.username !== t.wire.username;
    if (folderChanged || t.cursor.uidvalidity === null) t.cursor = cursorOf(wire);
    else if (wire.uidvalidity === t.cursor.uidvalidity) t.cursor = { uidvalidity: wire.uidvalidity, last_uid: Math.max(wire.last_uid, t.cursor.last_uid) };
    const pollAsked = newerPoll(t, wire.poll_requested_at);
    t.wire = wire;
    if (pollAsked) {
      t.pollRequestedAt = wire.poll_requested_at;
      start(t);
    }
  }

  return {
    setAssignments(mailboxes) {
      if (stopped) return;
      const ids = new Set(mailboxes.map((m) => m.id));
      for (const [id, t] of tracked) {
        if (ids.has(id)) continue;
        timers.clear(t.timer);
        tracked.delete(id);
        log("bounce mailbox no longer assigned here", { mailbox_id: id });
      }
      for (const wire of mailboxes) assign(wire);
    },
    pollNow(mailbox) {
      if (stopped) return false;
      const t = tracked.get(mailbox.id);
      // Asked before the heartbeat told us (or assigned anew since): the signed request is the
      // assignment until the next heartbeat answer says otherwise; the epoch guards the reports.
      if (!t || mailbox.epoch > t.wire.epoch) {
        assign(mailbox);
        return true;
      }
      if (mailbox.epoch < t.wire.epoch || t.stale) return false;
      start(t);
      return true;
    },
    assigned: () => [...tracked.keys()],
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async stop() {
      stopped = true;
      for (const t of tracked.values()) timers.clear(t.timer);
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
