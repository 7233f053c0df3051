import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FindAnswerSchema, MessageAnswerSchema, RelayTestAnswerSchema, ResultChunkSchema, SenderCheckAnswerSchema, type RelayWire, type ResultChunk, type SendBatch } from "../core/contracts.ts";
import { signQstash } from "../core/qstash.ts";
import { sign, SIGNATURE_HEADER, verifySignature } from "../core/signing.ts";
import { RELAY_SINK_CA_FILE, startRelaySink, type RelaySink } from "../e2e/relay-sink.ts";
import { startDns } from "../e2e/world/dns.ts";
import { buildScenario } from "../e2e/world/scenario.ts";
import { engineOptionsFrom, loadConfig } from "./config.ts";
import { createResolver } from "./dns.ts";
import { createMetrics } from "./metrics.ts";
import { createOutbox, type Outbox } from "./outbox.ts";
import { createRelayBudget } from "./sending/relaybudget.ts";
import { createSending, type Sending } from "./sending/sending.ts";
import { sinkRelay, startClaimEdge } from "./sending/testing.ts";
import { CHUNK_INTERVAL_MS, CHUNK_SIZE, MAX_BODY_BYTES } from "./server.ts";
import { SLOW_SERVER_AFTER_MS } from "./waiting.ts";
import { BATCHES_URL, batchBody, config, errorCode, fakeResult, postBatch, setup } from "./testing.ts";

