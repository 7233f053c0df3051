import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { LiveMessage } from "../../core/live.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { call, errorCode, result, seedAccount, seedJobWithBatch } from "../testing.ts";

async function post(path: string, body: string, secret = env.PROBE_SECRET) {
  return call(path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(secret, { method: "POST", path }, body) } });
}

describe("POST /internal/probes/results", () => {
  it("applies a signed chunk once, answers repeats with 200, and tells the job's hub", async () => {
    const { accountId } = await seedAccount();
    const { jobId, batchId } = await seedJobWithBatch(accountId, ["a@x.test", "b@x.test"]);
    const stub = env.JOB_HUB.get(env.JOB_HUB.idFromName(jobId));
    const ws = (await stub.fetch("http://hub/ws", { headers: { Upgrade: "websocket" } })).webSocket!;
    ws.accept();
    const completed = new Promise<LiveMessage>((resolve) =>
      ws.addEventListener("message", (e) => {
        const m = JSON.parse(e.data as string) as LiveMessage;
        if (m.type === "completed") resolve(m);
      }),
    );
    const body = JSON.stringify({ probe_id: "prb_1", batch_id: batchId, job_id: jobId, seq: 0, final: true, results: [result("a@x.test"), result("b@x.test")] });
    const first = await post("/internal/probes/results", body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ applied: 2, requeued: 0 });
    const repeat = await post("/internal/probes/results", body);
    expect(await repeat.json()).toEqual({ applied: 0, requeued: 0 });
    expect(await completed).toMatchObject({ job: { processed: 2, status: "completed", counts: { deliverable: 2 } } });
    ws.close(1000, "done");
  });

  it("refuses a bad signature, bad JSON and a wrong shape with the envelope; an unknown batch changes nothing", async () => {
    const valid = JSON.stringify({ probe_id: "p", batch_id: "bat_missing", job_id: "job_missing", seq: 0, final: false, results: [] });
    const bad = await post("/internal/probes/results", valid, "not-the-secret-at-all");
    expect([bad.status, await errorCode(bad)]).toEqual([401, "bad_signature"]);
    const unsigned = await call("/internal/probes/results", { method: "POST", body: valid });
    expect([unsigned.status, await errorCode(unsigned)]).toEqual([401, "bad_signature"]);
    const notJson = await post("/internal/probes/results", "{nope");
    expect([notJson.status, await errorCode(notJson)]).toEqual([400, "invalid_json"]);
    const shape = await post("/internal/probes/results", JSON.stringify({ job_id: 5 }));
    expect([shape.status, await errorCode(shape)]).toEqual([400, "validation_failed"]);
    const missing = await post("/internal/probes/results", valid);
    expect([missing.status, await missing.json()]).toEqual([200, { applied: 0, requeued: 0 }]);
  });
});

describe("POST /internal/probes/heartbeat", () => {
  it("registers a probe from a signed heartbeat and refuses an unsigned one", async () => {
    const hb = { probe_id: `prb_hb${crypto.randomUUID().slice(0, 6)}`, url: "http://127.0.0.1:9/", version: "0.1.0", in_flight: 0, capacity: 4, draining: false, sent_at: new Date().toISOString() };
    const body = JSON.stringify(hb);
    const ok = await post("/internal/probes/heartbeat", body);
    // The mailboxes it reads: whichever no live probe read in this shared database (edge/bounces/assign.test.ts says which).
    expect([ok.status, await ok.json()]).toEqual([200, { ok: true, mailboxes: expect.any(Array) }]);
    const refused = await post("/internal/probes/heartbeat", body, "wrong-secret-wrong-secret");
    expect([refused.status, await errorCode(refused)]).toEqual([401, "bad_signature"]);
  });
});
