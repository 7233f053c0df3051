// Which probe reads each bounce mailbox, inside workerd on a database of its own (a heartbeat
// takes every mailbox no live probe reads), with the clock given: taken on heartbeats with a new
// epoch, moved when the probe dies, drains or is disabled, one winner of a race, and the cap.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { HeartbeatAnswerSchema, type Heartbeat, type MailboxWire } from "../../core/contracts.ts";
import { openString, probeTransportKey } from "../../core/secrets.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { bounceMailboxes, probes } from "../../db/schema.ts";
import { buildServices, type Services } from "../context.ts";
import { recordHeartbeat } from "../dispatch/probes.ts";
import { call, seedAccount } from "../testing.ts";
import { mailboxesForProbe, takeMailbox } from "./assign.ts";
import { createMailbox, deleteMailbox, updateMailbox } from "./mailboxes.ts";
import { MAILBOX_PASSWORD_PURPOSE } from "./mailboxwire.ts";

const CAP = 3;
const bindings: Env = { ...env, TURSO_DATABASE_URL: env.MAILBOX_ASSIGN_TEST_DATABASE_URL!, MXRAY_MAILBOXES_PER_PROBE: String(CAP) };
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const DEAD_MS = 90_000; // MXRAY_PROBE_DEAD_MS's default, which these bindings keep
let s: Services;

beforeEach(async () => {
  s = buildServices(bindings, { waitUntil: () => {} }, "http://edge.test");
  await s.db.delete(bounceMailboxes);
  await s.db.delete(probes);
});

const hb = (id: string, draining = false): Heartbeat => ({ probe_id: id, url: `http://${id}.test`, version: "1.0.0", in_flight: 0, capacity: 10, draining, sent_at: new Date(T0).toISOString() });

/** A heartbeat as the route runs it: recorded, then the mailboxes answered. */
async function beat(id: string, now: number, draining = false): Promise<MailboxWire[]> {
  await recordHeartbeat(s, hb(id, draining), now);
  return mailboxesForProbe(s, hb(id, draining), now);
}

const ids = (wires: MailboxWire[]) => wires.map((w) => w.id).sort();

async function mailboxes(n: number, password = "imap-password") {
  const { accountId } = await seedAccount(0, s.db);
  const who = { accountId, actor: "test" };
  const made = [];
  for (let i = 0; i < n; i++) made.push(await createMailbox(s, who, { host: `imap${i}.example.com`, security: "tls", username: `bounces${i}`, password: `${password}-${i}` }, T0));
  return { who, ids: made.map((m) => m.id).sort() };
}

const row = async (id: string) => (await s.db.select().from(bounceMailboxes).where(eq(bounceMailboxes.id, id)))[0]!;