describe("POST /v1/batches", () => {
  it("verifies the batch and pushes its results in chunks, the last one final", async () => {
    const probe = setup();
    const emails = Array.from({ length: CHUNK_SIZE + 5 }, (_, i) => (i % 2 ? `nobody@d${i}.test` : `u${i}@d.test`));
    const res = await postBatch(probe.app, batchBody("bat_1", emails, { budget_ms: 60_000 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ batch_id: "bat_1", results: emails.length });
    expect(probe.calls[0]!.call.budgetMs).toBe(60_000);

    const chunks = probe.chunks.map((c) => ResultChunkSchema.parse(c.chunk));
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(chunks.at(-1)!.final).toBe(true);
    expect(chunks.slice(0, -1).every((c) => !c.final)).toBe(true);
    const results = chunks.flatMap((c) => c.results);
    expect(results.map((r) => r.email)).toEqual(emails);
    expect(results.find((r) => r.email.startsWith("nobody@"))!.verdict).toBe("undeliverable");
    expect(chunks.every((c) => c.batch_id === "bat_1" && c.job_id === "job_1" && c.probe_id === "prb_test")).toBe(true);
  });

  it("posts what the unanswered addresses wait on when it changes, results or not, and a final chunk with nothing waiting", async () => {
    // Only the chunk ticker is faked: the request, the outbox and the engine run as they do.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      let release!: () => void;
      const probe = setup({ gate: new Promise<void>((r) => (release = r)) });
      const answered = postBatch(probe.app, batchBody("bat_w", ["a@d.test", "b@d.test", "c@d.test"]));
      await expect.poll(() => probe.calls.length).toBe(1);
      const board = probe.calls[0]!.call.waiting!;
      const [a, b, c] = [{}, {}, {}];
      const long = Date.now() - 10 * SLOW_SERVER_AFTER_MS; // asked long ago, whatever the clock says now
      for (const x of [a, b, c]) board.start(x, long);
      board.greylisted(a, Date.parse("2030-01-01T00:00:12Z"));
      board.greylisted(b, Date.parse("2030-01-01T00:00:30Z"));
      vi.advanceTimersByTime(CHUNK_INTERVAL_MS);
      vi.advanceTimersByTime(CHUNK_INTERVAL_MS); // nothing changed: no chunk
      board.done(c);
      vi.advanceTimersByTime(CHUNK_INTERVAL_MS);
      release();
      expect((await answered).status).toBe(200);
      const chunks = probe.chunks.map((x) => ResultChunkSchema.parse(x.chunk));
      expect(chunks.map((x) => [x.results.length, x.final, x.waiting])).toEqual([
        [0, false, { greylisted: { count: 2, next_try_at: "2030-01-01T00:00:12.000Z" }, slow_server: { count: 1 } }],
        [0, false, { greylisted: { count: 2, next_try_at: "2030-01-01T00:00:12.000Z" } }],
        [3, true, {}],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("finds a batch's people and posts one answer per person under its key", async () => {
    const probe = setup();
    const cand = (email: string, pattern: string) => ({ email, pattern, confidence: 40 });
    const people = [
      { key: "ada|lovelace|d.test", candidates: [cand("nobody@d.test", "first.last"), cand("ada@d.test", "first")] },
      { key: "bob|nobody|d.test", candidates: [cand("nobody@d.test", "first")] },
    ];
    const res = await postBatch(probe.app, batchBody("bat_f", [], { people }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ batch_id: "bat_f", results: 2 });
    expect(probe.calls).toHaveLength(0);
    expect(probe.findCalls[0]!.people).toEqual(people.map((p) => p.candidates));
    const chunks = probe.chunks.map((c) => ResultChunkSchema.parse(c.chunk));
    expect(chunks.at(-1)!.final).toBe(true);
    const finds = chunks.flatMap((c) => c.finds ?? []);
    expect(finds.map((f) => [f.key, f.email, f.pattern])).toEqual([
      ["ada|lovelace|d.test", "ada@d.test", "first"],
      ["bob|nobody|d.test", null, null],
    ]);
    expect(chunks.flatMap((c) => c.results)).toEqual([]);
  });

  it("makes a person's candidates from the name, the domain's known pattern first", async () => {
    const probe = setup();
    const person = { first: "Ada", middle: "", last: "Lovelace", domain: "acme.test" };
    const people = [{ key: "ada||lovelace|acme.test", person }, { key: "grace||hopper|new.test", person: { ...person, first: "Grace", last: "Hopper", domain: "new.test" } }];
    const res = await postBatch(probe.app, batchBody("bat_p", [], { people, known: { "acme.test": [{ pattern: "flast", count: 4 }], "new.test": [] } }));
    expect(res.status).toBe(200);
    const [ada, grace] = probe.findCalls[0]!.people;
    expect(ada!.slice(0, 2).map((c) => c.email)).toEqual(["alovelace@acme.test", "ada.lovelace@acme.test"]);
    expect(ada![0]!.confidence).toBeGreaterThan(50);
    expect(grace![0]).toEqual({ email: "grace.hopper@new.test", pattern: "first.last", confidence: 50 });
    expect(probe.chunks.flatMap((c) => c.chunk.finds ?? []).map((f) => f.key)).toEqual(people.map((p) => p.key));
  });

  it("accepts a delivery signed with the next key, and a callback_url that is its own edge's", async () => {
    const probe = setup();
    const body = batchBody("bat_2", ["a@d.test"], { callback_url: `${config.EDGE_URL}/internal/probes/results` });
    const sig = await signQstash({ signingKey: config.QSTASH_NEXT_SIGNING_KEY, url: BATCHES_URL, body });
    expect((await postBatch(probe.app, body, sig)).status).toBe(200);
    expect(probe.chunks).toHaveLength(1);
  });

  it("answers 401 bad_signature for a missing, foreign or mismatched signature", async () => {
    const probe = setup();
    const body = batchBody("bat_3", ["a@d.test"]);
    const noSig = await probe.app.request("/v1/batches", { method: "POST", body });
    expect(noSig.status).toBe(401);
    expect(await errorCode(noSig)).toBe("bad_signature");
    const foreign = await signQstash({ signingKey: "someone-else", url: BATCHES_URL, body });
    expect((await postBatch(probe.app, body, foreign)).status).toBe(401);
    const otherUrl = await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: "https://x.test/v1/batches", body });
    expect((await postBatch(probe.app, body, otherUrl)).status).toBe(401);
    expect(probe.calls).toHaveLength(0);
  });

  it("answers 413 payload_too_large for a body over 2 MB", async () => {
    const probe = setup();
    const res = await postBatch(probe.app, "x".repeat(MAX_BODY_BYTES + 1));
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("payload_too_large");
  });

  it("answers 400 invalid_batch for bad JSON and for a body outside the schema", async () => {
    const probe = setup();
    const badJson = await postBatch(probe.app, "{not json");
    expect(badJson.status).toBe(400);
    expect(await errorCode(badJson)).toBe("invalid_batch");
    const empty = await postBatch(probe.app, batchBody("bat_4", []));
    expect(empty.status).toBe(400);
    expect(await errorCode(empty)).toBe("invalid_batch");
  });

  it("answers 409 for a batch already running and 429 when at capacity", async () => {
    let open!: () => void;
    const probe = setup({ gate: new Promise<void>((resolve) => (open = resolve)) });
    const first = postBatch(probe.app, batchBody("bat_a", ["a@d.test"]));
    const second = postBatch(probe.app, batchBody("bat_b", ["b@d.test"]));
    await expect.poll(() => probe.inFlight()).toBe(2);

    const again = await postBatch(probe.app, batchBody("bat_a", ["a@d.test"]));
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe("already_running");
    const busy = await postBatch(probe.app, batchBody("bat_c", ["c@d.test"]));
    expect(busy.status).toBe(429);
    expect(busy.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await errorCode(busy)).toBe("busy");
    // A newcomer's batch takes the one reserve slot beyond capacity; a second does not.
    const reserve = postBatch(probe.app, batchBody("bat_r", ["r@d.test"], { reserve: true }));
    await expect.poll(() => probe.inFlight()).toBe(3);
    const beyond = await postBatch(probe.app, batchBody("bat_s", ["s@d.test"], { reserve: true }));
    expect(await errorCode(beyond)).toBe("busy");

    open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await reserve).status).toBe(200);
    expect(probe.inFlight()).toBe(0);
  });
});

describe("drain", () => {
  it("refuses new batches with 503 while the one in flight completes and its results are posted", async () => {
    const received: ResultChunk[] = [];
    const signatures: boolean[] = [];
    const edge = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        signatures.push((await verifySignature([config.PROBE_SECRET], req.headers[SIGNATURE_HEADER] as string, { method: "POST", path: "/internal/probes/results" }, body)).ok);
        received.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => edge.listen(0, "127.0.0.1", resolve));
    const dir = await mkdtemp(join(tmpdir(), "mxray-server-"));
    const outbox = createOutbox({
      dir,
      edgeUrl: `http://127.0.0.1:${(edge.address() as AddressInfo).port}`,
      secret: config.PROBE_SECRET,
      baseDelayMs: 5,
    });
    await outbox.start();

    let open!: () => void;
    const probe = setup({ gate: new Promise<void>((resolve) => (open = resolve)), outbox });
    const inFlight = postBatch(probe.app, batchBody("bat_d", ["a@d.test", "nobody@d.test"]));
    await expect.poll(() => probe.inFlight()).toBe(1);

    const drained = probe.drain();
    const refused = await postBatch(probe.app, batchBody("bat_e", ["b@d.test"]));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await errorCode(refused)).toBe("draining");
    expect((await probe.app.request("/healthz")).status).toBe(503);

    open();
    await drained;
    expect((await inFlight).status).toBe(200);
    await outbox.flush();
    expect(received.flatMap((c) => c.results.map((r) => r.email))).toEqual(["a@d.test", "nobody@d.test"]);
    expect(received.at(-1)!.final).toBe(true);
    expect(signatures.every(Boolean)).toBe(true);

    outbox.close();
    await new Promise<void>((resolve) => {
      edge.close(() => resolve());
      edge.closeAllConnections();
    });
    await rm(dir, { recursive: true, force: true });
  });
});

