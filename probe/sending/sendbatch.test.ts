// Send batches end to end on loopback: relay sinks (e2e/relay-sink.ts) as the customer's relays,
// a claim stand-in for the edge (a loopback HTTP server that checks the probe's signature and
// grants each id once, ever), and the outbox's chunks as the edge would get them.
import { readFileSync } from "node:fs";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendChunkSchema, type RelayWire, type SendBatch, type SendChunk, type SendRecipient } from "../../core/contracts.ts";
import { RELAY_SINK_CA_FILE, startRelaySink, type RelaySink } from "../../e2e/relay-sink.ts";
import type { Clock } from "../shared.ts";
import { createRelayBudget } from "./relaybudget.ts";
import { runSendBatch, type SendBatchDeps } from "./sendbatch.ts";
import { sinkRelay, startClaimEdge } from "./testing.ts";
import type { RelayTransportOptions } from "./transport.ts";

const SECRET = "probe-secret-for-sendbatch-tests";
const CA = readFileSync(RELAY_SINK_CA_FILE, "utf8");

let sinkA: RelaySink;
let sinkB: RelaySink;
beforeAll(async () => {
  [sinkA, sinkB] = await Promise.all([startRelaySink({ users: { a: "pw-a" } }), startRelaySink({ users: { b: "pw-b" } })]);
});
afterAll(async () => {
  await Promise.all([sinkA?.stop(), sinkB?.stop()]);
});

const relayOf = (sink: RelaySink, id: string, user: string, password: string, over: Partial<RelayWire> = {}) => sinkRelay(sink, SECRET, id, user, password, over);
const relayA = (over: Partial<RelayWire> = {}) => relayOf(sinkA, "rly_a", "a", "pw-a", over);
const relayB = (over: Partial<RelayWire> = {}) => relayOf(sinkB, "rly_b", "b", "pw-b", over);

let batchCount = 0;
function recipients(n: number, name = (i: number) => `r${i}`): SendRecipient[] {
  const base = ++batchCount * 10_000;
  return Array.from({ length: n }, (_, i) => ({ id: base + i + 1, email: `${name(i)}.${base}@example.test`, token: `${(base + i + 1).toString(36)}-0123456789abcdef0123`, vars: { first_name: `N${i}` } }));
}

function batchOf(rs: SendRecipient[], relays: RelayWire[], over: Partial<SendBatch> = {}): SendBatch {
  return {
    batch_id: `sbt_${batchCount}`,
    campaign_id: "cmp_1",
    attempt: 1,
    sender: { from_email: "news@sender.test", from_name: "Acme", reply_to: null },
    bounce_domain: "bounce.sender.test",
    relays,
    template: { subject: "Hello {{ first_name }}", html: "<p>Hi {{ first_name }}</p>", text: null },
    unsubscribe_base: "https://mxray.example.test/u/",
    recipients: rs,
    budget_ms: 120_000,
    ...over,
  };
}

const transport: RelayTransportOptions = { probeSecret: SECRET, allowPrivateTargets: true, resolveHost: async () => ["127.0.0.1"], helo: "probe.test", extraCa: [CA], connections: 3 };

function depsFor(edgeUrl: string, over: Partial<SendBatchDeps> = {}) {
  const chunks: SendChunk[] = [];
  const deps: SendBatchDeps = {
    probeId: "prb_test",
    edgeUrl,
    probeSecret: SECRET,
    outbox: { push: async (c) => void chunks.push(SendChunkSchema.parse(c)) },
    budget: createRelayBudget(),
    transport,
    groupSize: 10,
    ...over,
  };
  return { deps, chunks, outcomes: () => chunks.flatMap((c) => c.outcomes) };
}

const delivered = (sink: RelaySink, rs: SendRecipient[]) => {
  const emails = new Set(rs.map((r) => r.email));
  return sink.messages.filter((m) => emails.has(m.rcptTo[0]!));
};
const never = new AbortController().signal;

