// Bounces end to end on the real local stack (issue 24): sqld + the Worker under wrangler dev +
// probe daemons + the simulated world + the local relay sink + the local Dovecot, driven through
// the public API. A verified list goes out as a campaign to the relay sink; for the messages the
// sink received, bounces in the formats real servers write (Postfix, Gmail, Exchange Online, a
// delay notice, a 5.7.1 policy refusal, an ARF complaint, an out-of-office) are built with each
// message's real envelope (its VERP MAIL FROM, Message-ID and bytes) and delivered into the
// Dovecot mailbox beside mail that is not ours; a bounce mailbox created through the API reads
// them. Then: each bounce tied to its recipient, suppressions, one refund per contradicted
// `deliverable` verdict however often the bounce comes back (read again, posted to the API), the
// webhook events, what was moved and what was left alone in the mailbox; and a second mailbox
// taken over by the other probe when its probe dies, reading only what came after.
import { simpleParser } from "mailparser";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../core/contracts.ts";
import { createDb } from "../db/client.ts";
import type { BounceView } from "../edge/bounces/views.ts";
import type { MailboxTestResult, MailboxView } from "../edge/bounces/mailboxviews.ts";
import type { CampaignView, RecipientView } from "../edge/campaigns/views.ts";
import type { SenderWithConfirmation } from "../edge/senders/views.ts";
import {
  arfComplaint,
  delayedDsn,
  eximBounce,
  exchangeBounce,
  gmailBounce,
  outOfOffice,
  policyDsn,
  postfixBounce,
  qmailBounce,
  sentOriginal,
  unrelatedBounce,
  unrelatedMail,
  type OriginalMessage,
} from "./bounce-mail.ts";
import type { StoredMessage } from "./dovecot.ts";
import { scratchDir } from "./scratch.ts";
import { startStack, type Stack } from "./stack.ts";
import { startStandInReceiver } from "./standin-receiver.ts";
import { startWorld, type World } from "./world/index.ts";

/**
 * A probe silent this long is dead (the edge's default is 90 s): the takeover test waits this out.
 * Probes heartbeat every 2 s here, so a live one is never mistaken for dead.
 */
const PROBE_DEAD_MS = 15_000;
const PROCESSED = "mxray-processed";

let world: World;
let stack: Stack;
let receiver: Awaited<ReturnType<typeof startStandInReceiver>>;
let db: ReturnType<typeof createDb>;

