// The mailbox manager with a fake read and hand-fired timers: a new mailbox is read at once and
// then every poll interval from where its last read ended; one read at a time per mailbox and a
// few at once overall; a dropped or stale mailbox is not read again until assigned anew.
import { describe, expect, it } from "vitest";
import type { MailboxWire } from "../../core/contracts.ts";
import { createMailboxManager, type Timers } from "./mailboxes.ts";
import type { ReadOutcome } from "./monitor.ts";

const POLL_MS = 300_000;

function wire(id: string, over: Partial<MailboxWire> = {}): MailboxWire {
  return { id, host: "imap.example.test", port: 993, security: "tls", username: "bounces", password: "v1.probe.x.y", folder: "INBOX", processed_folder: null, epoch: 1, uidvalidity: null, last_uid: 0, poll_requested_at: null, ...over };
}

/** Timers fired by the test, never by the clock. */
function handTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const timers: Timers = {
    set: (fn, ms) => (pending.set(++next, { fn, ms }), next),
    clear: (handle) => void pending.delete(handle as number),
  };
  return {
    timers,
    delays: () => [...pending.values()].map((t) => t.ms),
    fireAll() {
      const due = [...pending.values()];
      pending.clear();
      for (const t of due) t.fn();
    },
  };
}

/** Reads that end when the test says; each call is recorded with the mailbox it was given. */
function handReads() {
  const calls: { mailbox: MailboxWire; finish: (o: Partial<ReadOutcome> | Error) => void }[] = [];
  const waiters: (() => void)[] = [];
  const read = (mailbox: MailboxWire) =>
    new Promise<ReadOutcome>((resolve, reject) => {
      calls.push({
        mailbox,
        finish: (o) => (o instanceof Error ? reject(o) : resolve({ status: "done", cursor: { uidvalidity: mailbox.uidvalidity, last_uid: mailbox.last_uid }, seen: 0, ours: 0, disposals: [], error: null, ...o })),
      });
      waiters.splice(0).forEach((w) => w());
    });
  /** Resolves once `n` reads have been asked for. */
  const started = async (n: number) => {
    while (calls.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  return { read, calls, started };
}

function setup(maxConcurrent = 3) {
  const t = handTimers();
  const r = handReads();
  const manager = createMailboxManager({ read: r.read, pollMs: POLL_MS, maxConcurrent, timers: t.timers });
  return { ...t, ...r, manager };
}

describe("createMailboxManager", () => {
  it("reads a new mailbox at once, then every poll interval from where the last read ended", async () => {
    const s = setup();
    s.manager.setAssignments([wire("bmx_a", { uidvalidity: 7, last_uid: 10 })]);
    await s.started(1);
    expect(s.calls[0]!.mailbox).toMatchObject({ id: "bmx_a", uidvalidity: 7, last_uid: 10 });
    s.calls[0]!.finish({ cursor: { uidvalidity: 7, last_uid: 25 } });
    await s.manager.idle();
    expect(s.delays()).toEqual([POLL_MS]);
    s.fireAll();
    await s.started(2);
    expect(s.calls[1]!.mailbox).toMatchObject({ uidvalidity: 7, last_uid: 25 });
  });

  it("reads one mailbox once at a time: polls during a read make one more read after it", async () => {
    const s = setup();
    const a = wire("bmx_a");
    s.manager.setAssignments([a]);
    await s.started(1);
    expect(s.manager.pollNow(a)).toBe(true);
    expect(s.manager.pollNow(a)).toBe(true);
    s.manager.setAssignments([{ ...a, poll_requested_at: "2024-01-01T00:00:00.000Z" }]);
    expect(s.calls).toHaveLength(1);
    s.calls[0]!.finish({ cursor: { uidvalidity: 3, last_uid: 4 } });
    await s.started(2);
    expect(s.calls[1]!.mailbox).toMatchObject({ uidvalidity: 3, last_uid: 4 });
    s.calls[1]!.finish({});
    await s.manager.idle();
    expect(s.calls).toHaveLength(2);
    expect(s.delays()).toEqual([POLL_MS]);
  });

  it("reads at most maxConcurrent mailboxes at once", async () => {
    const s = setup(2);
    s.manager.setAssignments([wire("bmx_a"), wire("bmx_b"), wire("bmx_c")]);
    await s.started(2);
    expect(s.calls.map((c) => c.mailbox.id)).toEqual(["bmx_a", "bmx_b"]);
    s.calls[1]!.finish({});
    await s.started(3);
    expect(s.calls[2]!.mailbox.id).toBe("bmx_c");
    s.calls[0]!.finish({});
    s.calls[2]!.finish({});
    await s.manager.idle();
    expect(s.delays()).toEqual([POLL_MS, POLL_MS, POLL_MS]);
  });

  it("goes on at once after a read that stopped at its limit, and on schedule after one that failed", async () => {
    const s = setup();
    s.manager.setAssignments([wire("bmx_a")]);
    await s.started(1);
    s.calls[0]!.finish({ status: "more", cursor: { uidvalidity: 9, last_uid: 500 } });
    await s.started(2);
    expect(s.calls[1]!.mailbox).toMatchObject({ last_uid: 500 });
    s.calls[1]!.finish(new Error("read threw"));
    await s.manager.idle();
    expect(s.delays()).toEqual([POLL_MS]);
  });

  it("stops reading a mailbox dropped from the assignment; an answer without it changes nothing else", async () => {
    const s = setup();
    s.manager.setAssignments([wire("bmx_a"), wire("bmx_b")]);
    await s.started(2);
    s.calls.forEach((c) => c.finish({}));
    await s.manager.idle();
    s.manager.setAssignments([wire("bmx_b")]);
    expect(s.manager.assigned()).toEqual(["bmx_b"]);
    expect(s.delays()).toEqual([POLL_MS]);
    s.fireAll();
    await s.started(3);
    expect(s.calls[2]!.mailbox.id).toBe("bmx_b");
  });

  it("after a stale answer reads nothing more until the mailbox is assigned anew, then from the edge's cursor", async () => {
    const s = setup();
    const a = wire("bmx_a", { epoch: 4 });
    s.manager.setAssignments([a]);
    await s.started(1);
    s.calls[0]!.finish({ status: "stale" });
    await s.manager.idle();
    expect(s.delays()).toEqual([]);
    expect(s.manager.pollNow(a)).toBe(false);
    s.manager.setAssignments([{ ...a, poll_requested_at: "2024-01-01T00:00:00.000Z" }]);
    expect(s.calls).toHaveLength(1);
    s.manager.setAssignments([{ ...a, epoch: 6, uidvalidity: 11, last_uid: 40 }]);
    await s.started(2);
    expect(s.calls[1]!.mailbox).toMatchObject({ epoch: 6, uidvalidity: 11, last_uid: 40 });
  });

  it("keeps its own cursor when a heartbeat carries an older one, and reads when a newer poll is asked", async () => {
    const s = setup();
    const a = wire("bmx_a", { uidvalidity: 5, last_uid: 10 });
    s.manager.setAssignments([a]);
    await s.started(1);
    s.calls[0]!.finish({ cursor: { uidvalidity: 5, last_uid: 30 } });
    await s.manager.idle();
    // Answered before the last report was applied: the same assignment, an older cursor, the same poll as before.
    s.manager.setAssignments([a]);
    expect(s.calls).toHaveLength(1);
    s.manager.setAssignments([{ ...a, poll_requested_at: "2024-01-01T00:00:00.000Z" }]);
    await s.started(2);
    expect(s.calls[1]!.mailbox).toMatchObject({ uidvalidity: 5, last_uid: 30 });
    s.calls[1]!.finish({});
    await s.manager.idle();
    // The folder changed: the edge's cursor (reset) is the one to read from.
    s.manager.setAssignments([{ ...a, folder: "Bounces", uidvalidity: null, last_uid: 0, poll_requested_at: "2024-01-02T00:00:00.000Z" }]);
    await s.started(3);
    expect(s.calls[2]!.mailbox).toMatchObject({ folder: "Bounces", uidvalidity: null, last_uid: 0 });
  });

  it("takes a poll for a mailbox it has not heard of yet as its assignment, and stops after stop()", async () => {
    const s = setup();
    expect(s.manager.pollNow(wire("bmx_new"))).toBe(true);
    await s.started(1);
    const stopped = s.manager.stop();
    s.calls[0]!.finish({});
    await stopped;
    expect(s.delays()).toEqual([]);
    expect(s.manager.pollNow(wire("bmx_new"))).toBe(false);
    s.manager.setAssignments([wire("bmx_other")]);
    expect(s.calls).toHaveLength(1);
  });
});
