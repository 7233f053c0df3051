// The bounce monitor against a real IMAP server (Debian's Dovecot on loopback, e2e/dovecot.ts):
// only what the edge confirms as ours is moved or flagged; everything else in the folder keeps
// its flags (unread stays unread, a user's \Deleted message survives every move); the cursor is
// respected; a new UIDVALIDITY reads again from the start; stale stops; a failed read says why.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailboxReportSchema, type MailboxReport } from "../../core/contracts.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../core/signing.ts";
import { startDovecot, type RunningDovecot, type StoredMessage } from "../../e2e/dovecot.ts";
import { PROCESSED_KEYWORD } from "./imap.ts";
import { BOUNCES_PATH, MAX_MESSAGE_BYTES, createEdgeReporter, readMailbox, type MailboxReading, type MonitorDeps } from "./monitor.ts";
import { SECRET, bounceTo, fakeEdge, imapOptions, mailboxWire, stubParse, unrelated } from "./testing.ts";

let dovecot: RunningDovecot;
let ca: string;
let userNo = 0;

beforeAll(async () => {
  dovecot = await startDovecot();
  ca = readFileSync(dovecot.caFile, "utf8");
});
afterAll(async () => {
  await dovecot?.stop();
});

/** A user of its own per test: an empty INBOX. */
function newUser(): string {
  const user = `user${++userNo}`;
  dovecot.addUser(user, `pw-${user}`);
  return user;
}

const deps = (edge: ReturnType<typeof fakeEdge>, over: Partial<MonitorDeps> = {}): MonitorDeps => ({ imap: imapOptions(ca), parse: stubParse, report: edge.report, ...over });
const byUid = (messages: StoredMessage[]) => new Map(messages.map((m) => [m.uid, m]));

/** The folder holding a user's mail: the customer's own messages beside three bounces. */
async function mixedInbox(user: string) {
  const uids = {
    unread: await dovecot.deliver(user, unrelated("Invoice 1 (unread)")),
    read: await dovecot.deliver(user, unrelated("Invoice 2 (read)"), { flags: ["\\Seen"] }),
    deleted: await dovecot.deliver(user, unrelated("Thrown away by the user"), { flags: ["\\Deleted", "\\Seen"] }),
    oursUnread: await dovecot.deliver(user, bounceTo("tokA")),
    oursRead: await dovecot.deliver(user, bounceTo("tokB"), { flags: ["\\Seen", "\\Flagged"] }),
    looksOurs: await dovecot.deliver(user, bounceTo("tokC")), // a VERP address the edge does not confirm
  };
  return uids;
}

