// The probe's HTTP surface under attack (issues 10 and 21): who is asking is settled from the
// headers before a body is read or room is set aside for it, a signed body has a deadline,
// connections that never sign are capped per source, oversized bodies are cut off while they
// stream, signatures are bound to their route and used once, results go only to the configured
// edge, and one bad address never sinks its batch.
import { request, Agent, type ClientRequest, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { serve } from "@hono/node-server";
import { describe, expect, it } from "vitest";
import { signQstash } from "../core/qstash.ts";
import { sign, SIGNATURE_HEADER } from "../core/signing.ts";
import { lazyBody, unboundV1Signature } from "../core/testing.ts";
import { MAX_UNAUTHENTICATED_PER_SOURCE, type ConnectionGuard } from "./connections.ts";
import { createMetrics } from "./metrics.ts";
import { createProbeServer, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from "./serve.ts";
import { BODY_READ_DEADLINE_MS, createProbeApp, MAX_BODY_BYTES, MAX_BUFFERED_BYTES, MAX_VERIFY_BODY_BYTES, type ProbeAppDeps } from "./server.ts";
import { BATCHES_URL, batchBody, config, errorCode, fakeEngine, memoryOutbox, postBatch, setup } from "./testing.ts";

const CHUNK = 64 * 1024;
const HUGE = 200 * 1024 * 1024;
/** A single check signed for the test probe (probe/testing.ts setup: prb_test). */
const VERIFY = { method: "POST", path: "/v1/verify", audience: "prb_test" };

type App = ReturnType<typeof setup>["app"];

function post(app: App, path: string, body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) {
  return app.request(path, { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

/** The probe app with extra dependencies (a deadline, a clock, a connection guard). */
function setupWith(extra: Partial<ProbeAppDeps>) {
  const { engine, calls } = fakeEngine();
  const memory = memoryOutbox();
  const probe = createProbeApp({ engine, config, outbox: memory.outbox, metrics: createMetrics(), probeId: "prb_test", ...extra });
  return { ...probe, calls, chunks: memory.chunks };
}

/** A body that sends one byte and then nothing until finished, as a slow sender's would. */
function stallingBody() {
  const state = { pulls: 0, cancelled: false };
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (state.pulls++ === 0) return controller.enqueue(new Uint8Array(1));
        await finished;
        controller.close();
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state, finish };
}

const qstashHeaders = async (body: string) => ({ "upstash-signature": await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: BATCHES_URL, body }) });
const hmacHeaders = async (body: string, nowS?: number) => ({ [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, VERIFY, body, nowS) });

describe("oversized bodies (signed headers, so the body is read)", () => {
  const routes = [
    { path: "/v1/batches", limit: MAX_BODY_BYTES, signed: () => qstashHeaders("{}") },
    { path: "/v1/verify", limit: MAX_VERIFY_BODY_BYTES, signed: () => hmacHeaders("{}") },
  ];
  for (const route of routes) {
    it(`${route.path}: a 200 MB streamed body is cut off at the limit with 413`, async () => {
      const probe = setup();
      const { stream, state } = lazyBody(HUGE, CHUNK);
      const res = await post(probe.app, route.path, stream, await route.signed());
      expect(res.status).toBe(413);
      expect(await errorCode(res)).toBe("payload_too_large");
      // At most the limit and the one chunk that crossed it were read; the rest was never asked for.
      expect(state.pulled).toBeLessThanOrEqual(route.limit + CHUNK);
      expect(state.cancelled).toBe(true);
      expect(probe.calls).toHaveLength(0);
    });
  }

  it("a chunked 200 MB body over a real socket gets 413 long before the client could send it all", async () => {
    const probe = setup();
    const server = serve({ fetch: probe.app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    await new Promise<void>((resolve) => server.once("listening", resolve));
    const { port } = server.address() as AddressInfo;
    const signed = await qstashHeaders("{}");
    let written = 0;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      // No Content-Length: Node sends the body chunked, so only counting while reading can stop it.
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/v1/batches", headers: signed });
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
    const res = await post(probe.app, "/v1/batches", stream, { "content-length": "10", ...(await qstashHeaders("{}")) });
    expect(res.status).toBe(413);
    expect(state.pulled).toBeLessThanOrEqual(MAX_BODY_BYTES + CHUNK);
  });

  it("holds at most MAX_BUFFERED_BYTES of signed bodies being read: the next reader gets 429 busy", async () => {
    const probe = setup();
    const readers = MAX_BUFFERED_BYTES / MAX_BODY_BYTES;
    const stalls = Array.from({ length: readers }, () => stallingBody());
    const signed = await qstashHeaders("{}");
    const pending = stalls.map((s) => post(probe.app, "/v1/batches", s.stream, signed));
    await expect.poll(() => stalls.every((s) => s.state.pulls >= 2)).toBe(true);

    const refused = await post(probe.app, "/v1/batches", "{}", signed);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe("busy");

    for (const s of stalls) s.finish();
    // Read, then refused: the body is not the one the JWT names.
    for (const res of await Promise.all(pending)) expect(res.status).toBe(401);
    const body = batchBody("bat_after", ["a@d.test"]);
    expect((await postBatch(probe.app, body)).status).toBe(200);
  });
});

describe("defence 1: the signature's headers are checked before any body is read or budgeted", () => {
  it("32 unsigned or badly signed slow batches, and slow single checks, are refused unread and hold nothing: a signed batch and a single check still go through", async () => {
    const probe = setup();
    const nowS = Math.floor(Date.now() / 1000);
    const forgedJwt = await signQstash({ signingKey: "not-our-key", url: BATCHES_URL, body: "{}" });
    const expiredJwt = await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: BATCHES_URL, body: "{}", nowS: nowS - 3_600, ttlS: 60 });
    const forgedMac = (await sign(config.PROBE_SECRET, VERIFY, "{}")).replace(/v3=[0-9a-f]+/, `v3=${"0".repeat(64)}`);
    const batches = [{} as Record<string, string>, { "upstash-signature": forgedJwt }, { "upstash-signature": expiredJwt }].map((headers) => ({ path: "/v1/batches", headers, announced: MAX_BODY_BYTES }));
    const checks = [
      { path: "/v1/verify", headers: {} as Record<string, string> },
      { path: "/v1/verify", headers: { [SIGNATURE_HEADER]: forgedMac } },
      { path: "/v1/verify", headers: { [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, VERIFY, "{}", nowS - 301) } },
      { path: "/v1/find", headers: { [SIGNATURE_HEADER]: await unboundV1Signature(config.PROBE_SECRET, "{}", nowS) } },
    ].map((a) => ({ ...a, announced: MAX_VERIFY_BODY_BYTES }));
    const attacks = [...Array.from({ length: 32 }, (_, i) => batches[i % batches.length]!), ...checks, ...checks];
    const stalls = attacks.map((attack) => ({ ...stallingBody(), attack }));
    const pending = stalls.map((s) => post(probe.app, s.attack.path, s.stream, { "content-length": String(s.attack.announced), ...s.attack.headers }));
    // Before the fix each of these was being read (pulled); now each is refused unread (cancelled).
    await expect.poll(() => stalls.every((s) => s.state.pulls > 0 || s.state.cancelled)).toBe(true);

    expect((await postBatch(probe.app, batchBody("bat_through", ["a@d.test"]))).status).toBe(200);
    const check = JSON.stringify({ email: "a@d.test" });
    const answered = await post(probe.app, "/v1/verify", check, await hmacHeaders(check));
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ email: "a@d.test", verdict: "deliverable" });

    for (const s of stalls) s.finish();
    const answers = await Promise.all(pending);
    for (const res of answers) expect([res.status, await errorCode(res)]).toEqual([401, "bad_signature"]);
    expect(stalls.map((s) => s.state.pulls)).toEqual(stalls.map(() => 0));
  });
});

