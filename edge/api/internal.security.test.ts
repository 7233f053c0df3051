// The probes' routes on the edge under attack (issues 10 and 21): a request whose signature's
// header does not hold is refused before its body is read; a signed body is cut off while it
// streams; a signature holds only for the route it was made for; a heartbeat's signature counts
// once, and a result chunk sent twice changes nothing.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { QSTASH_SIGNATURE_HEADER, signQstash } from "../../core/qstash.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { Redis } from "@upstash/redis/cloudflare";
import { lazyBody, unboundV1Signature } from "../../core/testing.ts";
import { call, errorCode } from "../testing.ts";
import { MAX_HEARTBEAT_BYTES } from "./internal_probes_heartbeat.ts";
import { MAX_CHUNK_BYTES } from "./internal_probes_results.ts";
import { MAX_REPORT_BYTES } from "./internal_probes_bounces.ts";
import { MAX_CLAIM_BYTES } from "./internal_probes_sends_claim.ts";
import { nonceKey } from "./signed.ts";

const CHUNK = 64 * 1024;
const HUGE = 200 * 1024 * 1024;

const RESULTS = { method: "POST", path: "/internal/probes/results" };
const HEARTBEAT = { method: "POST", path: "/internal/probes/heartbeat" };
const emptyChunk = JSON.stringify({ probe_id: "p", batch_id: "bat_sec", job_id: "job_sec", seq: 0, final: false, results: [] });

describe("bodies to /internal/probes/*", () => {
  for (const route of [
    { ...RESULTS, limit: MAX_CHUNK_BYTES },
    { ...HEARTBEAT, limit: MAX_HEARTBEAT_BYTES },
    { method: "POST", path: "/internal/probes/sends/claim", limit: MAX_CLAIM_BYTES },
    { method: "POST", path: "/internal/probes/sends/results", limit: MAX_CHUNK_BYTES },
    { method: "POST", path: "/internal/probes/bounces", limit: MAX_REPORT_BYTES },
  ]) {
    it(`${route.path}: a 200 MB streamed body with a signed header gets 413 after about the limit`, async () => {
      const { stream, state } = lazyBody(HUGE, CHUNK);
      const headers = { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, route, "{}") };
      // In-isolate (the env form of call), so the test sees the Worker cancel the very stream it sent.
      const res = await call(route.path, { method: "POST", body: stream, headers, env });
      expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
      // At most the limit and the one chunk that crossed it were read; the rest was never asked for.
      expect(state.pulled).toBeLessThanOrEqual(route.limit + CHUNK);
      expect(state.cancelled).toBe(true);
    });

    it(`${route.path}: an unsigned, forged or stale 200 MB body is refused (401) without a byte read`, async () => {
      const t = Math.floor(Date.now() / 1000);
      const forged = (await sign(env.PROBE_SECRET, route, "{}")).replace(/v3=[0-9a-f]+/, `v3=${"0".repeat(64)}`);
      for (const header of [null, forged, await sign(env.PROBE_SECRET, route, "{}", t - 301), await sign("not-the-secret-at-all", route, "{}")]) {
        const { stream, state } = lazyBody(HUGE, CHUNK);
        const res = await call(route.path, { method: "POST", body: stream, headers: header ? { [SIGNATURE_HEADER]: header } : {}, env });
        expect([res.status, await errorCode(res)]).toEqual([401, "bad_signature"]);
        expect(state.pulled).toBe(0);
      }
    });
  }

  it("a declared Content-Length over the limit is refused unread", async () => {
    const body = "x".repeat(MAX_CHUNK_BYTES + 1);
    const res = await call(RESULTS.path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, RESULTS, body) } });
    expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
  });

  it("a body that is not the one the header's hash names is refused after reading", async () => {
    const res = await call(RESULTS.path, { method: "POST", body: emptyChunk, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, RESULTS, emptyChunk.replace("bat_sec", "bat_sek")) } });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error]).toEqual([401, { code: "bad_signature", message: "Probe signature mismatch", requestId: expect.any(String) }]);
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

  it("refuses the older v1 and v2 forms, a missing, a malformed and a stale signature", async () => {
    const t = Math.floor(Date.now() / 1000);
    const v1 = await unboundV1Signature(env.PROBE_SECRET, emptyChunk, t);
    const stale = await sign(env.PROBE_SECRET, RESULTS, emptyChunk, t - 301);
    const cases = [[v1, "outdated"], [`t=${t},v2=${"0".repeat(64)}`, "outdated"], [null, "missing"], ["t=1,n=abcdefghijklmnop,v3=zz", "malformed"], [stale, "expired"]] as const;
    for (const [header, word] of cases) {
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

describe("replays", () => {
  const beat = () => JSON.stringify({ probe_id: `prb_replay_${crypto.randomUUID().slice(0, 6)}`, url: "https://probe.test", version: "t", in_flight: 0, capacity: 1, draining: false, sent_at: new Date().toISOString() });

  it("a heartbeat's signature counts once: the same request again is 401 replayed, unread; a new signature of the same body passes", async () => {
    const body = beat();
    const captured = await sign(env.PROBE_SECRET, HEARTBEAT, body);
    expect((await call(HEARTBEAT.path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: captured } })).status).toBe(200);
    const { stream, state } = lazyBody(HUGE, CHUNK);
    const replay = await call(HEARTBEAT.path, { method: "POST", body: stream, headers: { [SIGNATURE_HEADER]: captured }, env });
    expect([replay.status, await errorCode(replay)]).toEqual([401, "replayed"]);
    expect(state.pulled).toBe(0);
    const again = await call(HEARTBEAT.path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, HEARTBEAT, body) } });
    expect(again.status).toBe(200);
  });

  it("remembers a heartbeat's nonce only until its signature's window closes", async () => {
    const body = beat();
    const signed = await sign(env.PROBE_SECRET, HEARTBEAT, body, Math.floor(Date.now() / 1000) - 200); // 100 s of its window left
    expect((await call(HEARTBEAT.path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: signed } })).status).toBe(200);
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    const ttl = await redis.ttl(nonceKey(/n=([^,]+)/.exec(signed)![1]!));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(101);
  });

  it("a result chunk replayed changes nothing (no nonce needed: chunks are idempotent)", async () => {
    const signed = await sign(env.PROBE_SECRET, RESULTS, emptyChunk);
    for (let i = 0; i < 2; i++) {
      const res = await call(RESULTS.path, { method: "POST", body: emptyChunk, headers: { [SIGNATURE_HEADER]: signed } });
      expect([res.status, await res.json()]).toEqual([200, { applied: 0, requeued: 0 }]);
    }
  });
});