describe("POST /v1/verify", () => {
  async function postVerify(app: ReturnType<typeof setup>["app"], body: string, secret = config.PROBE_SECRET) {
    return app.request("/v1/verify", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(secret, { method: "POST", path: "/v1/verify", audience: "prb_test" }, body) } });
  }

  it("answers the result, passing the budget to the engine", async () => {
    const probe = setup();
    const res = await postVerify(probe.app, JSON.stringify({ email: "nobody@d.test", budget_ms: 5_000 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: "nobody@d.test", verdict: "undeliverable", reason: "mailbox_not_found" });
    expect(probe.calls[0]!.call.budgetMs).toBe(5_000);
  });

  it("defaults the budget to 15 s", async () => {
    const probe = setup();
    await postVerify(probe.app, JSON.stringify({ email: "a@d.test" }));
    expect(probe.calls[0]!.call.budgetMs).toBe(15_000);
  });

  it("answers 401 for a wrong HMAC and 400 invalid_request for a bad body", async () => {
    const probe = setup();
    const wrong = await postVerify(probe.app, JSON.stringify({ email: "a@d.test" }), "not-the-secret-at-all");
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe("bad_signature");
    const bad = await postVerify(probe.app, JSON.stringify({ mail: "a@d.test" }));
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("invalid_request");
    expect(probe.calls).toHaveLength(0);
  });
});

