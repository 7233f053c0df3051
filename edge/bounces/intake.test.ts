// A bounce mailbox's report, inside workerd against the real sqld: which messages are ours (a
// token's MAC, the recipient's account, a Message-ID with the same address), what is stored of
// them, the cursor moving in the same write, stale reports changing nothing, and a bounce read
// twice, or read and posted, refunding once. Through the signed route too.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { MailboxReport } from "../../core/contracts.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import { bounceMailboxes, bounces, creditLedger, suppressions } from "../../db/schema.ts";
import { call, testDb, testServices } from "../testing.ts";
import { receiveReport } from "./intake.ts";
import { dsn, mailboxReport, READER_PROBE, seedBounceWorld, type BounceWorld } from "./testing.ts";

const s = testServices();
const db = testDb();

const rowsOf = (w: BounceWorld) => db.select().from(bounces).where(eq(bounces.accountId, w.accountId));
const listed = (w: BounceWorld) => db.select().from(suppressions).where(eq(suppressions.accountId, w.accountId));
const refunds = (w: BounceWorld) => db.select().from(creditLedger).where(and(eq(creditLedger.accountId, w.accountId), eq(creditLedger.reason, "bounce_refund")));
const mailbox = async (w: BounceWorld) => (await db.select().from(bounceMailboxes).where(eq(bounceMailboxes.id, w.mailboxId)))[0]!;
const token = (w: BounceWorld, email: string) => w.recipients.get(email)!.token;
const id = (w: BounceWorld, email: string) => w.recipients.get(email)!.id;