describe("defence 2: a signed body has a read deadline", () => {
  it("a signed body that trickles past its deadline gets 408 body_timeout and its stream is cancelled", async () => {
    const deadlines: AbortController[] = [];
    const probe = setupWith({
      bodyDeadline: () => {
        const d = new AbortController();
        deadlines.push(d);
        return d.signal;
      },
    });
    const slow = stallingBody();
    const answer = Promise.resolve(post(probe.app, "/v1/verify", slow.stream, await hmacHeaders(JSON.stringify({ email: "a@d.test" }))));
    let settled = false;
    void answer.finally(() => (settled = true));
    await expect.poll(() => slow.state.pulls >= 2).toBe(true);
    for (const d of deadlines) d.abort();
    // Without a deadline the read never ends; with one it ends as soon as the deadline fires.
    await expect.poll(() => settled, { timeout: 2_000 }).toBe(true);
    const res = await answer;
    expect([res.status, await errorCode(res)]).toEqual([408, "body_timeout"]);
    expect(slow.state.cancelled).toBe(true);
    expect(probe.calls).toHaveLength(0);
  });

  it("Node's own limits on receiving a request are seconds, not minutes, and leave the app's deadline room to answer", async () => {
    const { server } = createProbeServer((connections) => setupWith({ connections }));
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(HEADERS_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
    expect(REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(30_000);
    expect(REQUEST_TIMEOUT_MS).toBeGreaterThan(BODY_READ_DEADLINE_MS);
  });
});

/** Resolves once the socket is closed (by the server), or says it is still open after the poll. */
function whenClosed(socket: Socket): () => boolean {
  let closed = false;
  socket.once("close", () => (closed = true));
  socket.on("error", () => {});
  return () => closed;
}

function signedVerifyOver(agent: Agent, port: number, body: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; req: ClientRequest; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/v1/verify", agent, headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers } });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ res, req, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("defence 3: connections that never sign are capped per source address", () => {
  it(`keeps at most ${MAX_UNAUTHENTICATED_PER_SOURCE} silent connections from one address, closing the oldest; a caller that signs gets through and stays`, async () => {
    let guard!: ConnectionGuard;
    const { server, probe } = createProbeServer((connections) => {
      guard = connections;
      return setupWith({ connections });
    });
    const connected: Socket[] = [];
    server.on("connection", (s: Socket) => connected.push(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // 20 strangers that connect and never send a byte (a slowloris before its headers).
      const strangers = Array.from({ length: 20 }, () => connect(port, "127.0.0.1"));
      const closed = strangers.map(whenClosed);
      await expect.poll(() => connected.length).toBe(20);
      await expect.poll(() => closed.filter((c) => c()).length).toBe(20 - MAX_UNAUTHENTICATED_PER_SOURCE);
      expect(closed.slice(0, 20 - MAX_UNAUTHENTICATED_PER_SOURCE).every((c) => c())).toBe(true); // the oldest went
      expect(guard.unauthenticated("127.0.0.1")).toBe(MAX_UNAUTHENTICATED_PER_SOURCE);

      // The edge, from the same address: its connection is new, so it is not the one closed.
      const body = JSON.stringify({ email: "a@d.test" });
      const first = await signedVerifyOver(agent, port, body, await hmacHeaders(body));
      expect(first.res.statusCode).toBe(200);
      expect(guard.unauthenticated("127.0.0.1")).toBe(MAX_UNAUTHENTICATED_PER_SOURCE - 1);

      // More strangers push out the old ones, never the connection that signed.
      const more = Array.from({ length: 10 }, () => connect(port, "127.0.0.1"));
      const moreClosed = more.map(whenClosed);
      await expect.poll(() => connected.length).toBe(31);
      await expect.poll(() => guard.unauthenticated("127.0.0.1")).toBe(MAX_UNAUTHENTICATED_PER_SOURCE);
      const second = await signedVerifyOver(agent, port, body, await hmacHeaders(body));
      expect(second.res.statusCode).toBe(200);
      expect(second.req.reusedSocket).toBe(true);
      await expect.poll(() => moreClosed.filter((c) => c()).length + closed.filter((c) => c()).length).toBe(30 - MAX_UNAUTHENTICATED_PER_SOURCE);
      for (const s of [...strangers, ...more]) s.destroy();
      expect(probe.inFlight()).toBe(0);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("replays of a signed single check", () => {
  it("a captured request is refused as replayed within its window, unread; a fresh signature passes; past the window it is expired", async () => {
    let nowMs = 1_700_000_000_000;
    const probe = setupWith({ now: () => nowMs });
    const body = JSON.stringify({ email: "a@d.test" });
    const captured = await hmacHeaders(body, Math.floor(nowMs / 1000));
    expect((await post(probe.app, "/v1/verify", body, captured)).status).toBe(200);

    nowMs += 299_000;
    const { stream, state } = lazyBody(body.length, body.length);
    const replay = await post(probe.app, "/v1/verify", stream, captured);
    expect([replay.status, await errorCode(replay)]).toEqual([401, "replayed"]);
    expect(state.pulled).toBe(0);
    expect(probe.calls).toHaveLength(1);

    const fresh = await post(probe.app, "/v1/verify", body, await hmacHeaders(body, Math.floor(nowMs / 1000)));
    expect(fresh.status).toBe(200);
    expect(probe.calls).toHaveLength(2);

    nowMs += 2_000;
    const late = await post(probe.app, "/v1/verify", body, captured);
    expect(late.status).toBe(401);
    expect(((await late.json()) as { error: { message: string } }).error.message).toContain("expired");
    expect(probe.calls).toHaveLength(2);
  });

  it("a check signed for another probe of the fleet (or for none) is refused unread: a capture cannot go round the fleet", async () => {
    const probe = setup();
    const body = JSON.stringify({ email: "a@d.test" });
    for (const route of [{ ...VERIFY, audience: "prb_other" }, { method: "POST", path: "/v1/verify" }]) {
      const { stream, state } = lazyBody(body.length, body.length);
      const res = await post(probe.app, "/v1/verify", stream, { [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, route, body) });
      expect([res.status, await errorCode(res)]).toEqual([401, "bad_signature"]);
      expect(state.pulled).toBe(0);
    }
    expect(probe.calls).toHaveLength(0);
    expect((await post(probe.app, "/v1/verify", body, await hmacHeaders(body))).status).toBe(200);
  });

  it("the same request signed twice (a retry) is two fresh signatures", async () => {
    const probe = setup();
    const body = JSON.stringify({ email: "a@d.test" });
    expect((await post(probe.app, "/v1/verify", body, await hmacHeaders(body))).status).toBe(200);
    expect((await post(probe.app, "/v1/verify", body, await hmacHeaders(body))).status).toBe(200);
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
    const res = await post(probe.app, "/v1/verify", body, { [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, VERIFY, body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax" });
  });
});
