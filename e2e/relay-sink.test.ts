// The relay sink behaves like a submission relay, with nodemailer (the probe's client) as the peer.
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelaySink, type RelaySink } from "./relay-sink.ts";

let sink: RelaySink;
beforeAll(async () => {
  sink = await startRelaySink({ users: { alice: "pw" }, inboxPort: 0, script: (r) => (r === "defer@x.test" ? { rcpt: 451, message: "4.7.1 try later" } : null) });
});
afterAll(() => sink.stop());

const transport = (auth: { user: string; pass: string }, extra: object = {}) =>
  nodemailer.createTransport({ host: sink.host, port: sink.port, requireTLS: true, auth, tls: { ca: readFileSync(sink.caFile) }, ...extra });

describe("relay sink", () => {
  it("takes mail only after STARTTLS and AUTH, answers a queue id, and shows it in its inbox", async () => {
    const info = await transport({ user: "alice", pass: "pw" }).sendMail({ from: "a@sender.test", to: "b@x.test", subject: "Hello sink", text: "hi", envelope: { from: "bounce+1@b.test", to: ["b@x.test"] } });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]{12}$/);
    const [m] = await sink.waitForMessages(1);
    expect(m).toMatchObject({ user: "alice", mailFrom: "bounce+1@b.test", rcptTo: ["b@x.test"] });
    const listed = (await (await fetch(`${sink.inboxUrl}/messages`)).json()) as { subject: string }[];
    expect(listed[0]!.subject).toBe("Hello sink");
    expect(await (await fetch(sink.inboxUrl!)).text()).toContain("Hello sink");
    const link = `https://mxray.test/senders/confirm/${"t".repeat(120)}`;
    await transport({ user: "alice", pass: "pw" }).sendMail({ from: "a@sender.test", to: "b@x.test", subject: "Link", text: `Open this link:\n${link}\n` });
    // The raw message folds the long line (quoted-printable); the text view gives it back whole.
    expect(sink.messages[1]!.raw).not.toContain(link);
    expect(await (await fetch(`${sink.inboxUrl}/messages/2/text`)).text()).toContain(`\n${link}\n`);
    expect((await fetch(`${sink.inboxUrl}/messages/9/text`)).status).toBe(404);
  });

  it("refuses a wrong password with 535 and a recipient as scripted", async () => {
    const bad = await transport({ user: "alice", pass: "nope" }).sendMail({ from: "a@sender.test", to: "b@x.test", text: "x" }).catch((e: { code: string; responseCode: number }) => e);
    expect(bad).toMatchObject({ code: "EAUTH", responseCode: 535 });
    const deferred = await transport({ user: "alice", pass: "pw" }).sendMail({ from: "a@sender.test", to: "defer@x.test", text: "x" }).catch((e: { responseCode: number }) => e);
    expect(deferred).toMatchObject({ responseCode: 451 });
    expect(sink.stats().authFailures).toBe(1);
  });

  it("refuses AUTH on a connection that did not upgrade", async () => {
    const plain = await transport({ user: "alice", pass: "pw" }, { requireTLS: false, ignoreTLS: true }).sendMail({ from: "a@sender.test", to: "b@x.test", text: "x" }).catch((e: { responseCode: number }) => e);
    expect(plain).toMatchObject({ responseCode: 538 });
  });

  it("keeps a held message but parks its answer until released", async () => {
    const before = sink.messages.length;
    sink.hold();
    const sending = transport({ user: "alice", pass: "pw" }).sendMail({ from: "a@sender.test", to: "held@x.test", subject: "Held", text: "x" });
    let answered = false;
    void sending.then(() => (answered = true));
    await sink.waitForParked(1);
    // The relay has it, and the client has no answer yet.
    expect(sink.messages.slice(before).map((m) => m.rcptTo)).toEqual([["held@x.test"]]);
    expect(answered).toBe(false);
    sink.release();
    const info = await sending;
    expect(info.response).toBe(`250 2.0.0 Ok: queued as ${sink.messages.at(-1)!.queueId}`);
    // Released: the next message is answered at once.
    await transport({ user: "alice", pass: "pw" }).sendMail({ from: "a@sender.test", to: "after@x.test", text: "x" });
    expect(sink.messages.length).toBe(before + 2);
  });
});