describe("QStash's calls to /internal/webhooks/*", () => {
  const QSTASH = { QSTASH_CURRENT_SIGNING_KEY: "sig_current_test_key", QSTASH_NEXT_SIGNING_KEY: "sig_next_test_key" };
  const bindings = { ...env, ...QSTASH };

  it("an unsigned, foreign-key or other-URL 200 MB body is refused (401) without a byte read", async () => {
    const path = "/internal/webhooks/deliver";
    const foreign = await signQstash({ signingKey: "not-the-signing-key", url: `http://edge.test${path}`, body: "{}" });
    const otherUrl = await signQstash({ signingKey: QSTASH.QSTASH_CURRENT_SIGNING_KEY, url: "http://edge.test/internal/webhooks/failed", body: "{}" });
    for (const header of [null, foreign, otherUrl]) {
      const { stream, state } = lazyBody(HUGE, CHUNK);
      const res = await call(path, { method: "POST", body: stream, headers: header ? { [QSTASH_SIGNATURE_HEADER]: header } : {}, env: bindings });
      expect([res.status, await errorCode(res)]).toEqual([401, "bad_signature"]);
      expect(state.pulled).toBe(0);
    }
    // Signed for this URL, the body is read (and cut off at its cap).
    const { stream, state } = lazyBody(HUGE, CHUNK);
    const own = await signQstash({ signingKey: QSTASH.QSTASH_NEXT_SIGNING_KEY, url: `http://edge.test${path}`, body: "{}" });
    const res = await call(path, { method: "POST", body: stream, headers: { [QSTASH_SIGNATURE_HEADER]: own }, env: bindings });
    expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
    expect(state.pulled).toBeGreaterThan(0);
  });
});
