// The probes' routes on the edge under attack (issue 10): bodies are cut off while they stream,
// before the signature is looked at, and a signature holds only for the route it was made for.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { lazyBody, unboundV1Signature } from "../../core/testing.ts";
import { call, errorCode } from "../testing.ts";
import { MAX_HEARTBEAT_BYTES } from "./internal_probes_heartbeat.ts";
import { MAX_CHUNK_BYTES } from "./internal_probes_results.ts";

const CHUNK = 64 * 1024;
const HUGE = 200 * 1024 * 1024;

const RESULTS = { method: "POST", path: "/internal/probes/results" };
const HEARTBEAT = { method: "POST", path: "/internal/probes/heartbeat" };
const emptyChunk = JSON.stringify({ probe_id: "p", batch_id: "bat_sec", job_id: "job_sec", seq: 0, final: false, results: [] });

describe("oversized bodies to /internal/probes/*", () => {
  for (const route of [
    { ...RESULTS, limit: MAX_CHUNK_BYTES },
    { ...HEARTBEAT, limit: MAX_HEARTBEAT_BYTES },
  ]) {
    for (const withSignature of [false, true]) {
      it(`${route.path}: a 200 MB streamed body ${withSignature ? "with" : "without"} a signature gets 413 after about the limit`, async () => {
        const { stream, state } = lazyBody(HUGE, CHUNK);
        const headers: Record<string, string> = withSignature ? { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, route, "{}") } : {};
        // In-isolate (the env form of call), so the test sees the Worker cancel the very stream it sent.
        const res = await call(route.path, { method: "POST", body: stream, headers, env });
        expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
        // At most the limit and the one chunk that crossed it were read; the rest was never asked for.
        expect(state.pulled).toBeLessThanOrEqual(route.limit + CHUNK);
        expect(state.cancelled).toBe(true);
      });
    }
  }

  it("a declared Content-Length over the limit is refused unread", async () => {
    const res = await call(RESULTS.path, { method: "POST", body: "x".repeat(MAX_CHUNK_BYTES + 1) });
    expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
  });
});

describe("signatures on /internal/probes/*", () => {
  it("a body signed for one route is refused by the other", async () => {
    const forHeartbeat = await sign(env.PROBE_SECRET, HEARTBEAT, emptyChunk);
    const replayed = await call(RESULTS.path, { method: "POST", body: emptyChunk, headers: { [SIGNATURE_HEADER]: forHeartbeat } });
    expect([replayed.status, await errorCode(replayed)]).toEqual([401, "bad_signature"]);
    // The same body signed for its own route goes through (an unknown batch changes nothing).
    const own = await call(RESULTS.path, { method: "POST", body: emptyChunk, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, RESULTS, emptyChunk) } });
    expect(own.status).toBe(200);
  });

  it("refuses the unbound v1 form, a missing, a malformed and a stale signature", async () => {
    const t = Math.floor(Date.now() / 1000);
    const v1 = await unboundV1Signature(env.PROBE_SECRET, emptyChunk, t);
    const stale = await sign(env.PROBE_SECRET, RESULTS, emptyChunk, t - 301);
    for (const [header, word] of [[v1, "outdated"], [null, "missing"], ["t=1,v2=zz", "malformed"], [stale, "expired"]] as const) {
      const res = await call(RESULTS.path, { method: "POST", body: emptyChunk, headers: header ? { [SIGNATURE_HEADER]: header } : {} });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: "bad_signature", message: `Probe signature ${word}` });
    }
  });
});

describe("heartbeats", () => {
  it("refuse a probe URL the edge should never send work to", async () => {
    const beat = (url: string) => JSON.stringify({ probe_id: "prb_sec_url", url, version: "t", in_flight: 0, capacity: 1, draining: true, sent_at: "now" });
    for (const url of ["file:///etc/passwd", "gopher://127.0.0.1:25/", "https://user:pw@probe.test", "not a url"]) {
      const body = beat(url);
      const res = await call(HEARTBEAT.path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, HEARTBEAT, body) } });
      expect([url, res.status, await errorCode(res)]).toEqual([url, 400, "validation_failed"]);
    }
    const body = beat("https://probe.test");
    const ok = await call(HEARTBEAT.path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, HEARTBEAT, body) } });
    expect(ok.status).toBe(200);
  });
});
