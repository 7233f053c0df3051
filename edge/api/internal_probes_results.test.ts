import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/contracts.ts";
import type { LiveMessage } from "../../core/live.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { accounts, jobEmails, jobs } from "../../db/schema.ts";
import { createEdgeDb } from "../db.ts";

const db = () => createEdgeDb(env);

function result(email: string): Result {
  return {
    email, normalized: email, verdict: "deliverable", reason: "accepted", catch_all: false, disposable: false,
    role: false, free: false, greylisted: false, suggestion: null, score: 95, mx: "mx.x.test",
    smtp: { code: 250, enhanced: "2.1.5", message: "Ok" }, duration_ms: 3, retry_after: null,
  };
}

async function post(body: string, secret = env.PROBE_SECRET) {
  return exports.default.fetch("http://edge.test/internal/probes/results", {
    method: "POST",
    body,
    headers: { [SIGNATURE_HEADER]: await sign(secret, body) },
  });
}

describe("POST /internal/probes/results", () => {
  it("applies a signed chunk once, answers repeats with 200, and tells the job's hub", async () => {
    const id = crypto.randomUUID().slice(0, 8);
    await db().insert(accounts).values({ id: `acc_${id}`, name: id, kind: "personal" });
    await db().insert(jobs).values({ id: `job_${id}`, accountId: `acc_${id}`, name: "l", status: "running", total: 2, unique: 2 });
    await db().insert(jobEmails).values([
      { jobId: `job_${id}`, normalized: "a@x.test", email: "a@x.test", rowIndex: 0 },
      { jobId: `job_${id}`, normalized: "b@x.test", email: "b@x.test", rowIndex: 1 },
    ]);
    const stub = env.JOB_HUB.get(env.JOB_HUB.idFromName(`job_${id}`));
    const ws = (await stub.fetch("http://hub/ws", { headers: { Upgrade: "websocket" } })).webSocket!;
    ws.accept();
    const completed = new Promise<LiveMessage>((resolve) =>
      ws.addEventListener("message", (e) => {
        const m = JSON.parse(e.data as string) as LiveMessage;
        if (m.type === "completed") resolve(m);
      }),
    );

    const body = JSON.stringify({ probe_id: "prb_1", batch_id: "bat_1", job_id: `job_${id}`, seq: 0, final: true, results: [result("a@x.test"), result("b@x.test")] });
    const first = await post(body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ applied: 2 });
    const repeat = await post(body);
    expect(await repeat.json()).toEqual({ applied: 0 });
    expect(await completed).toMatchObject({ job: { processed: 2, status: "completed", counts: { deliverable: 2 } } });
    ws.close(1000, "done");
  });

  it("refuses a bad signature, bad JSON, a wrong shape and an unknown job with the envelope", async () => {
    const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
    const valid = JSON.stringify({ probe_id: "p", batch_id: "b", job_id: "job_missing", seq: 0, final: false, results: [] });
    const bad = await post(valid, "not-the-secret");
    expect([bad.status, await code(bad)]).toEqual([401, "bad_signature"]);
    const notJson = await post("{nope");
    expect([notJson.status, await code(notJson)]).toEqual([400, "invalid_json"]);
    const shape = await post(JSON.stringify({ job_id: 5 }));
    expect([shape.status, await code(shape)]).toEqual([400, "validation_failed"]);
    const missing = await post(valid);
    expect([missing.status, await code(missing)]).toEqual([404, "not_found"]);
  });
});