describe("readMailbox against Dovecot", () => {
  it("moves only the messages the edge confirms, keeps their flags, and touches nothing else", async () => {
    const user = newUser();
    const uids = await mixedInbox(user);
    const before = byUid(await dovecot.messages(user));
    const edge = fakeEdge({ ours: ["tokA", "tokB"] });

    const outcome = await readMailbox(await mailboxWire(dovecot, user), deps(edge));

    expect(outcome).toMatchObject({ status: "done", seen: 6, ours: 2, disposals: ["moved"], error: null });
    // One report: every message read, only the three that look ours sent; the customer's mail never leaves the probe.
    expect(edge.reports).toHaveLength(1);
    const report = MailboxReportSchema.parse({ probe_id: "prb_test", ...edge.reports[0] });
    expect(report).toMatchObject({ epoch: 1, last_uid: uids.looksOurs, seen: 6, error: null });
    expect(report.messages.map((m) => m.uid)).toEqual([uids.oursUnread, uids.oursRead, uids.looksOurs]);
    expect(JSON.stringify(report)).not.toContain("Invoice");
    expect(outcome.cursor).toEqual({ uidvalidity: report.uidvalidity, last_uid: uids.looksOurs });

    // Left in the folder exactly as they were: unread, read, the user's \Deleted one, the unconfirmed bounce.
    const after = await dovecot.messages(user);
    expect(after.map((m) => m.uid)).toEqual([uids.unread, uids.read, uids.deleted, uids.looksOurs]);
    for (const m of after) expect(m.flags).toEqual(before.get(m.uid)!.flags);
    expect(after.find((m) => m.uid === uids.unread)!.flags).toEqual([]);
    expect(after.find((m) => m.uid === uids.deleted)!.flags).toEqual(["\\Deleted", "\\Seen"]);

    // The confirmed ones moved with their flags: the unread one is still unread.
    const processed = await dovecot.messages(user, "mxray-processed");
    expect(processed.map((m) => [m.messageId, m.flags])).toEqual([
      [before.get(uids.oursUnread)!.messageId, []],
      [before.get(uids.oursRead)!.messageId, ["\\Flagged", "\\Seen"]],
    ]);
  });

  it("flags confirmed messages $MxrayProcessed where they are when there is no processed folder", async () => {
    const user = newUser();
    const uids = await mixedInbox(user);
    const before = byUid(await dovecot.messages(user));
    const edge = fakeEdge({ ours: ["tokA", "tokB"] });

    const outcome = await readMailbox(await mailboxWire(dovecot, user, { processed_folder: null }), deps(edge));

    expect(outcome).toMatchObject({ status: "done", ours: 2, disposals: ["flagged"] });
    const after = await dovecot.messages(user);
    expect(after.map((m) => m.uid)).toEqual(Object.values(uids));
    for (const m of after) {
      const was = before.get(m.uid)!.flags;
      const confirmed = m.uid === uids.oursUnread || m.uid === uids.oursRead;
      expect(m.flags).toEqual(confirmed ? [...was, PROCESSED_KEYWORD].sort() : was);
    }
    expect(await dovecot.messages(user, "mxray-processed")).toEqual([]);
  });

  it("starts at the cursor: a second read reads nothing twice, a third only what arrived since", async () => {
    const user = newUser();
    const uids = await mixedInbox(user);
    const edge = fakeEdge({ ours: ["tokA", "tokB"] });
    const wire = await mailboxWire(dovecot, user);

    const first = await readMailbox(wire, deps(edge));
    const second = await readMailbox({ ...wire, ...first.cursor }, deps(edge));
    expect(second).toMatchObject({ status: "done", seen: 0, ours: 0, cursor: first.cursor });
    // Still reported (the edge records the read), with nothing in it.
    expect(edge.reports[1]).toMatchObject({ last_uid: uids.looksOurs, seen: 0, messages: [] });

    const fresh = await dovecot.deliver(user, bounceTo("tokD"));
    edge.ours.add("tokD");
    const third = await readMailbox({ ...wire, ...second.cursor }, deps(edge));
    expect(third).toMatchObject({ status: "done", seen: 1, ours: 1, cursor: { last_uid: fresh } });
    expect(edge.reports[2]!.messages.map((m) => m.uid)).toEqual([fresh]);
    expect(edge.reports.flatMap((r) => r.messages.map((m) => m.uid))).toEqual([uids.oursUnread, uids.oursRead, uids.looksOurs, fresh]);
  });

  it("reports in chunks, stops after maxChunks and goes on from there next time", async () => {
    const user = newUser();
    const uids = await dovecot.deliverMany(user, ["t1", "t2", "t3", "t4", "t5"].map((t) => bounceTo(t)));
    const edge = fakeEdge({ ours: ["t1", "t2", "t3", "t4", "t5"] });
    const wire = await mailboxWire(dovecot, user);
    const limits = { chunkSize: 2, maxChunks: 2 };

    const first = await readMailbox(wire, deps(edge, limits));
    expect(first).toMatchObject({ status: "more", seen: 4, ours: 4, cursor: { last_uid: uids[3] } });
    expect(edge.reports.map((r) => [r.last_uid, r.messages.map((m) => m.uid)])).toEqual([
      [uids[1], [uids[0], uids[1]]],
      [uids[3], [uids[2], uids[3]]],
    ]);
    const second = await readMailbox({ ...wire, ...first.cursor }, deps(edge, limits));
    expect(second).toMatchObject({ status: "done", seen: 1, cursor: { last_uid: uids[4] } });
    expect((await dovecot.messages(user, "mxray-processed")).length).toBe(5);
    expect(await dovecot.messages(user)).toEqual([]);
  });

  it("reads the folder again from the start when its UIDVALIDITY changed, and reports the new one", async () => {
    const user = newUser();
    const uids = await mixedInbox(user);
    const edge = fakeEdge();
    const wire = await mailboxWire(dovecot, user);
    const first = await readMailbox(wire, deps(edge));
    const uidvalidity = first.cursor.uidvalidity!;

    // The cursor names an older UIDVALIDITY, far past every uid here: none of it means anything now.
    const again = await readMailbox({ ...wire, uidvalidity: uidvalidity - 1, last_uid: 10_000 }, deps(edge));
    expect(again).toMatchObject({ status: "done", seen: 6, cursor: { uidvalidity, last_uid: uids.looksOurs } });
    expect(edge.reports[1]).toMatchObject({ uidvalidity, last_uid: uids.looksOurs, seen: 6 });
    expect(edge.reports[1]!.messages).toHaveLength(3);
  });

  it("stops at once when the edge calls the read stale, and moves nothing", async () => {
    const user = newUser();
    await dovecot.deliverMany(user, ["s1", "s2", "s3"].map((t) => bounceTo(t)));
    const before = await dovecot.messages(user);
    const edge = fakeEdge({ ours: ["s1", "s2", "s3"], stale: () => true });

    const outcome = await readMailbox(await mailboxWire(dovecot, user, { epoch: 3 }), deps(edge, { chunkSize: 1 }));

    expect(outcome).toMatchObject({ status: "stale", seen: 0, ours: 0, cursor: { uidvalidity: null, last_uid: 0 } });
    expect(edge.reports).toHaveLength(1);
    expect(await dovecot.messages(user)).toEqual(before);
  });

  it("reports a failed login or a missing folder as the mailbox's error, with the cursor unchanged", async () => {
    const user = newUser();
    await dovecot.deliver(user, bounceTo("e1"));
    const edge = fakeEdge({ ours: ["e1"] });

    const wrong = await readMailbox(await mailboxWire(dovecot, user, { clearPassword: "not-the-password", uidvalidity: 7, last_uid: 3 }), deps(edge));
    expect(wrong).toMatchObject({ status: "error", seen: 0, cursor: { uidvalidity: 7, last_uid: 3 } });
    expect(wrong.error).toMatch(/^auth: /);
    expect(edge.reports[0]).toMatchObject({ uidvalidity: 7, last_uid: 3, seen: 0, messages: [], error: wrong.error });

    const missing = await readMailbox(await mailboxWire(dovecot, user, { folder: "Bounces" }), deps(edge));
    expect(missing).toMatchObject({ status: "error", cursor: { uidvalidity: null, last_uid: 0 } });
    expect(missing.error).toMatch(/^folder: Bounces does not open/);
    expect(edge.reports[1]).toMatchObject({ uidvalidity: 0, last_uid: 0, messages: [], error: missing.error });
    expect((await dovecot.messages(user)).map((m) => m.flags)).toEqual([[]]);
  });

  it("fetches only the first 256 KiB of a message, and still unread", async () => {
    const user = newUser();
    const big = bounceTo("big").replace("This is bounce", `${"x".repeat(76)}\r\n`.repeat(6_000) + "This is bounce");
    const uid = await dovecot.deliver(user, big);
    const sizes: number[] = [];
    const edge = fakeEdge();
    const outcome = await readMailbox(await mailboxWire(dovecot, user), deps(edge, { parse: async (u, source) => (sizes.push(source.length), stubParse(u, source)) }));
    expect(outcome).toMatchObject({ status: "done", seen: 1 });
    expect(big.length).toBeGreaterThan(MAX_MESSAGE_BYTES);
    expect(sizes).toEqual([MAX_MESSAGE_BYTES]);
    expect(edge.reports[0]!.messages[0]).toMatchObject({ uid, token: "big", raw_truncated: true });
    expect((await dovecot.messages(user)).map((m) => m.flags)).toEqual([[]]);
  });

  it("drops what the parser cannot read or gives outside the contract, and reads on", async () => {
    const user = newUser();
    const uids = await dovecot.deliverMany(user, [bounceTo("p1"), bounceTo("p2"), bounceTo("p3")]);
    const edge = fakeEdge({ ours: ["p1", "p2", "p3"] });
    const parse: MonitorDeps["parse"] = async (uid, source) => {
      if (uid === uids[0]) throw new Error("parser crashed");
      const parsed = await stubParse(uid, source);
      return uid === uids[1] ? { ...parsed!, kind: "bogus" as never } : parsed;
    };
    const outcome = await readMailbox(await mailboxWire(dovecot, user), deps(edge, { parse }));
    expect(outcome).toMatchObject({ status: "done", seen: 3, ours: 1 });
    expect(edge.reports[0]!.messages.map((m) => m.uid)).toEqual([uids[2]]);
    expect((await dovecot.messages(user)).map((m) => m.uid)).toEqual([uids[0], uids[1]]);
  });
});