describe("receiveReport", () => {
  it("applies what is ours, leaves the rest, moves the cursor, and answers the uids to move", async () => {
    const w = await seedBounceWorld();
    const other = await seedBounceWorld();
    const forged = token(w, "bob@x.test").replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    const report = mailboxReport(w, [
      dsn(11, token(w, "ada@x.test"), "Ada@X.test"), // hard, by its VERP token
      dsn(12, token(w, "eve@x.test"), "eve@x.test", { status: "4.2.2", action: "delayed" }), // soft
      { ...dsn(13, token(w, "cay@x.test"), "cay@x.test"), kind: "auto_reply", recipients: [] }, // an out-of-office: ours, never stored
      dsn(14, forged, "bob@x.test"), // a MAC that does not match
      dsn(15, token(other, "dan@x.test"), "dan@x.test"), // a real token of another account's campaign
      // The returned message's Message-ID names dan, but the report names someone else.
      dsn(16, null, "someone@else.test", { original_message_id: `<${id(w, "dan@x.test")}.${w.campaignId}@sender.test>` }),
      dsn(17, null, "bob@x.test"), // nothing ties it
    ]);
    const answer = await receiveReport(s, report, READER_PROBE);
    expect(answer).toEqual({ ours: [11, 12, 13], stale: false });

    const rows = await rowsOf(w);
    expect(rows.map((r) => [r.email, r.kind, r.status, r.source, r.campaignId, r.recipientId, r.mailboxId, r.dedupeKey]).sort()).toEqual([
      ["ada@x.test", "hard", "5.1.1", "imap", w.campaignId, id(w, "ada@x.test"), w.mailboxId, `imap:${w.mailboxId}:7:11:ada@x.test`],
      ["eve@x.test", "soft", "4.2.2", "imap", w.campaignId, id(w, "eve@x.test"), w.mailboxId, `imap:${w.mailboxId}:7:12:eve@x.test`],
    ]);
    expect(rows.find((r) => r.email === "ada@x.test")).toMatchObject({ raw: report.messages[0]!.raw, rawTruncated: false, action: "failed", remoteMta: "mx.x.test", refundJobId: w.jobId });
    expect(rows.find((r) => r.email === "eve@x.test")!.category).toBe("mailbox_full");
    expect((await listed(w)).map((l) => l.email)).toEqual(["ada@x.test"]);
    expect(await rowsOf(other)).toEqual([]);
    expect(await listed(other)).toEqual([]);
    expect(await mailbox(w)).toMatchObject({ uidvalidity: 7, lastUid: 17, messagesSeen: 7, messagesOurs: 3, lastError: null, lastPolledAt: expect.any(Number) });

    // The same report again (its answer was lost): the same uids, nothing written or counted twice.
    expect(await receiveReport(s, report, READER_PROBE)).toEqual(answer);
    expect(await rowsOf(w)).toHaveLength(2);
    expect(await refunds(w)).toHaveLength(1);
    expect(await mailbox(w)).toMatchObject({ lastUid: 17, messagesSeen: 7, messagesOurs: 3 });
  });

  it("ties a returned message by its List-Unsubscribe token, or by its Message-ID when the report names that recipient", async () => {
    const w = await seedBounceWorld();
    const answer = await receiveReport(
      s,
      mailboxReport(w, [
        dsn(3, null, "bob@x.test", { original_token: token(w, "bob@x.test") }),
        dsn(4, null, "DAN@x.test", { original_message_id: `<${id(w, "dan@x.test")}.${w.campaignId}@sender.test>`, status: "5.2.1" }),
        // A complaint (RFC 5965) returned with the message's token.
        { ...dsn(5, null, "eve@x.test", { original_token: token(w, "eve@x.test") }), kind: "complaint", recipients: [] },
      ]),
      READER_PROBE,
    );
    expect(answer.ours).toEqual([3, 4, 5]);
    const rows = await rowsOf(w);
    expect(rows.map((r) => [r.email, r.kind, r.recipientId]).sort()).toEqual([
      ["bob@x.test", "hard", id(w, "bob@x.test")],
      ["dan@x.test", "hard", id(w, "dan@x.test")],
      ["eve@x.test", "complaint", id(w, "eve@x.test")],
    ]);
    // 5.2.1 is hard but not an address status: suppressed, not refunded.
    expect(rows.find((r) => r.email === "dan@x.test")!.refundJobId).toBeNull();
    expect((await listed(w)).map((l) => [l.email, l.reason]).sort()).toEqual([["bob@x.test", "bounced"], ["dan@x.test", "bounced"], ["eve@x.test", "complained"]]);
  });

  it("changes nothing for a probe that no longer holds the mailbox, an old epoch, or a mailbox that is gone", async () => {
    const w = await seedBounceWorld();
    const report = mailboxReport(w, [dsn(21, token(w, "ada@x.test"), "ada@x.test")]);
    const before = await mailbox(w);
    expect(await receiveReport(s, { ...report, epoch: 2 }, READER_PROBE)).toEqual({ ours: [], stale: true });
    expect(await receiveReport(s, { ...report, probe_id: "prb_other" }, "prb_other")).toEqual({ ours: [], stale: true });
    expect(await receiveReport(s, { ...report, mailbox_id: "bmx_gone" }, READER_PROBE)).toEqual({ ours: [], stale: true });
    expect(await receiveReport(s, { ...report, error: "auth: 535" }, "prb_other")).toEqual({ ours: [], stale: true });
    expect(await rowsOf(w)).toEqual([]);
    expect(await listed(w)).toEqual([]);
    expect(await mailbox(w)).toEqual(before);
  });

  it("keeps the cursor moving forward under one UIDVALIDITY, starts over under a new one, and records a failed read alone", async () => {
    const w = await seedBounceWorld();
    await receiveReport(s, mailboxReport(w, [], { last_uid: 40, seen: 5 }), READER_PROBE);
    await receiveReport(s, mailboxReport(w, [], { last_uid: 30, seen: 2 }), READER_PROBE); // an older report arriving late
    expect(await mailbox(w)).toMatchObject({ uidvalidity: 7, lastUid: 40, messagesSeen: 5 });
    expect(await receiveReport(s, mailboxReport(w, [], { error: "connect: ECONNREFUSED", last_uid: 99, uidvalidity: 8 }), READER_PROBE)).toEqual({ ours: [], stale: false });
    expect(await mailbox(w)).toMatchObject({ uidvalidity: 7, lastUid: 40, lastError: "connect: ECONNREFUSED" });
    // The folder was recreated (RFC 9051 §2.3.1.1): its uids start again.
    await receiveReport(s, mailboxReport(w, [dsn(2, token(w, "ada@x.test"), "ada@x.test")], { uidvalidity: 8, last_uid: 3, seen: 3 }), READER_PROBE);
    expect(await mailbox(w)).toMatchObject({ uidvalidity: 8, lastUid: 3, messagesSeen: 8, messagesOurs: 1, lastError: null });
    expect((await rowsOf(w)).map((r) => r.dedupeKey)).toEqual([`imap:${w.mailboxId}:8:2:ada@x.test`]);
  });

  it("refunds once when the same bounce is read from the mailbox and posted to POST /api/v1/bounces, in either order", async () => {
    const w = await seedBounceWorld();
    const post = (email: string) =>
      call("/api/v1/bounces", {
        method: "POST", key: w.key, headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, kind: "hard", status: "5.1.1", campaign_id: w.campaignId, occurred_at: new Date().toISOString() }),
      });
    await receiveReport(s, mailboxReport(w, [dsn(31, token(w, "ada@x.test"), "ada@x.test")]), READER_PROBE);
    const posted = await post("ada@x.test");
    expect(posted.status).toBe(201);
    expect(((await posted.json()) as { refunded_job_id: string | null }).refunded_job_id).toBeNull();

    const first = await post("bob@x.test");
    expect(((await first.json()) as { refunded_job_id: string | null }).refunded_job_id).toBe(w.jobId);
    await receiveReport(s, mailboxReport(w, [dsn(32, token(w, "bob@x.test"), "bob@x.test")]), READER_PROBE);
    expect((await rowsOf(w)).map((r) => [r.email, r.source, r.refundJobId]).sort()).toEqual([
      ["ada@x.test", "api", null],
      ["ada@x.test", "imap", w.jobId],
      ["bob@x.test", "api", w.jobId],
      ["bob@x.test", "imap", null],
    ]);
    expect((await refunds(w)).map((e) => e.idempotencyKey).sort()).toEqual([`bounce_refund:${w.jobId}:ada@x.test`, `bounce_refund:${w.jobId}:bob@x.test`]);
    // The credits ledger says so too: exactly one bounce_refund per verification.
    const ledger = (await (await call("/api/v1/credits/ledger?limit=100", { key: w.key })).json()) as { data: { reason: string; delta: number; job_id: string }[] };
    expect(ledger.data.filter((e) => e.reason === "bounce_refund")).toEqual([expect.objectContaining({ delta: 1, job_id: w.jobId }), expect.objectContaining({ delta: 1, job_id: w.jobId })]);
  });
});

describe("POST /internal/probes/bounces", () => {
  const path = "/internal/probes/bounces";
  const signed = async (report: MailboxReport) => {
    const body = JSON.stringify(report);
    return call(path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path }, body) } });
  };

  it("takes a signed report and answers the uids that are ours; refuses an unsigned one", async () => {
    const w = await seedBounceWorld();
    const report = mailboxReport(w, [dsn(5, token(w, "ada@x.test"), "ada@x.test"), dsn(6, await recipientToken("not-our-secret", { accountId: w.accountId, campaignId: w.campaignId, recipientId: id(w, "bob@x.test") }), "bob@x.test")]);
    const res = await signed(report);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ours: [5], stale: false });
    expect((await rowsOf(w)).map((r) => r.email)).toEqual(["ada@x.test"]);

    const unsigned = await call(path, { method: "POST", body: JSON.stringify(report) });
    expect(unsigned.status).toBe(401);
    const stale = await signed({ ...report, epoch: 9 });
    expect(await stale.json()).toEqual({ ours: [], stale: true });
    const bad = await signed({ ...report, messages: [{ ...report.messages[0]!, uid: 0 }] });
    expect(bad.status).toBe(400);
  });
});