describe("POST /v1/find", () => {
  async function postFind(app: ReturnType<typeof setup>["app"], body: string, path = "/v1/find") {
    return app.request("/v1/find", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(config.PROBE_SECRET, { method: "POST", path, audience: "prb_test" }, body) } });
  }
  const candidates = [
    { email: "nobody@d.test", pattern: "first.last", confidence: 40 },
    { email: "ada@d.test", pattern: "first", confidence: 10 },
  ];

  it("answers the person's answer, passing the budget to the engine as an urgent call", async () => {
    const probe = setup();
    const res = await postFind(probe.app, JSON.stringify({ candidates, budget_ms: 5_000 }));
    expect(res.status).toBe(200);
    expect(FindAnswerSchema.parse(await res.json())).toMatchObject({ email: "ada@d.test", verdict: "deliverable", pattern: "first" });
    expect(probe.findCalls[0]!.call).toMatchObject({ budgetMs: 5_000, urgent: true });
  });

  it("refuses a body signed for /v1/verify, and candidates outside the schema", async () => {
    const probe = setup();
    const replayed = await postFind(probe.app, JSON.stringify({ candidates }), "/v1/verify");
    expect(replayed.status).toBe(401);
    const none = await postFind(probe.app, JSON.stringify({ candidates: [] }));
    expect(none.status).toBe(400);
    expect(await errorCode(none)).toBe("invalid_request");
    expect(probe.findCalls).toHaveLength(0);
  });
});

describe("GET /healthz, /metrics, unknown routes", () => {
  it("reports health, Prometheus text and a not_found envelope", async () => {
    const probe = setup();
    expect(await (await probe.app.request("/healthz")).json()).toEqual({
      ok: true,
      probe_id: "prb_test",
      in_flight: 0,
      draining: false,
    });
    const metrics = await probe.app.request("/metrics");
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain("mxray_batches_in_flight");
    expect(text).toContain("mxray_outbox_dead_letters");
    const missing = await probe.app.request("/nope");
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");
  });
});

describe("createMetrics observer", () => {
  it("counts checks by verdict and reason, RCPT classes, connections and DNS latency", async () => {
    const metrics = createMetrics();
    metrics.observer.resultReady?.(fakeResult("nobody@d.test"));
    metrics.observer.rcptSent?.("mx.test", "greylisted");
    metrics.observer.connectionOpened?.("mx.test");
    metrics.observer.connectionOpened?.("mx.test");
    metrics.observer.connectionClosed?.("mx.test");
    metrics.observer.dnsLookup?.(12, "ok");
    const text = await metrics.registry.metrics();
    expect(text).toContain('mxray_checks_total{verdict="undeliverable",reason="mailbox_not_found"} 1');
    expect(text).toContain('mxray_rcpt_replies_total{class="greylisted"} 1');
    expect(text).toContain("mxray_smtp_connections_opened_total 2");
    expect(text).toContain("mxray_smtp_connections_open 1");
    expect(text).toContain('mxray_dns_lookup_seconds_count{outcome="ok"} 1');
  });
});

