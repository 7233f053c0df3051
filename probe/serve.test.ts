// The heartbeat's round trip as the daemon makes it: signed for the edge's heartbeat route, and
// its answer read for the bounce mailboxes assigned here (an answer without them, from an older
// edge, is still an answer; a refusal or a body outside the contract is none).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Heartbeat } from "../core/contracts.ts";
import { SIGNATURE_HEADER, verifySignature } from "../core/signing.ts";
import { HEARTBEAT_PATH, postHeartbeat } from "./serve.ts";

const SECRET = "probe-secret-for-heartbeat-tests-01";
let answer: { status: number; body: string } = { status: 200, body: "{}" };
let signedOk: boolean[] = [];
let edge: Server;
let edgeUrl: string;

beforeAll(async () => {
  edge = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      signedOk.push((await verifySignature([SECRET], req.headers[SIGNATURE_HEADER] as string, { method: "POST", path: HEARTBEAT_PATH }, body)).ok && req.url === HEARTBEAT_PATH);
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
  });
  await new Promise<void>((r) => edge.listen(0, "127.0.0.1", () => r()));
  edgeUrl = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => edge?.close(r));
});

const heartbeat: Heartbeat = { probe_id: "prb_hb", url: "https://probe.example.test", version: "0.1.0", in_flight: 0, capacity: 4, draining: false, sent_at: "2024-01-01T00:00:00.000Z" };
const mailbox = { id: "bmx_1", host: "imap.example.test", port: 993, security: "tls", username: "bounces", password: "v1.probe.x.y", folder: "INBOX", processed_folder: null, epoch: 2, uidvalidity: null, last_uid: 0, poll_requested_at: null };

describe("postHeartbeat", () => {
  it("signs the heartbeat and returns the edge's answer with the mailboxes it assigns", async () => {
    const logged: string[] = [];
    const config = { EDGE_URL: edgeUrl, PROBE_SECRET: SECRET, MXRAY_HEARTBEAT_MS: 5_000 };
    const log = (m: string) => void logged.push(m);
    signedOk = [];

    answer = { status: 200, body: JSON.stringify({ ok: true, mailboxes: [mailbox] }) };
    expect(await postHeartbeat(config, heartbeat, log)).toEqual({ ok: true, mailboxes: [mailbox] });
    answer = { status: 200, body: JSON.stringify({ ok: true }) };
    expect(await postHeartbeat(config, heartbeat, log)).toEqual({ ok: true });
    expect(logged).toEqual([]);

    answer = { status: 200, body: JSON.stringify({ ok: true, mailboxes: [{ id: "bmx_1" }] }) };
    expect(await postHeartbeat(config, heartbeat, log)).toBeNull();
    answer = { status: 503, body: "{}" };
    expect(await postHeartbeat(config, heartbeat, log)).toBeNull();
    expect(logged).toEqual(["heartbeat answer not understood", "heartbeat refused"]);
    expect(signedOk).toEqual([true, true, true, true]);
  });
});
