// Send batches through a real MTA (issue 23: "through at least one real MTA"): Debian's Postfix on
// loopback as the customer's own relay (STARTTLS, Cyrus SASL AUTH, its own queue ids and its own
// refusals), relaying everything it accepts to a relay sink, where each message is read as Postfix
// passed it on. e2e/postfix.ts installs Postfix when missing (root) and runs a private instance.
import { simpleParser } from "mailparser";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendChunkSchema, type RelayWire, type SendBatch, type SendChunk, type SendRecipient } from "../../core/contracts.ts";
import { recipientToken, verpAddress } from "../../core/unsubscribe.ts";
import { startPostfix, type RunningPostfix } from "../../e2e/postfix.ts";
import { headerOf, RELAY_SINK_CA_FILE, startRelaySink, type RelaySink } from "../../e2e/relay-sink.ts";
import { createRelayBudget } from "./relaybudget.ts";
import { runSendBatch } from "./sendbatch.ts";
import { sinkRelay, startClaimEdge } from "./testing.ts";
import { testRelay, type RelayTransportOptions } from "./transport.ts";

const SECRET = "probe-secret-for-postfix-tests";
const REFUSED = "refused@example.test";
const BUSY = "busy@example.test";
/** Long enough that the header line passes 78 characters, where a folding MTA would break it. */
const UNSUBSCRIBE_BASE = "https://unsubscribe.mxray.example.test/u/";

let postfix: RunningPostfix;
/** Where Postfix relays everything it accepts (plain SMTP on loopback, as to a smarthost). */
let behindPostfix: RelaySink;
/** The pool's second relay, for a message Postfix defers. */
let next: RelaySink;
beforeAll(async () => {
  [behindPostfix, next] = await Promise.all([startRelaySink({ security: "none" }), startRelaySink({ users: { b: "pw-b" } })]);
  postfix = await startPostfix({
    relayTo: behindPostfix,
    users: { probe: "pw-probe" },
    recipientAccess: { [REFUSED]: "550 5.1.1 no such user here", [BUSY]: "450 4.2.1 mailbox busy, try again later" },
  });
}, 10 * 60_000); // the first run on a machine installs Postfix (apt-get)
afterAll(async () => {
  await Promise.all([postfix?.stop(), behindPostfix?.stop(), next?.stop()]);
});

const postfixRelay = () => sinkRelay(postfix, SECRET, "rly_postfix", "probe", "pw-probe", { security: "starttls" });
const wrongPassword = () => sinkRelay(postfix, SECRET, "rly_postfix", "probe", "wrong-password", { security: "starttls" });
const nextRelay = () => sinkRelay(next, SECRET, "rly_next", "b", "pw-b");

const transport: RelayTransportOptions = {
  probeSecret: SECRET,
  allowPrivateTargets: true,
  resolveHost: async () => ["127.0.0.1"],
  helo: "probe.test",
  extraCa: [readFileSync(RELAY_SINK_CA_FILE, "utf8")],
  connections: 2,
  connectTimeoutMs: 10_000,
  messageTimeoutMs: 10_000,
};

let batchCount = 0;
/** Recipients with real tokens (core/unsubscribe.ts), as the edge mints them. */
async function recipients(emails: string[]): Promise<SendRecipient[]> {
  const base = ++batchCount * 100;
  return Promise.all(
    emails.map(async (email, i) => ({ id: base + i, email, token: await recipientToken(SECRET, { accountId: "acc_1", campaignId: "cmp_pfx", recipientId: base + i }), vars: { first_name: `N${i}` } })),
  );
}

function batchOf(rs: SendRecipient[], relays: RelayWire[]): SendBatch {
  return {
    batch_id: `sbt_pfx${batchCount}`,
    campaign_id: "cmp_pfx",
    attempt: 1,
    sender: { from_email: "news@sender.test", from_name: "Acme", reply_to: null },
    bounce_domain: "bounce.sender.test",
    relays,
    template: { subject: "Hello {{ first_name }}", html: "<p>Hi {{ first_name }}</p>", text: null },
    unsubscribe_base: UNSUBSCRIBE_BASE,
    recipients: rs,
    budget_ms: 60_000,
  };
}

async function run(batch: SendBatch) {
  const edge = await startClaimEdge(SECRET);
  const chunks: SendChunk[] = [];
  try {
    const summary = await runSendBatch(
      batch,
      { probeId: "prb_test", edgeUrl: edge.url, probeSecret: SECRET, outbox: { push: async (c) => void chunks.push(SendChunkSchema.parse(c)) }, budget: createRelayBudget(), transport, groupSize: 10 },
      new AbortController().signal,
    );
    const outcomes = chunks.flatMap((c) => c.outcomes);
    return { summary, outcome: (r: SendRecipient) => outcomes.find((o) => o.id === r.id) };
  } finally {
    await edge.close();
  }
}

/** A raw message's header line as it arrived, unfolded by nobody (null when absent or folded). */
const rawHeaderLine = (raw: string, name: string) => new RegExp(`^${name}: (.*)\\r?$`, "im").exec(raw.split(/\r?\n\r?\n/, 1)[0]!)?.[1] ?? null;

