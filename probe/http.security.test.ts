// The probe's HTTP surface under attack (issue 10): oversized bodies are cut off while they
// stream, signatures bound to their route, results only to the configured edge, and one bad
// address never sinks its batch.
import { request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { describe, expect, it } from "vitest";
import { signQstash } from "../core/qstash.ts";
import { sign, SIGNATURE_HEADER } from "../core/signing.ts";
import { lazyBody, unboundV1Signature } from "../core/testing.ts";
import { MAX_BODY_BYTES, MAX_BUFFERED_BYTES, MAX_VERIFY_BODY_BYTES } from "./server.ts";
import { BATCHES_URL, batchBody, config, errorCode, postBatch, setup } from "./testing.ts";

const CHUNK = 64 * 1024;
const HUGE = 200 * 1024 * 1024;

type App = ReturnType<typeof setup>["app"];

function post(app: App, path: string, body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) {
  return app.request(path, { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

describe("oversized bodies", () => {
  const routes = [
    { path: "/v1/batches", limit: MAX_BODY_BYTES, signed: async () => ({ "upstash-signature": await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: BATCHES_URL, body: "{}" }) }) },
    { path: "/v1/verify", limit: MAX_VERIFY_BODY_BYTES, signed: async () => ({ [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, { method: "POST", path: "/v1/verify" }, "{}") }) },
  ];
  for (const route of routes) {
    for (const withSignature of [false, true]) {
      it(`${route.path}: a 200 MB streamed body ${withSignature ? "with" : "without"} a signature is cut off at the limit with 413`, async () => {
        const probe = setup();
        const { stream, state } = lazyBody(HUGE, CHUNK);
        const res = await post(probe.app, route.path, stream, withSignature ? await route.signed() : {});
        expect(res.status).toBe(413);
        expect(await errorCode(res)).toBe("payload_too_large");
        // At most the limit and the one chunk that crossed it were read; the rest was never asked for.
        expect(state.pulled).toBeLessThanOrEqual(route.limit + CHUNK);
        expect(state.cancelled).toBe(true);
        expect(probe.calls).toHaveLength(0);
      });
    }
  }

  it("a chunked 200 MB body over a real socket gets 413 long before the client could send it all", async () => {
    const probe = setup();
    const server = serve({ fetch: probe.app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    await new Promise<void>((resolve) => server.once("listening", resolve));
    const { port } = server.address() as AddressInfo;
    let written = 0;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      // No Content-Length: Node sends the body chunked, so only counting while reading can stop it.
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/v1/batches" });
      let answered = false;
      req.on("response", (res) => {
        answered = true;
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on("error", (err) => (answered ? undefined : reject(err)));
      const piece = Buffer.alloc(CHUNK, 0x61);
      const pump = () => {
        while (!answered && written < HUGE) {
          written += CHUNK;
          if (!req.write(piece)) return void req.once("drain", pump);
        }
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe("payload_too_large");
    // Socket buffers and the server's bounded discard of the rest account for the slack.
    expect(written).toBeLessThan(64 * 1024 * 1024);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("a lying Content-Length is no way around the cap", async () => {
    const probe = setup();
    const { stream, state } = lazyBody(HUGE, CHUNK);
    const res = await post(probe.app, "/v1/batches", stream, { "content-length": "10" });
    expect(res.status).toBe(413);
    expect(state.pulled).toBeLessThanOrEqual(MAX_BODY_BYTES + CHUNK);
  });

  it("holds at most MAX_BUFFERED_BYTES of unauthenticated bodies: the next reader gets 429 busy", async () => {
    const probe = setup();
    const readers = MAX_BUFFERED_BYTES / MAX_BODY_BYTES;
    // Bodies that send one chunk and then stall, as a slow sender's would.
    const stalls = Array.from({ length: readers }, () => {
      let pulls = 0;
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (pulls++ === 0) return controller.enqueue(new Uint8Array(1));
          await finished;
          controller.close();
        },
      });
      return { stream, finish, pulls: () => pulls };
    });
    const pending = stalls.map((s) => post(probe.app, "/v1/batches", s.stream));
    await expect.poll(() => stalls.every((s) => s.pulls() >= 2)).toBe(true);

    const refused = await post(probe.app, "/v1/batches", "{}");
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe("busy");

    for (const s of stalls) s.finish();
    for (const res of await Promise.all(pending)) expect(res.status).toBe(401); // read, then refused unsigned
    const again = await post(probe.app, "/v1/batches", "{}");
    expect(again.status).toBe(401);
  });
});

describe("signatures bound to method and route", () => {
  it("a body signed for the edge's results route is refused by /v1/verify", async () => {
    const probe = setup();
    const body = JSON.stringify({ email: "a@d.test" });
    const forResults = await sign(config.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body);
    const res = await post(probe.app, "/v1/verify", body, { [SIGNATURE_HEADER]: forResults });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("bad_signature");
    expect(probe.calls).toHaveLength(0);
  });

  it("the old unbound v1 form is refused, naming it outdated", async () => {
    const probe = setup();
    const body = JSON.stringify({ email: "a@d.test" });
    const v1 = await unboundV1Signature(config.PROBE_SECRET, body, Math.floor(Date.now() / 1000));
    const res = await post(probe.app, "/v1/verify", body, { [SIGNATURE_HEADER]: v1 });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("outdated");
  });

  it("a QStash delivery signed for another URL, or for another body, is refused", async () => {
    const probe = setup();
    const body = batchBody("bat_q", ["a@d.test"]);
    const otherRoute = await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: `${config.PUBLIC_URL}/v1/verify`, body });
    expect((await postBatch(probe.app, body, otherRoute)).status).toBe(401);
    const otherBody = await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: BATCHES_URL, body: batchBody("bat_q", ["b@d.test"]) });
    expect((await postBatch(probe.app, body, otherBody)).status).toBe(401);
    expect(probe.calls).toHaveLength(0);
  });
});

describe("callback_url", () => {
  it("refuses a batch whose callback is not this probe's edge, before any SMTP work", async () => {
    const probe = setup();
    for (const callback_url of ["https://attacker.example/internal/probes/results", `${config.EDGE_URL}:8443/internal/probes/results`, `${config.EDGE_URL}/api/v1/jobs`]) {
      const res = await postBatch(probe.app, batchBody("bat_cb", ["a@d.test"], { callback_url }));
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("callback_not_allowed");
    }
    expect(probe.calls).toHaveLength(0);
    expect(probe.chunks).toHaveLength(0);
  });
});

describe("a bad address alone", () => {
  it("answers a long or broken address with its own result and verifies the rest of the batch", async () => {
    const probe = setup();
    const softHyphens = `x@a${"\u00ad".repeat(600)}b.com`; // long raw, "x@ab.com" once normalized
    const junk = "y".repeat(5_000);
    const good = Array.from({ length: 998 }, (_, i) => `u${i}@d.test`);
    const res = await postBatch(probe.app, batchBody("bat_bad", [softHyphens, ...good, junk]));
    expect(res.status).toBe(200);
    const results = probe.chunks.flatMap((c) => c.chunk.results);
    expect(results).toHaveLength(1_000);
    expect(results.find((r) => r.email === softHyphens)).toMatchObject({ normalized: "x@ab.com", verdict: "deliverable" });
    expect(results.find((r) => r.email === junk)).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax" });
    expect(results.filter((r) => r.verdict === "deliverable")).toHaveLength(999);
  });

  it("answers a long single check with a verdict, not an error", async () => {
    const probe = setup();
    const body = JSON.stringify({ email: "z".repeat(600) });
    const res = await post(probe.app, "/v1/verify", body, { [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, { method: "POST", path: "/v1/verify" }, body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax" });
  });
});