const api = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, { ...init, headers: { authorization: `Bearer ${stack.devApiKey}`, ...init.headers } });
const post = (path: string, body?: unknown) =>
  api(path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
async function json<T>(res: Response | Promise<Response>, status: number): Promise<T> {
  const r = await res;
  const body = await r.text();
  expect(r.status, body).toBe(status);
  return JSON.parse(body) as T;
}

/** Polls a condition (with a deadline, not a sleep) until it holds. */
async function until<T>(what: string, read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (${JSON.stringify(v).slice(0, 600)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every page of a cursor-paged list. */
async function all<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  for (let cursor: string | null = null; ; ) {
    const sep = path.includes("?") ? "&" : "?";
    const page: { data: T[]; next_cursor: string | null } = await json(api(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`), 200);
    out.push(...page.data);
    if (!(cursor = page.next_cursor)) return out;
  }
}

interface LedgerEntry {
  delta: number;
  reason: string;
  job_id: string | null;
}
const refunds = async () => (await all<LedgerEntry>("/api/v1/credits/ledger")).filter((e) => e.reason === "bounce_refund");
const getMailbox = (id: string) => json<MailboxView>(api(`/api/v1/bounce-mailboxes/${id}`), 200);
const bouncesOf = (campaignId: string) => all<BounceView>(`/api/v1/bounces?campaign_id=${campaignId}`);
const messageIdOf = (raw: string) => /^Message-ID:\s*(<[^>]+>)/im.exec(raw)![1]!;

beforeAll(async () => {
  world = await startWorld({ greylistDelayMs: 1000 });
  receiver = await startStandInReceiver();
  stack = await startStack({ dataDir: scratchDir("bounces"), world, probes: 1, sweepMs: 0, vars: { MXRAY_PROBE_DEAD_MS: String(PROBE_DEAD_MS) } });
  db = createDb({ url: stack.sqld.url });
}, 180_000);

afterAll(async () => {
  db?.client.close();
  await stack?.stop();
  await world?.stop();
  await receiver?.close();
});

// Ten deliverable addresses (each gets a message) and one that is not (gets none).
const LIST = [
  "alice@ok.test", "bob@ok.test", "carol@ok.test", "jane.doe@gmail.com", "john.smith@gmail.com",
  "real1@errlimit.test", "real2@errlimit.test", "real3@errlimit.test", "real4@errlimit.test", "real5@errlimit.test",
  "nobody@ok.test",
];

/** What each recipient's bounce is in the first mailbox, and what it must do. */
const FIRST: { to: string; build: (o: OriginalMessage) => string; kind: "hard" | "soft" | "complaint" | null; status: string | null; refund: boolean; suppressed: "bounced" | "complained" | null }[] = [
  { to: "alice@ok.test", build: postfixBounce, kind: "hard", status: "5.1.1", refund: true, suppressed: "bounced" },
  { to: "jane.doe@gmail.com", build: gmailBounce, kind: "hard", status: "5.1.1", refund: true, suppressed: "bounced" },
  { to: "bob@ok.test", build: exchangeBounce, kind: "hard", status: "5.1.10", refund: true, suppressed: "bounced" },
  { to: "carol@ok.test", build: delayedDsn, kind: "soft", status: null, refund: false, suppressed: null },
  { to: "real5@errlimit.test", build: policyDsn, kind: "hard", status: null, refund: false, suppressed: "bounced" },
  { to: "john.smith@gmail.com", build: arfComplaint, kind: "complaint", status: null, refund: false, suppressed: "complained" },
  // An auto-reply to the campaign message: ours (moved), never stored.
  { to: "real1@errlimit.test", build: outOfOffice, kind: null, status: null, refund: false, suppressed: null },
];

let job: JobView;
let campaign: CampaignView;
let recipients: RecipientView[];
/** The campaign's messages as the relay sink received them, by recipient. */
const originals = new Map<string, OriginalMessage>();
let endpointSecret: string;
let mailboxA: MailboxView;
/** The Message-IDs of what was delivered into the first mailbox: ours, and not ours. */
const oursDelivered: string[] = [];
let unrelatedUids: { unread: number; seen: number; bounce: number };
let firstRead: BounceView[];

describe("a campaign's bounces through the local stack", () => {
  it("sends a campaign of a verified list to the relay sink", async () => {
    const created = await json<JobView>(api("/api/v1/jobs", { method: "POST", body: `${LIST.join("\n")}\n`, headers: { "content-type": "text/plain" } }), 201);
    job = await until("job completed", () => json<JobView>(api(`/api/v1/jobs/${created.id}`), 200), (j) => j.status === "completed", 90_000);
    expect(job.counts).toMatchObject({ deliverable: 10, undeliverable: 1 });

    const endpoint = await json<{ secret: string }>(post("/api/v1/webhooks", { url: `${receiver.url}/ok/bounces`, events: ["recipient.bounced", "recipient.complained"] }), 201);
    endpointSecret = endpoint.secret;

    const relay = await json<{ id: string }>(
      post("/api/v1/relays", { name: "Local relay sink", host: stack.relaySink.host, port: stack.relaySink.port, security: "starttls", username: stack.relayUser, password: stack.relayPassword, max_per_minute: 600, max_per_day: 10_000 }),
      201,
    );
    const sender = await json<SenderWithConfirmation>(post("/api/v1/senders", { from_email: "news@sender.test", from_name: "Sender News", relay_ids: [relay.id], bounce_domain: "bounce.sender.test" }), 201);
    const [confirmation] = await stack.relaySink.waitForMessages(1);
    const text = (await simpleParser(confirmation!.raw)).text ?? "";
    const link = /https?:\/\/\S+\/senders\/confirm\/[\w.-]+/.exec(text)?.[0];
    expect(link, text).toBeDefined();
    expect((await fetch(link!, { method: "POST" })).status).toBe(200);
    const template = await json<{ id: string }>(post("/api/v1/templates", { name: "June", subject: "Our June offer", html: '<p>Hello,</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>' }), 201);
    const draft = await json<CampaignView>(
      post("/api/v1/campaigns", { name: "June offer", job_id: job.id, sender_id: sender.id, template_id: template.id, consent: { basis: "opt_in", source: "Sign-up form, double opt-in" } }),
      201,
    );
    await json(post(`/api/v1/campaigns/${draft.id}/start`), 200);
    campaign = await until(`campaign ${draft.id} completed`, () => json<CampaignView>(api(`/api/v1/campaigns/${draft.id}`), 200), (c) => c.status === "completed");
    expect(campaign.counts).toMatchObject({ audience: 10, sent: 10, bounced: 0 });
    recipients = await all<RecipientView>(`/api/v1/campaigns/${campaign.id}/recipients`);

    // The messages as sent: their real envelope (VERP), Message-ID and bytes.
    const sunk = stack.relaySink.messages.filter((m) => m.raw.includes(`.${campaign.id}@sender.test>`));
    expect(sunk.map((m) => m.rcptTo[0]).sort()).toEqual(LIST.filter((a) => a !== "nobody@ok.test").sort());
    for (const m of sunk) {
      const orig = sentOriginal(m);
      expect(orig.verp).toMatch(/^bounce\+[\w-]+@bounce\.sender\.test$/);
      const recipient = recipients.find((r) => r.email === orig.to)!;
      expect(orig.messageId).toBe(`<${recipient.id}.${campaign.id}@sender.test>`);
      originals.set(orig.to, orig);
    }
  }, 180_000);

  it("reads the bounces from the mailbox: each tied to its recipient, what is not ours left as it was", async () => {
    const user = stack.imap.user;
    // A mailbox made, and tested, before anything is in it: the test reads nothing.
    mailboxA = await json<MailboxView>(
      post("/api/v1/bounce-mailboxes", { name: "Local bounces", host: stack.imap.host, port: stack.imap.tlsPort, security: "tls", username: user, password: stack.imap.password, folder: "INBOX", processed_folder: PROCESSED }),
      201,
    );
    expect(mailboxA).toMatchObject({ has_password: true, processed_folder: PROCESSED });
    expect(JSON.stringify(mailboxA)).not.toContain(stack.imap.password);
    const tested = await json<MailboxTestResult>(post(`/api/v1/bounce-mailboxes/${mailboxA.id}/test`), 200);
    expect(tested).toMatchObject({ ok: true, stage: "done", messages: 0 });
    expect(tested.detail).toContain("over TLS");

    // Mail that is not ours first (one unread, one read, an unrelated bounce), then the campaign's.
    const orig = (to: string) => originals.get(to)!;
    unrelatedUids = {
      unread: await stack.dovecot.deliver(user, unrelatedMail(orig("alice@ok.test"))),
      seen: await stack.dovecot.deliver(user, unrelatedMail(orig("bob@ok.test")), { flags: ["\\Seen"] }),
      bounce: await stack.dovecot.deliver(user, unrelatedBounce(orig("carol@ok.test"))),
    };
    const ours = FIRST.map((f) => f.build(orig(f.to)));
    oursDelivered.push(...ours.map(messageIdOf));
    await stack.dovecot.deliverMany(user, ours);

    await json(post(`/api/v1/bounce-mailboxes/${mailboxA.id}/poll`), 202);
    const read = await until("the mailbox read", () => getMailbox(mailboxA.id), (m) => m.messages_seen === 3 + FIRST.length);
    expect(read).toMatchObject({ messages_ours: FIRST.length, last_error: null, probe_id: stack.probes[0]!.id });

    // One bounce per bounce message, tied to its recipient; none for the out-of-office.
    firstRead = await bouncesOf(campaign.id);
    const stored = FIRST.filter((f) => f.kind !== null);
    expect(firstRead.map((b) => b.email).sort()).toEqual(stored.map((f) => f.to).sort());
    for (const f of stored) {
      const b = firstRead.find((x) => x.email === f.to)!;
      const recipient = recipients.find((r) => r.email === f.to)!;
      expect(b, f.to).toMatchObject({ kind: f.kind, source: "imap", mailbox_id: mailboxA.id, campaign_id: campaign.id, recipient_id: recipient.id, refunded_job_id: f.refund ? job.id : null });
      if (f.status) expect(b.status, f.to).toBe(f.status);
    }
    expect(firstRead.find((b) => b.email === "real5@errlimit.test")).toMatchObject({ category: "policy", status: "5.7.1" });
    expect(firstRead.find((b) => b.email === "carol@ok.test")).toMatchObject({ action: "delayed" });

    // The recipients: hard bounces and the complaint marked (the soft one and the auto-reply not), and counted once.
    const after = await all<RecipientView>(`/api/v1/campaigns/${campaign.id}/recipients`);
    const kinds = Object.fromEntries(after.map((r) => [r.email, r.bounce_kind]));
    expect(kinds).toEqual(Object.fromEntries(recipients.map((r) => [r.email, FIRST.find((f) => f.to === r.email && (f.kind === "hard" || f.kind === "complaint"))?.kind ?? null])));
    expect((await json<CampaignView>(api(`/api/v1/campaigns/${campaign.id}`), 200)).counts.bounced).toBe(5);

    // Hard bounces and the complaint suppressed; the soft bounce only scored.
    const suppressed = await all<{ email: string; reason: string; campaign_id: string | null; source: string }>("/api/v1/suppressions");
    expect(suppressed.map((s) => [s.email, s.reason, s.source, s.campaign_id]).sort()).toEqual(
      FIRST.filter((f) => f.suppressed)
        .map((f) => [f.to, f.suppressed, "bounce", campaign.id])
        .sort(),
    );

    // One credit back per contradicted `deliverable` verdict: the 5.1.x hard bounces, not the policy refusal.
    const back = await refunds();
    expect(back).toHaveLength(FIRST.filter((f) => f.refund).length);
    expect(back.every((e) => e.delta === 1 && e.job_id === job.id)).toBe(true);

    // In the mailbox: ours moved to the processed folder, unread as they came (BODY.PEEK); the rest untouched.
    const inbox = await stack.dovecot.messages(user);
    expect(inbox.map((m) => [m.uid, m.flags])).toEqual([
      [unrelatedUids.unread, []],
      [unrelatedUids.seen, ["\\Seen"]],
      [unrelatedUids.bounce, []],
    ]);
    const processed = await stack.dovecot.messages(user, PROCESSED);
    expect(processed.map((m) => m.messageId).sort()).toEqual([...oursDelivered].sort());
    expect(processed.every((m) => m.flags.length === 0)).toBe(true);
  }, 120_000);

  it("refunds once: the same bounce read again, and posted to the API, gives no second credit", async () => {
    const alice = originals.get("alice@ok.test")!;
    const before = await getMailbox(mailboxA.id);
    // The MTA delivered the same bounce twice (a new message, the same bytes).
    const again = postfixBounce(alice);
    await stack.dovecot.deliver(stack.imap.user, again);
    await json(post(`/api/v1/bounce-mailboxes/${mailboxA.id}/poll`), 202);
    await until("the copy read", () => getMailbox(mailboxA.id), (m) => m.messages_seen === before.messages_seen + 1);
    // And the customer's own code reports it too (from a provider's webhook).
    const posted = await json<BounceView>(post("/api/v1/bounces", { email: "Alice@ok.test", kind: "hard", status: "5.1.1", campaign_id: campaign.id, occurred_at: new Date(alice.date!.getTime() + 62_000).toISOString() }), 201);
    expect(posted).toMatchObject({ email: "alice@ok.test", source: "api", recipient_id: recipients.find((r) => r.email === "alice@ok.test")!.id, refunded_job_id: null });
    // And the mailbox is read once more with nothing new in it.
    const polled = await getMailbox(mailboxA.id);
    await json(post(`/api/v1/bounce-mailboxes/${mailboxA.id}/poll`), 202);
    await until("another read", () => getMailbox(mailboxA.id), (m) => m.last_polled_at !== polled.last_polled_at);

    const aliceBounces = (await bouncesOf(campaign.id)).filter((b) => b.email === "alice@ok.test");
    expect(aliceBounces.map((b) => [b.source, b.refunded_job_id]).sort()).toEqual([["api", null], ["imap", job.id], ["imap", null]].sort());
    expect(await refunds()).toHaveLength(FIRST.filter((f) => f.refund).length);
    // The recipient keeps its first bounce; the campaign counted it once.
    expect((await json<CampaignView>(api(`/api/v1/campaigns/${campaign.id}`), 200)).counts.bounced).toBe(5);
    expect((await stack.dovecot.messages(stack.imap.user, PROCESSED)).map((m) => m.messageId)).toContain(messageIdOf(again));
    expect(await stack.dovecot.messages(stack.imap.user)).toHaveLength(3);
  }, 120_000);

  it("tells a webhook endpoint of every bounce (recipient.bounced) and complaint (recipient.complained), once each, signed", async () => {
    const stored = await bouncesOf(campaign.id);
    const received = await until(
      "webhook events",
      () => receiver.received.filter((r) => r.path === "/ok/bounces"),
      (r) => r.length >= stored.length,
    );
    const events = received.map((e) => new Webhook(endpointSecret).verify(e.body, e.headers) as { type: string; data: { bounce_id: string; email: string; kind: string; suppressed: boolean; refunded_job_id: string | null } });
    expect(events.map((e) => e.data.bounce_id).sort()).toEqual(stored.map((b) => b.id).sort());
    for (const b of stored) {
      const e = events.find((x) => x.data.bounce_id === b.id)!;
      expect(e.type).toBe(b.kind === "complaint" ? "recipient.complained" : "recipient.bounced");
      expect(e.data).toMatchObject({ email: b.email, kind: b.kind, refunded_job_id: b.refunded_job_id });
    }
    expect(events.find((e) => e.data.email === "alice@ok.test" && e.data.refunded_job_id === job.id)?.data.suppressed).toBe(true);
    expect(events.find((e) => e.data.email === "carol@ok.test")?.data.suppressed).toBe(false);
  }, 60_000);

  it("a dead probe's mailbox is taken over by the other probe, which reads only what came after", async () => {
    const second = await stack.addProbe();
    const user = "bounces2";
    const password = "bounces2-password";
    stack.dovecot.addUser(user, password);
    // Read with STARTTLS this time, and flagged where it is (no processed folder).
    const mailboxB = await json<MailboxView>(
      post("/api/v1/bounce-mailboxes", { name: "Second bounces", host: stack.imap.host, port: stack.imap.port, security: "starttls", username: user, password, processed_folder: null }),
      201,
    );
    const orig = (to: string) => originals.get(to)!;
    const before = [unrelatedMail(orig("real2@errlimit.test")), qmailBounce(orig("real2@errlimit.test"))];
    await stack.dovecot.deliverMany(user, before);
    await json(post(`/api/v1/bounce-mailboxes/${mailboxB.id}/poll`), 202);
    const first = await until("the second mailbox read", () => getMailbox(mailboxB.id), (m) => m.messages_seen === 2);
    expect(first).toMatchObject({ messages_ours: 1, last_error: null });
    expect(await refunds()).toHaveLength(4);

    // Its probe dies (SIGKILL, as a crashed host); what arrives meanwhile waits for the successor.
    const victim = stack.probes.find((p) => p.id === first.probe_id)!;
    const survivor = [stack.probes[0]!, second].find((p) => p !== victim)!;
    await victim.kill();
    const after = [postfixBounce(orig("real3@errlimit.test")), unrelatedMail(orig("real4@errlimit.test")), eximBounce(orig("real4@errlimit.test"))];
    await stack.dovecot.deliverMany(user, after);

    // Silent past MXRAY_PROBE_DEAD_MS: the survivor's heartbeat takes its mailboxes and reads them
    // (a take needs only the silence, not the sweeper's mark), and the sweeper marks it dead.
    const taken = await until(
      "the mailbox taken over and read",
      async () => (await stack.sweep(), await getMailbox(mailboxB.id)),
      (m) => m.probe_id === survivor.id && m.messages_seen >= 5,
      90_000,
    );
    // The take may land between a sweep and the victim's deadline; a sweep after it sees the silence too.
    await stack.sweep();
    const [victimRow] = (await db.client.execute({ sql: "SELECT status FROM probes WHERE id = ?", args: [victim.id] })).rows;
    expect(victimRow?.status).toBe("dead");
    // Each message counted once: a successor reading from the start would have counted the first two again.
    expect(taken).toMatchObject({ messages_seen: 5, messages_ours: 3, last_error: null });

    // One row per bounce, one refund per contradicted verdict: none again for real2.
    const fromB = (await bouncesOf(campaign.id)).filter((b) => b.mailbox_id === mailboxB.id);
    expect(fromB.map((b) => [b.email, b.kind, b.refunded_job_id]).sort()).toEqual(
      [
        ["real2@errlimit.test", "hard", job.id],
        ["real3@errlimit.test", "hard", job.id],
        ["real4@errlimit.test", "hard", job.id],
      ].sort(),
    );
    expect(await refunds()).toHaveLength(6);
    // The first mailbox moved too if the victim held it, and nothing it had read came back.
    expect((await bouncesOf(campaign.id)).filter((b) => b.mailbox_id === mailboxA.id)).toHaveLength(firstRead.length + 1);

    // Ours flagged where they are; the unrelated mail untouched.
    const inbox: StoredMessage[] = await stack.dovecot.messages(user);
    const flagged = (raw: string) => (inbox.find((m) => m.messageId === messageIdOf(raw))?.flags ?? ["(missing)"]).join(" ");
    for (const raw of [before[1]!, after[0]!, after[2]!]) expect(flagged(raw)).toBe("$MxrayProcessed");
    for (const raw of [before[0]!, after[1]!]) expect(flagged(raw)).toBe("");
    expect(inbox).toHaveLength(5);
  }, 180_000);
});