describe("sending through Postfix", () => {
  it("hands a batch to Postfix over STARTTLS and AUTH, records Postfix's queue ids, and Postfix relays each message intact", async () => {
    const rs = await recipients(["a@example.test", "b@example.test", REFUSED, "c@example.test", "d@example.test"]);
    const accepted = rs.filter((r) => r.email !== REFUSED);
    const before = behindPostfix.messages.length;
    const { summary, outcome } = await run(batchOf(rs, [await postfixRelay()]));
    expect(summary).toMatchObject({ sent: 4, failed: 1, unknown_outcome: 0, queued: 0, not_claimed: 0, pause: null });

    // Postfix refused one recipient at RCPT (its recipient access map): failed, never relayed.
    expect(outcome(rs[2]!)).toMatchObject({ status: "failed", relay_id: "rly_postfix", queue_id: null, reply: { code: 550, enhanced: "5.1.1" } });
    expect(outcome(rs[2]!)!.reply!.message).toContain("Recipient address rejected: no such user here");

    // Each accepted message's outcome holds the id Postfix queued it under ("250 2.0.0 Ok: queued as 3F2A81C0B12").
    for (const r of accepted) {
      const o = outcome(r)!;
      expect(o).toMatchObject({ status: "sent", relay_id: "rly_postfix", reply: { code: 250, enhanced: "2.0.0" } });
      expect(o.queue_id).toMatch(/^[0-9A-F]{6,20}$/); // Postfix's short ids: microseconds and inode, in hex
      expect(o.reply!.message).toBe(`Ok: queued as ${o.queue_id}`);
    }

    const got = (await behindPostfix.waitForMessages(before + 4, 20_000)).slice(before);
    expect(got.map((m) => m.rcptTo).sort()).toEqual(accepted.map((r) => [r.email]).sort());
    expect(postfix.maillog()).toContain(`to=<${REFUSED}>`); // its NOQUEUE reject line: Postfix itself refused it
    for (const r of accepted) {
      const m = got.find((x) => x.rcptTo[0] === r.email)!;
      // Relayed by Postfix, keeping our VERP envelope sender (the bounce names its recipient).
      expect(m.mailFrom).toBe(verpAddress(r.token, "bounce.sender.test"));
      // ESMTPSA (RFC 3848): Postfix took it over TLS after AUTH; its id is the queue id we recorded.
      const received = headerOf(m.raw, "received")!;
      expect(received).toMatch(/^from probe\.test \(.*\[127\.0\.0\.1\]\) by postfix\.mxray\.test \(Postfix\) with ESMTPSA id [0-9A-F]+ for </);
      expect(/ with ESMTPSA id ([0-9A-F]+) /.exec(received)![1]).toBe(outcome(r)!.queue_id);
      // RFC 8058 headers as we wrote them: one line, the URL in angle brackets, not refolded.
      const url = `${UNSUBSCRIBE_BASE}${r.token}`;
      expect(`List-Unsubscribe: <${url}>`.length).toBeGreaterThan(78);
      expect(rawHeaderLine(m.raw, "List-Unsubscribe")).toBe(`<${url}>`);
      expect(rawHeaderLine(m.raw, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
      const parsed = await simpleParser(m.raw);
      expect(parsed.headers.get("list")).toMatchObject({ unsubscribe: { url } });
      expect(parsed.subject).toBe(`Hello N${rs.indexOf(r)}`);
      expect(parsed.messageId).toBe(`<${r.id}.cmp_pfx@sender.test>`);
    }
  });

  it("moves a message Postfix defers (450) to the next relay of the pool", async () => {
    const rs = await recipients(["e@example.test", BUSY, "f@example.test"]);
    const beforePostfix = behindPostfix.messages.length;
    const beforeNext = next.messages.length;
    const { summary, outcome } = await run(batchOf(rs, [await postfixRelay(), await nextRelay()]));
    expect(summary).toMatchObject({ sent: 3, failed: 0, queued: 0, pause: null });
    const [viaNext] = (await next.waitForMessages(beforeNext + 1, 20_000)).slice(beforeNext);
    expect(viaNext).toMatchObject({ rcptTo: [BUSY], mailFrom: verpAddress(rs[1]!.token, "bounce.sender.test") });
    expect(outcome(rs[1]!)).toMatchObject({ status: "sent", relay_id: "rly_next", queue_id: viaNext!.queueId });
    // The two Postfix took were already in its hands: they stay its, relayed on as usual.
    for (const r of [rs[0]!, rs[2]!]) expect(outcome(r)).toMatchObject({ status: "sent", relay_id: "rly_postfix" });
    const relayed = (await behindPostfix.waitForMessages(beforePostfix + 2, 20_000)).slice(beforePostfix);
    expect(relayed.map((m) => m.rcptTo[0]).sort()).toEqual([rs[0]!.email, rs[2]!.email].sort());
    expect(postfix.maillog()).toContain(`450 4.2.1 <${BUSY}>`);
  });

  it("pauses the campaign when Postfix refuses the relay's password, sending nothing", async () => {
    const rs = await recipients(["g@example.test", "h@example.test"]);
    const before = behindPostfix.messages.length;
    const { summary, outcome } = await run(batchOf(rs, [await wrongPassword()]));
    expect(summary).toMatchObject({ sent: 0, queued: 2, pause: { reason: "relay_auth_failed", relay_id: "rly_postfix" } });
    expect(summary.pause!.detail).toContain("535 5.7.8");
    for (const r of rs) expect(outcome(r)).toMatchObject({ status: "queued", relay_id: "rly_postfix", reply: { code: 535 } });
    expect(behindPostfix.messages.length).toBe(before);
  });

  it("tests the relay: connect, STARTTLS and AUTH reach stage done; a wrong password stops at auth", async () => {
    const good = await testRelay(await postfixRelay(), transport, 10_000);
    expect(good).toEqual({ ok: true, stage: "done", detail: `connected to 127.0.0.1:${postfix.port} over TLS and authenticated as probe`, reply: null });
    const bad = await testRelay(await wrongPassword(), transport, 10_000);
    expect(bad).toMatchObject({ ok: false, stage: "auth", reply: { code: 535, enhanced: "5.7.8" } });
  });
});