describe("loadConfig", () => {
  const env = {
    PUBLIC_URL: "https://probe.example.test/",
    PROBE_ID: "prb_1",
    PROBE_SECRET: config.PROBE_SECRET,
    QSTASH_CURRENT_SIGNING_KEY: "a",
    QSTASH_NEXT_SIGNING_KEY: "b",
    EDGE_URL: "https://edge.example.test",
    MXRAY_HELO: "probe.example.test",
  };

  it("applies defaults and maps engine options", () => {
    const loaded = loadConfig({ ...env, MXRAY_DNS: "127.0.0.1:5353, 1.1.1.1", MXRAY_PER_HOST: "3", PORT: "" });
    if (!loaded.ok) throw new Error(loaded.error);
    expect(loaded.value).toMatchObject({ PORT: 8025, HOST: "0.0.0.0", PUBLIC_URL: "https://probe.example.test" });
    expect(engineOptionsFrom(loaded.value)).toEqual({
      from: "",
      helo: "probe.example.test",
      dnsServers: ["127.0.0.1:5353", "1.1.1.1"],
      port: 25,
      perHostConnections: 3,
      allowPrivateTargets: false,
    });
  });

  it("allows private SMTP targets only with MXRAY_ALLOW_PRIVATE_TARGETS=1 (issue 10)", () => {
    const allowed = loadConfig({ ...env, MXRAY_ALLOW_PRIVATE_TARGETS: "1" });
    expect(allowed.ok && engineOptionsFrom(allowed.value).allowPrivateTargets).toBe(true);
    const off = loadConfig({ ...env, MXRAY_ALLOW_PRIVATE_TARGETS: "0" });
    expect(off.ok && engineOptionsFrom(off.value).allowPrivateTargets).toBe(false);
    const typo = loadConfig({ ...env, MXRAY_ALLOW_PRIVATE_TARGETS: "true" });
    expect(typo.ok).toBe(false);
    if (!typo.ok) expect(typo.error).toContain("MXRAY_ALLOW_PRIVATE_TARGETS");
  });

  it("takes the fleet's Redis for shared MX state only with its token", () => {
    const half = loadConfig({ ...env, MXRAY_FLEET_REDIS_REST_URL: "http://127.0.0.1:8079" });
    expect(half.ok).toBe(false);
    if (!half.ok) expect(half.error).toContain("MXRAY_FLEET_REDIS_REST_TOKEN: required");
    const whole = loadConfig({ ...env, MXRAY_FLEET_REDIS_REST_URL: "http://127.0.0.1:8079", MXRAY_FLEET_REDIS_REST_TOKEN: "t" });
    expect(whole.ok && [whole.value.MXRAY_FLEET_REDIS_REST_URL, whole.value.MXRAY_FLEET_REDIS_REST_TOKEN]).toEqual(["http://127.0.0.1:8079", "t"]);
  });

  it("refuses to start holding the edge's Redis (issue 21), even beside the fleet's", () => {
    for (const edgeRedis of [
      { UPSTASH_REDIS_REST_URL: "https://edge-db.upstash.io", UPSTASH_REDIS_REST_TOKEN: "edge-token" },
      { UPSTASH_REDIS_REST_TOKEN: "edge-token", MXRAY_FLEET_REDIS_REST_URL: "http://127.0.0.1:8079", MXRAY_FLEET_REDIS_REST_TOKEN: "t" },
    ]) {
      const loaded = loadConfig({ ...env, ...edgeRedis });
      expect(loaded.ok).toBe(false);
      if (!loaded.ok) {
        expect(loaded.error).toContain("UPSTASH_REDIS_REST_TOKEN: the edge's Redis, which a probe must not hold");
        expect(loaded.error).toContain("MXRAY_FLEET_REDIS_REST_URL");
        expect(loaded.error).not.toContain("edge-token"); // the refusal never prints the secret
      }
    }
    // Empty values count as unset, so an old env file with the lines blanked still starts.
    expect(loadConfig({ ...env, UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "" }).ok).toBe(true);
  });

  it("fails naming the missing or malformed field", () => {
    const { PROBE_SECRET: _, ...withoutSecret } = env;
    const missing = loadConfig({ ...withoutSecret, MXRAY_SMTP_PORT: "99999" });
    expect(missing.ok).toBe(false);
    if (!missing.ok) {
      expect(missing.error).toContain("PROBE_SECRET");
      expect(missing.error).toContain("MXRAY_SMTP_PORT");
    }
  });
});