describe("a send batch", () => {
  it("claims in groups, sends each claimed recipient once over few connections, and records every outcome", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(45);
    const { deps, chunks, outcomes } = depsFor(edge.url);
    const connectionsBefore = sinkA.stats().connections;
    const summary = await runSendBatch(batchOf(rs, [await relayA()]), deps, never);
    expect(summary).toMatchObject({ sent: 45, failed: 0, unknown_outcome: 0, queued: 0, not_claimed: 0, not_reached: 0, stopped: null, pause: null });
    expect(edge.claims.map((c) => c.ids.length)).toEqual([10, 10, 10, 10, 5]);
    expect(edge.claims.every((c) => c.batch_id === batchOf(rs, []).batch_id && c.attempt === 1 && c.probe_id === "prb_test")).toBe(true);
    expect(edge.refusedSignatures()).toBe(0);
    // One chunk per group, then the final one; seq counts up.
    expect(chunks.map((c) => [c.seq, c.final, c.outcomes.length])).toEqual([[0, false, 10], [1, false, 10], [2, false, 10], [3, false, 10], [4, false, 5], [5, true, 0]]);
    const got = delivered(sinkA, rs);
    expect(got).toHaveLength(45);
    expect(sinkA.stats().connections - connectionsBefore).toBeLessThanOrEqual(3);
    // Each outcome names the queue id the relay gave that recipient's message.
    const queueIdOf = new Map(got.map((m) => [m.rcptTo[0], m.queueId]));
    for (const o of outcomes()) {
      const r = rs.find((x) => x.id === o.id)!;
      expect(o).toMatchObject({ status: "sent", relay_id: "rly_a", queue_id: queueIdOf.get(r.email), reply: { code: 250 } });
    }
    // The message itself: VERP envelope, one-click headers, the recipient's row rendered.
    const first = got.find((m) => m.rcptTo[0] === rs[0]!.email)!;
    expect(first.mailFrom).toBe(`bounce+${rs[0]!.token}@bounce.sender.test`);
    const parsed = await simpleParser(first.raw);
    expect(parsed.subject).toBe("Hello N0");
    expect(parsed.headers.get("list")).toMatchObject({ unsubscribe: { url: `https://mxray.example.test/u/${rs[0]!.token}` } });
    await edge.close();
  });

  it("sends each recipient once when the batch is delivered twice, one copy after the other or both at once", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(30);
    const batch = batchOf(rs, [await relayA()]);
    const first = depsFor(edge.url);
    const second = depsFor(edge.url);
    const [a, b] = await Promise.all([runSendBatch(batch, first.deps, never), runSendBatch(batch, second.deps, never)]);
    expect(a.sent + b.sent).toBe(30);
    expect(a.not_claimed + b.not_claimed).toBe(30);
    const third = depsFor(edge.url);
    const c = await runSendBatch(batch, third.deps, never);
    expect(c).toMatchObject({ sent: 0, not_claimed: 30 });
    const got = delivered(sinkA, rs);
    expect(got).toHaveLength(30);
    expect(new Set(got.map((m) => m.rcptTo[0])).size).toBe(30);
    // Every recipient has exactly one recorded outcome across the three runs.
    const ids = [...first.outcomes(), ...second.outcomes(), ...third.outcomes()].map((o) => o.id).sort();
    expect(ids).toEqual(rs.map((r) => r.id).sort());
    await edge.close();
  });

  it("moves a deferred message, and the rest of the batch, to the next relay", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(25, (i) => (i === 3 ? "defer" : `r${i}`));
    sinkA.setScript((rcpt) => (rcpt.startsWith("defer.") ? { rcpt: 451, message: "4.7.1 Throttled, try again later" } : null));
    try {
      const { deps, outcomes } = depsFor(edge.url);
      const summary = await runSendBatch(batchOf(rs, [await relayA(), await relayB()]), deps, never);
      expect(summary).toMatchObject({ sent: 25, queued: 0, pause: null });
      // The first group went to A but for the deferred one, which B took; later groups went to B.
      expect(delivered(sinkA, rs).map((m) => m.rcptTo[0]).sort()).toEqual(rs.slice(0, 10).filter((_, i) => i !== 3).map((r) => r.email).sort());
      expect(delivered(sinkB, rs).map((m) => m.rcptTo[0]).sort()).toEqual([rs[3]!, ...rs.slice(10)].map((r) => r.email).sort());
      expect(outcomes().find((o) => o.id === rs[3]!.id)).toMatchObject({ status: "sent", relay_id: "rly_b" });
      expect(edge.claims.flatMap((c) => c.ids)).toEqual(rs.map((r) => r.id)); // each claimed once: failover does not claim again
    } finally {
      sinkA.setScript(undefined);
    }
    await edge.close();
  });

  it("fails over when the first relay refuses connections", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(12);
    const { deps } = depsFor(edge.url);
    const summary = await runSendBatch(batchOf(rs, [await relayA({ port: 9 }), await relayB()]), deps, never);
    expect(summary).toMatchObject({ sent: 12, pause: null });
    expect(delivered(sinkB, rs)).toHaveLength(12);
    await edge.close();
  });

  it("releases what no relay took and pauses the campaign when every relay defers", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(25);
    sinkA.setScript(() => ({ rcpt: 421, message: "4.7.0 Too many messages, slow down" }));
    sinkB.setScript(() => ({ rcpt: 450, message: "4.2.0 Mailbox busy" }));
    try {
      const { deps, chunks, outcomes } = depsFor(edge.url);
      const summary = await runSendBatch(batchOf(rs, [await relayA(), await relayB()]), deps, never);
      expect(summary).toMatchObject({ sent: 0, queued: 10, not_reached: 15, stopped: "relays_exhausted" });
      expect(outcomes().every((o) => o.status === "queued")).toBe(true);
      const last = chunks.at(-1)!;
      expect(last.final).toBe(true);
      expect(last.pause).toMatchObject({ reason: "relays_exhausted", relay_id: "rly_b", detail: expect.stringContaining("450") });
      expect(edge.claims).toHaveLength(1);
    } finally {
      sinkA.setScript(undefined);
      sinkB.setScript(undefined);
    }
    await edge.close();
  });

  it("pauses at once on an authentication failure, without trying the next relay", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(15);
    const { deps, chunks } = depsFor(edge.url);
    const summary = await runSendBatch(batchOf(rs, [await relayOf(sinkA, "rly_a", "a", "wrong"), await relayB()]), deps, never);
    expect(summary).toMatchObject({ sent: 0, queued: 10, not_reached: 5, stopped: "relay_auth_failed" });
    expect(chunks.at(-1)!.pause).toMatchObject({ reason: "relay_auth_failed", relay_id: "rly_a" });
    expect(delivered(sinkB, rs)).toHaveLength(0);
    await edge.close();
  });

  it("reports a message cut off after DATA as unknown_outcome and never sends it again, here or on the next relay", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(6, (i) => (i === 2 ? "cut" : `r${i}`));
    sinkA.setScript((rcpt) => (rcpt.startsWith("cut.") ? { cutAfterData: true } : null));
    try {
      const batch = batchOf(rs, [await relayA(), await relayB()]);
      const { deps, outcomes } = depsFor(edge.url);
      const summary = await runSendBatch(batch, deps, never);
      expect(summary).toMatchObject({ sent: 5, unknown_outcome: 1 });
      expect(outcomes().find((o) => o.id === rs[2]!.id)).toMatchObject({ status: "unknown_outcome", relay_id: "rly_a", queue_id: null });
      expect(delivered(sinkB, rs)).toHaveLength(0);
      // Delivered again (say, re-dispatched): nothing is sent a second time.
      expect(await runSendBatch(batch, depsFor(edge.url).deps, never)).toMatchObject({ sent: 0, unknown_outcome: 0, not_claimed: 6 });
      expect(delivered(sinkA, rs)).toHaveLength(5);
    } finally {
      sinkA.setScript(undefined);
    }
    await edge.close();
  });

  it("records a relay's refusal of one recipient as failed, with its reply", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(3, (i) => (i === 1 ? "gone" : `r${i}`));
    sinkA.setScript((rcpt) => (rcpt.startsWith("gone.") ? { rcpt: 550, message: "5.1.1 No such user" } : null));
    try {
      const { deps, outcomes } = depsFor(edge.url);
      expect(await runSendBatch(batchOf(rs, [await relayA(), await relayB()]), deps, never)).toMatchObject({ sent: 2, failed: 1 });
      expect(outcomes().find((o) => o.id === rs[1]!.id)).toMatchObject({ status: "failed", relay_id: "rly_a", reply: { code: 550, enhanced: "5.1.1" } });
      expect(delivered(sinkB, rs)).toHaveLength(0);
    } finally {
      sinkA.setScript(undefined);
    }
    await edge.close();
  });

  it("stops when the edge says the campaign stopped sending", async () => {
    const edge = await startClaimEdge(SECRET, { stopAt: 2 });
    const rs = recipients(30);
    const { deps, chunks } = depsFor(edge.url);
    const summary = await runSendBatch(batchOf(rs, [await relayA()]), deps, never);
    expect(summary).toMatchObject({ sent: 10, stopped: "paused", not_reached: 10, not_claimed: 10 });
    expect(chunks.at(-1)).toMatchObject({ final: true });
    expect(chunks.at(-1)!.pause).toBeUndefined();
    await edge.close();
  });

  it("stops claiming when aborted, and still writes its final chunk", async () => {
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(30);
    const abort = new AbortController();
    const { deps, chunks } = depsFor(edge.url, { recorded: () => abort.abort() });
    const summary = await runSendBatch(batchOf(rs, [await relayA()]), deps, abort.signal);
    expect(edge.claims).toHaveLength(1);
    expect(summary.sent + summary.queued).toBe(10); // the group in hand: sent, or released before its turn
    expect(summary.not_reached).toBe(20);
    expect(chunks.at(-1)!.final).toBe(true);
    await edge.close();
  });

  it("keeps to the relay's per-minute limit, waiting within its budget and leaving the rest to another batch", async () => {
    let now = Date.UTC(2027, 0, 15);
    const clock: Clock = { now: () => now, sleep: async (ms) => void (now += ms) };
    const edge = await startClaimEdge(SECRET);
    const rs = recipients(12);
    const { deps } = depsFor(edge.url, { clock, budget: createRelayBudget({ clock }) });
    const summary = await runSendBatch(batchOf(rs, [await relayA({ max_per_minute: 5 })], { budget_ms: 90_000 }), deps, never);
    expect(summary).toMatchObject({ sent: 10, not_reached: 2 });
    expect(edge.claims.map((c) => c.ids.length)).toEqual([5, 5]);
    expect(now).toBe(Date.UTC(2027, 0, 15) + 60_000); // one wait, to the next minute
    await edge.close();
  });

  it("pauses with template_invalid, claiming nothing, when the template does not parse here", async () => {
    const edge = await startClaimEdge(SECRET);
    const { deps, chunks } = depsFor(edge.url);
    const summary = await runSendBatch(batchOf(recipients(3), [await relayA()], { template: { subject: "x", html: "{% if %}", text: null } }), deps, never);
    expect(summary).toMatchObject({ stopped: "template_invalid", not_reached: 3 });
    expect(edge.claims).toHaveLength(0);
    expect(chunks).toEqual([expect.objectContaining({ final: true, outcomes: [], pause: expect.objectContaining({ reason: "template_invalid" }) })]);
    await edge.close();
  });

  it("stops, sending nothing, when the edge refuses its claims", async () => {
    const rs = recipients(5);
    const { deps } = depsFor("http://127.0.0.1:9");
    const summary = await runSendBatch(batchOf(rs, [await relayA()], { budget_ms: 1_000 }), { ...deps, clock: { now: Date.now, sleep: async () => {} } }, never);
    expect(summary).toMatchObject({ sent: 0, not_reached: 5, stopped: expect.stringContaining("claim failed") });
    expect(delivered(sinkA, rs)).toHaveLength(0);
  });
});