describe("mailboxes on heartbeats", () => {
  it("a probe takes the mailboxes nobody reads, each with a new epoch, and gets them wired on every heartbeat", async () => {
    const { ids: made } = await mailboxes(2);
    const first = await beat("prb_a", T0);
    expect(ids(first)).toEqual(made);
    for (const id of made) expect(await row(id)).toMatchObject({ probeId: "prb_a", epoch: 1, assignedAt: T0 });
    // Sealed for the probe: it opens under the transport key, for this mailbox only.
    const transport = await probeTransportKey(env.PROBE_SECRET);
    for (const wire of first) {
      const n = wire.username.slice("bounces".length);
      expect(wire).toMatchObject({ host: `imap${n}.example.com`, port: 993, security: "tls", folder: "INBOX", processed_folder: "mxray-processed", epoch: 1, uidvalidity: null, last_uid: 0, poll_requested_at: null });
      expect(wire.password).not.toContain("imap-password");
      expect(await openString(transport, { purpose: MAILBOX_PASSWORD_PURPOSE, recordId: wire.id }, wire.password)).toBe(`imap-password-${n}`);
    }
    // The next heartbeat: the same mailboxes, not taken again.
    const second = await beat("prb_a", T0 + 10_000);
    expect(second.map((w) => [w.id, w.epoch]).sort()).toEqual(made.map((id) => [id, 1]));
    expect((await row(made[0]!)).assignedAt).toBe(T0);
  });

  it("carries changes and drops a deleted mailbox at the next heartbeat", async () => {
    const { who, ids: made } = await mailboxes(2);
    await beat("prb_a", T0);
    await s.db.update(bounceMailboxes).set({ uidvalidity: 7, lastUid: 40 }).where(eq(bounceMailboxes.id, made[0]!));
    await updateMailbox(s, who, { id: made[0]!, patch: { folder: "Bounces" } }, T0 + 1);
    await deleteMailbox(s, who, { id: made[1]! }, T0 + 1);
    const after = await beat("prb_a", T0 + 10_000);
    expect(after).toEqual([expect.objectContaining({ id: made[0], folder: "Bounces", epoch: 2, uidvalidity: null, last_uid: 0 })]);
    expect((await row(made[0]!)).probeId).toBe("prb_a");
  });

  it("a dead probe's mailboxes move to the next probe that heartbeats; the dead one, back, gets none", async () => {
    const { ids: made } = await mailboxes(2);
    expect(ids(await beat("prb_a", T0))).toEqual(made);
    // prb_a is live: prb_b takes nothing.
    expect(await beat("prb_b", T0 + DEAD_MS)).toEqual([]);
    // prb_a is silent past the threshold (the sweeper need not have marked it dead yet).
    const moved = await beat("prb_b", T0 + DEAD_MS + 1);
    expect(moved.map((w) => [w.id, w.epoch]).sort()).toEqual(made.map((id) => [id, 2]));
    for (const id of made) expect(await row(id)).toMatchObject({ probeId: "prb_b", epoch: 2, assignedAt: T0 + DEAD_MS + 1 });
    // prb_a wakes up: its reports under epoch 1 are stale, and it reads nothing.
    expect(await beat("prb_a", T0 + DEAD_MS + 2)).toEqual([]);
    for (const id of made) expect(await row(id)).toMatchObject({ probeId: "prb_b", epoch: 2 });
  });

  it("a draining probe gets none and its mailboxes move; so do a disabled or drained probe's", async () => {
    const { ids: made } = await mailboxes(1);
    await beat("prb_a", T0);
    expect(await beat("prb_a", T0 + 1_000, true)).toEqual([]);
    expect((await row(made[0]!)).probeId).toBe("prb_a"); // until a live probe takes it
    expect(ids(await beat("prb_b", T0 + 2_000))).toEqual(made);
    expect(await beat("prb_c", T0 + 2_000)).toEqual([]);

    for (const [status, next] of [["disabled", "prb_c"], ["drained", "prb_a"]] as const) {
      const holder = (await row(made[0]!)).probeId!;
      await s.db.update(probes).set({ status }).where(eq(probes.id, holder));
      // Its heartbeats keep the operator's word, and it reads nothing.
      expect(await beat(holder, T0 + 3_000)).toEqual([]);
      expect(ids(await beat(next, T0 + 3_000))).toEqual(made);
    }
    expect(await row(made[0]!)).toMatchObject({ probeId: "prb_a", epoch: 4 });
  });

  it("of two probes taking one mailbox at once, one wins", async () => {
    const { ids: made } = await mailboxes(1);
    const seen = await row(made[0]!);
    const [a, b] = await Promise.all([takeMailbox(s, seen, "prb_a", T0), takeMailbox(s, seen, "prb_b", T0)]);
    const winners = [a, b].filter((t) => t !== null);
    expect(winners).toHaveLength(1);
    expect(await row(made[0]!)).toMatchObject({ probeId: winners[0]!.probeId, epoch: 1 });
    // A take read before the winner's is refused too, whoever asks.
    expect(await takeMailbox(s, seen, "prb_c", T0)).toBeNull();
  });

  it("heartbeats at once share the mailboxes: each read by exactly one probe, each taken once", async () => {
    const { ids: made } = await mailboxes(CAP);
    await Promise.all(["prb_a", "prb_b"].map((id) => recordHeartbeat(s, hb(id), T0)));
    const [a, b] = await Promise.all(["prb_a", "prb_b"].map((id) => mailboxesForProbe(s, hb(id), T0)));
    expect([...ids(a!), ...ids(b!)].sort()).toEqual(made);
    for (const id of made) {
      const r = await row(id);
      expect(r.epoch).toBe(1);
      expect((r.probeId === "prb_a" ? a : b)!.map((w) => w.id)).toContain(id);
    }
  });

  it("a probe takes no more than MXRAY_MAILBOXES_PER_PROBE; the rest wait for another", async () => {
    const { ids: made } = await mailboxes(CAP + 2);
    const a = await beat("prb_a", T0);
    expect(a).toHaveLength(CAP);
    expect(await beat("prb_a", T0 + 10_000)).toHaveLength(CAP);
    const b = await beat("prb_b", T0 + 10_000);
    expect(b).toHaveLength(2);
    expect([...ids(a), ...ids(b)].sort()).toEqual(made);
    expect(await beat("prb_c", T0 + 10_000)).toEqual([]);
  });

  it("leaves out a mailbox whose password no longer opens, and says why on it", async () => {
    const { ids: made } = await mailboxes(2);
    // A sealed value copied from another mailbox does not open for this one.
    await s.db.update(bounceMailboxes).set({ password: (await row(made[1]!)).password }).where(eq(bounceMailboxes.id, made[0]!));
    expect(ids(await beat("prb_a", T0))).toEqual([made[1]]);
    expect(await row(made[0]!)).toMatchObject({ probeId: "prb_a", lastError: expect.stringContaining("can no longer be read") });
    expect((await row(made[1]!)).lastError).toBeNull();
  });
});

describe("POST /internal/probes/heartbeat", () => {
  const path = "/internal/probes/heartbeat";
  const post = async (body: Heartbeat) => {
    const text = JSON.stringify(body);
    return call(path, { method: "POST", body: text, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path }, text) }, env: bindings });
  };

  it("answers the mailboxes the probe reads, and none to a draining probe", async () => {
    const { ids: made } = await mailboxes(1);
    const res = await post({ ...hb("prb_route"), sent_at: new Date().toISOString() });
    expect(res.status).toBe(200);
    const answer = HeartbeatAnswerSchema.parse(await res.json());
    expect(answer.mailboxes!.map((m) => [m.id, m.epoch])).toEqual([[made[0], 1]]);
    expect(JSON.stringify(answer)).not.toContain("imap-password");

    const draining = await post({ ...hb("prb_route", true), sent_at: new Date().toISOString() });
    expect(await draining.json()).toEqual({ ok: true, mailboxes: [] });
  });
});