describe("readMailbox against servers without MOVE", () => {
  let noMove: RunningDovecot;
  let neither: RunningDovecot;
  beforeAll(async () => {
    [noMove, neither] = await Promise.all([
      startDovecot({ users: { carol: "pw-carol" }, capability: "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS" }),
      startDovecot({ users: { dave: "pw-dave" }, capability: "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([noMove?.stop(), neither?.stop()]);
  });

  it("with UIDPLUS: COPY, then UID EXPUNGE of exactly those uids; the user's \\Deleted message survives", async () => {
    const deleted = await noMove.deliver("carol", unrelated("Thrown away"), { flags: ["\\Deleted"] });
    const ours = await noMove.deliver("carol", bounceTo("m1"));
    const unread = await noMove.deliver("carol", unrelated("Unread"));
    const edge = fakeEdge({ ours: ["m1"] });

    const outcome = await readMailbox(await mailboxWire(noMove, "carol"), deps(edge));

    expect(outcome).toMatchObject({ status: "done", ours: 1, disposals: ["copied_and_expunged"] });
    expect((await noMove.messages("carol")).map((m) => [m.uid, m.flags])).toEqual([
      [deleted, ["\\Deleted"]],
      [unread, []],
    ]);
    const processed = await noMove.messages("carol", "mxray-processed");
    expect(processed).toHaveLength(1);
    expect(processed[0]!.subject).toBe("Undelivered Mail Returned to Sender");
    expect(ours).toBeGreaterThan(deleted);
  });

  it("with neither MOVE nor UIDPLUS: flags, never a plain EXPUNGE", async () => {
    const deleted = await neither.deliver("dave", unrelated("Thrown away"), { flags: ["\\Deleted"] });
    const ours = await neither.deliver("dave", bounceTo("n1"));
    const edge = fakeEdge({ ours: ["n1"] });

    const outcome = await readMailbox(await mailboxWire(neither, "dave"), deps(edge));

    expect(outcome).toMatchObject({ status: "done", ours: 1, disposals: ["flagged"] });
    expect((await neither.messages("dave")).map((m) => [m.uid, m.flags])).toEqual([
      [deleted, ["\\Deleted"]],
      [ours, [PROCESSED_KEYWORD]],
    ]);
    expect(await neither.messages("dave", "mxray-processed")).toEqual([]);
    expect(neither.log()).not.toMatch(/expunged=[1-9]/);
  });
});

describe("createEdgeReporter", () => {
  it("posts each report signed for the edge's bounces route and returns its answer; anything else throws", async () => {
    const answers = [
      { status: 200, body: JSON.stringify({ ours: [3], stale: false }) },
      { status: 200, body: JSON.stringify({ ours: "all" }) },
      { status: 409, body: "{}" },
    ];
    const received: { signed: boolean; body: MailboxReport }[] = [];
    const edge = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const signed = (await verifySignature([SECRET], req.headers[SIGNATURE_HEADER] as string, { method: "POST", path: BOUNCES_PATH }, body)).ok && req.url === BOUNCES_PATH;
        received.push({ signed, body: JSON.parse(body) as MailboxReport });
        const answer = answers.shift()!;
        res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      });
    });
    await new Promise<void>((r) => edge.listen(0, "127.0.0.1", () => r()));
    try {
      const report = createEdgeReporter({ edgeUrl: `http://127.0.0.1:${(edge.address() as AddressInfo).port}/`, probeSecret: SECRET, probeId: "prb_r" });
      const sent: MailboxReading = { mailbox_id: "bmx_r", epoch: 2, uidvalidity: 9, last_uid: 3, seen: 3, messages: [], error: null };
      expect(await report(sent)).toEqual({ ours: [3], stale: false });
      await expect(report(sent)).rejects.toThrow("not a MailboxReportAnswer");
      await expect(report(sent)).rejects.toThrow("HTTP 409");
      expect(received).toEqual([
        { signed: true, body: { probe_id: "prb_r", ...sent } },
        { signed: true, body: { probe_id: "prb_r", ...sent } },
        { signed: true, body: { probe_id: "prb_r", ...sent } },
      ]);
    } finally {
      await new Promise((r) => edge.close(r));
    }
  });
});