describe("sending routes", () => {
  const SENDS_URL = `${config.PUBLIC_URL}/v1/sends`;
  let sink: RelaySink;
  let edge: Awaited<ReturnType<typeof startClaimEdge>>;
  let dns: Awaited<ReturnType<typeof startDns>>;
  beforeAll(async () => {
    sink = await startRelaySink({ users: { sender: "relay-pw" } });
    edge = await startClaimEdge(config.PROBE_SECRET);
    dns = await startDns({ zone: buildScenario({ greylistDelayMs: 1_000 }).zone, servfail: new Set() }, 0);
  });
  afterAll(async () => {
    await Promise.all([sink?.stop(), edge?.close(), dns?.close()]);
  });

  const relay = (over: Partial<RelayWire> = {}, password = "relay-pw") => sinkRelay(sink, config.PROBE_SECRET, over.id ?? "rly_1", "sender", password, over);
  const sendingFor = (outbox: Outbox): Sending =>
    createSending({
      probeId: "prb_test",
      edgeUrl: edge.url,
      probeSecret: config.PROBE_SECRET,
      outbox,
      resolver: createResolver({ servers: [`127.0.0.1:${dns.port}`], attempts: 1 }),
      helo: "probe.example.test",
      allowPrivateTargets: true,
      extraCa: [readFileSync(RELAY_SINK_CA_FILE, "utf8")],
      budget: createRelayBudget(),
    });
  const withSending = () => setup({ sending: sendingFor });

  let batchNo = 0;
  async function sendBatchBody(over: Partial<SendBatch> = {}): Promise<SendBatch> {
    const n = ++batchNo;
    return {
      batch_id: `sbt_${n}`,
      campaign_id: "cmp_1",
      attempt: 1,
      sender: { from_email: "news@sender.test", from_name: "Acme", reply_to: null },
      bounce_domain: "bounce.sender.test",
      relays: [await relay()],
      template: { subject: "Hi {{ first_name }}", html: "<p>Hi {{ first_name }}</p>", text: null },
      unsubscribe_base: "https://edge.example.test/u/",
      recipients: [1, 2, 3].map((i) => ({ id: n * 100 + i, email: `r${i}.${n}@example.test`, token: `${(n * 100 + i).toString(36)}-0123456789abcdef0123`, vars: { first_name: `R${i}` } })),
      budget_ms: 60_000,
      ...over,
    };
  }
  async function postSends(app: ReturnType<typeof setup>["app"], body: string, url = SENDS_URL) {
    const sig = await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url, body });
    return app.request("/v1/sends", { method: "POST", body, headers: { "upstash-signature": sig } });
  }
  async function postSigned(app: ReturnType<typeof setup>["app"], path: string, body: unknown, secret = config.PROBE_SECRET) {
    const text = JSON.stringify(body);
    return app.request(path, { method: "POST", body: text, headers: { [SIGNATURE_HEADER]: await sign(secret, { method: "POST", path, audience: "prb_test" }, text) } });
  }

  it("POST /v1/sends runs a QStash-signed send batch, answers when done, and records outcomes through the outbox", async () => {
    const probe = withSending();
    const batch = await sendBatchBody({ callback_url: `${config.EDGE_URL}/internal/probes/sends/results` });
    const res = await postSends(probe.app, JSON.stringify(batch));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ batch_id: batch.batch_id, sent: 3, failed: 0, unknown_outcome: 0, stopped: null });
    expect(probe.sendChunks.at(-1)).toMatchObject({ kind: "send", batch_id: batch.batch_id, final: true });
    expect(probe.sendChunks.flatMap((c) => c.outcomes).map((o) => o.status)).toEqual(["sent", "sent", "sent"]);
    expect(sink.messages.filter((m) => m.rcptTo[0]!.endsWith(`.${batchNo}@example.test`))).toHaveLength(3);
    expect(probe.inFlight()).toBe(0);
  });

  it("POST /v1/sends refuses a signature for another URL, a foreign callback_url and a body outside the schema", async () => {
    const probe = withSending();
    const body = JSON.stringify(await sendBatchBody());
    const forBatches = await postSends(probe.app, body, `${config.PUBLIC_URL}/v1/batches`);
    expect(forBatches.status).toBe(401);
    expect(await errorCode(forBatches)).toBe("bad_signature");
    const elsewhere = await postSends(probe.app, JSON.stringify(await sendBatchBody({ callback_url: `${config.EDGE_URL}/internal/probes/results` })));
    expect(elsewhere.status).toBe(400);
    expect(await errorCode(elsewhere)).toBe("callback_not_allowed");
    const invalid = await postSends(probe.app, JSON.stringify({ ...(await sendBatchBody()), recipients: [] }));
    expect(await errorCode(invalid)).toBe("invalid_batch");
    expect(edge.claims.filter((c) => c.batch_id === `sbt_${batchNo}`)).toHaveLength(0);
  });

  it("POST /v1/sends takes an in-flight batch slot: busy at capacity, already_running for the same batch", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const started: string[] = [];
    const held: Sending = {
      runBatch: async (b) => {
        started.push(b.batch_id);
        await gate;
        return { batch_id: b.batch_id, sent: 0, failed: 0, unknown_outcome: 0, queued: 0, not_claimed: 0, not_reached: 0, stopped: null, pause: null };
      },
      testRelay: async () => ({ ok: true, stage: "done", detail: "", reply: null }),
      sendMessage: async () => ({ ok: true, relay_id: null, queue_id: null, detail: "", reply: null }),
      checkSender: async () => ({ items: [] }),
      budgetStats: () => ({ mode: "local", redisUp: true, redisErrors: 0, granted: 0, heldForRedis: 0 }),
    };
    const probe = setup({ gate, sending: () => held });
    const a = await sendBatchBody();
    const first = postSends(probe.app, JSON.stringify(a));
    const second = postBatch(probe.app, batchBody("bat_x", ["a@d.test"])); // a verification batch, held by the engine
    await expect.poll(() => probe.inFlight()).toBe(2);
    const again = await postSends(probe.app, JSON.stringify(a));
    expect(await errorCode(again)).toBe("already_running");
    const full = await postSends(probe.app, JSON.stringify(await sendBatchBody()));
    expect(full.status).toBe(429);
    expect(await errorCode(full)).toBe("busy");
    expect(started).toEqual([a.batch_id]);
    open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });

  it("POST /v1/relays/test says how far it got, and sends nothing", async () => {
    const probe = withSending();
    const before = sink.stats().messages;
    const ok = await postSigned(probe.app, "/v1/relays/test", { relay: await relay() });
    expect(RelayTestAnswerSchema.parse(await ok.json())).toMatchObject({ ok: true, stage: "done" });
    const auth = await postSigned(probe.app, "/v1/relays/test", { relay: await relay({}, "wrong") });
    expect(RelayTestAnswerSchema.parse(await auth.json())).toMatchObject({ ok: false, stage: "auth", reply: { code: 535 } });
    const closed = await postSigned(probe.app, "/v1/relays/test", { relay: await relay({ port: 9 }), budget_ms: 5_000 });
    expect(RelayTestAnswerSchema.parse(await closed.json())).toMatchObject({ ok: false, stage: "connect" });
    expect(sink.stats().messages).toBe(before);
    const unsigned = await postSigned(probe.app, "/v1/relays/test", { relay: await relay() }, "not-the-probe-secret");
    expect(unsigned.status).toBe(401);
  });

  it("POST /v1/messages sends one message through the pool, failing over past a relay that is down", async () => {
    const probe = withSending();
    const to = `confirm.${Date.now()}@sender.test`;
    const res = await postSigned(probe.app, "/v1/messages", {
      relays: [await relay({ id: "rly_down", port: 9 }), await relay({ id: "rly_up" })],
      from_email: "news@sender.test",
      from_name: "Acme",
      to,
      subject: "Confirm your sender",
      html: "<p>Confirm: https://edge.example.test/s/confirm</p>",
      text: "Confirm: https://edge.example.test/s/confirm",
    });
    const answer = MessageAnswerSchema.parse(await res.json());
    const got = sink.messages.filter((m) => m.rcptTo[0] === to);
    expect(got).toHaveLength(1);
    expect(answer).toMatchObject({ ok: true, relay_id: "rly_up", queue_id: got[0]!.queueId, reply: { code: 250 } });
    const bad = await postSigned(probe.app, "/v1/messages", { relays: [], to });
    expect(await errorCode(bad)).toBe("invalid_request");
  });

  it("POST /v1/dns/sender-check answers the checklist from the probe's resolver", async () => {
    const probe = withSending();
    const res = await postSigned(probe.app, "/v1/dns/sender-check", { domain: "sender.test", dkim_selector: "mx1", bounce_domain: "bounce.sender.test" });
    const answer = SenderCheckAnswerSchema.parse(await res.json());
    expect(answer.items.map((i) => [i.check, i.status])).toEqual([["spf", "pass"], ["dkim", "pass"], ["dmarc", "pass"], ["bounce_mx", "pass"]]);
    const weak = SenderCheckAnswerSchema.parse(await (await postSigned(probe.app, "/v1/dns/sender-check", { domain: "weak.test", dkim_selector: null, bounce_domain: "weak.test" })).json());
    expect(weak.items.map((i) => [i.check, i.status])).toEqual([["spf", "fail"], ["dkim", "warn"], ["dmarc", "warn"], ["bounce_mx", "fail"]]);
  });

  it("serves none of the sending routes on a probe built without sending", async () => {
    const probe = setup();
    const res = await postSigned(probe.app, "/v1/relays/test", { relay: await relay() });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("not_found");
  });
});
