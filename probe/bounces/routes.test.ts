// The probe's mailbox routes (HMAC-signed like /v1/relays/test) on a real Dovecot:
// POST /v1/mailboxes/test says how far it got and reads nothing; POST /v1/mailboxes/poll answers
// at once and the read it queued reports to the edge.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailboxTestAnswerSchema } from "../../core/contracts.ts";
import { SIGNATURE_HEADER, sign } from "../../core/signing.ts";
import { startDovecot, type RunningDovecot } from "../../e2e/dovecot.ts";
import type { Resolver } from "../dns.ts";
import { createMetrics } from "../metrics.ts";
import { createProbeApp } from "../server.ts";
import { config, errorCode, fakeEngine, memoryOutbox } from "../testing.ts";
import { createBounces, type Bounces } from "./bounces.ts";
import { bounceTo, fakeEdge, mailboxWire, SECRET, stubParse } from "./testing.ts";

let dovecot: RunningDovecot;
let bounces: Bounces;
const edge = fakeEdge({ ours: ["r1"] });
const probeConfig = { ...config, PROBE_SECRET: SECRET };
/** The mailboxes here are IP literals: nothing is resolved. */
const noDns: Resolver = { mailRoute: () => Promise.reject(new Error("no DNS in this test")), lookup: () => Promise.reject(new Error("no DNS in this test")) };

beforeAll(async () => {
  dovecot = await startDovecot({ users: { frank: "pw-frank" } });
  bounces = createBounces({
    edgeUrl: config.EDGE_URL,
    probeSecret: SECRET,
    probeId: "prb_routes",
    resolver: noDns,
    allowPrivateTargets: true,
    extraCa: [readFileSync(dovecot.caFile, "utf8")],
    parse: stubParse,
    pollMs: 300_000,
    report: edge.report,
    // Scheduled polls never fire here: only the route's.
    timers: { set: () => 0, clear: () => {} },
  });
});
afterAll(async () => {
  await bounces?.stop();
  await dovecot?.stop();
});

const app = (withBounces = true) =>
  createProbeApp({ engine: fakeEngine().engine, config: probeConfig, outbox: memoryOutbox().outbox, metrics: createMetrics(), probeId: "prb_test", ...(withBounces ? { bounces } : {}) }).app;

async function postSigned(path: string, body: unknown, secret = SECRET, withBounces = true) {
  const text = JSON.stringify(body);
  return app(withBounces).request(path, { method: "POST", body: text, headers: { [SIGNATURE_HEADER]: await sign(secret, { method: "POST", path, audience: "prb_test" }, text) } });
}

describe("mailbox routes", () => {
  it("POST /v1/mailboxes/test says how far it got, over implicit TLS and STARTTLS, and reads nothing", async () => {
    await dovecot.deliver("frank", bounceTo("unread"));
    const before = await dovecot.messages("frank");
    for (const security of ["tls", "starttls"] as const) {
      const ok = await postSigned("/v1/mailboxes/test", { mailbox: await mailboxWire(dovecot, "frank", { security }) });
      expect(MailboxTestAnswerSchema.parse(await ok.json())).toMatchObject({ ok: true, stage: "done", messages: 1 });
      const wrong = await postSigned("/v1/mailboxes/test", { mailbox: await mailboxWire(dovecot, "frank", { security, clearPassword: "wrong" }), budget_ms: 5_000 });
      expect(MailboxTestAnswerSchema.parse(await wrong.json())).toMatchObject({ ok: false, stage: "auth" });
    }
    expect(await dovecot.messages("frank")).toEqual(before);
    expect(edge.reports).toEqual([]);
    const unsigned = await postSigned("/v1/mailboxes/test", { mailbox: await mailboxWire(dovecot, "frank") }, "not-the-probe-secret");
    expect(unsigned.status).toBe(401);
    const invalid = await postSigned("/v1/mailboxes/test", { mailbox: { id: "bmx_x" } });
    expect(await errorCode(invalid)).toBe("invalid_request");
  });

  it("POST /v1/mailboxes/poll answers once the read is queued; the read reports to the edge", async () => {
    const uid = await dovecot.deliver("frank", bounceTo("r1"));
    const res = await postSigned("/v1/mailboxes/poll", { mailbox: await mailboxWire(dovecot, "frank", { id: "bmx_poll" }) });
    expect(await res.json()).toEqual({ ok: true, queued: true });
    await bounces.manager.idle();
    expect(edge.reports.at(-1)).toMatchObject({ mailbox_id: "bmx_poll", error: null, last_uid: uid });
    expect(edge.reports.at(-1)!.messages.map((m) => m.token)).toEqual(["unread", "r1"]);
    expect((await dovecot.messages("frank", "mxray-processed")).length).toBe(1);
  });

  it("serves neither route on a probe built without bounces", async () => {
    const res = await postSigned("/v1/mailboxes/poll", { mailbox: await mailboxWire(dovecot, "frank") }, SECRET, false);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("not_found");
  });
});
