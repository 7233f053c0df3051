// The edge's dispatch adapters against real peers: the QStash adapter's requests as the real
// @upstash/qstash client sends them (to a loopback stand-in for QStash's publish API), and the
// direct stand-in delivering to a real probe, whose QStash Receiver must accept its signature.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultChunkSchema, type ResultChunk } from "../core/contracts.ts";
import { createDirectDispatcher, createQstashDispatcher, PROBE_PARALLELISM } from "../edge/adapters/dispatch.ts";
import type { createOutbox } from "../probe/outbox.ts";
import { startWorld, type World } from "./world/index.ts";
import { createWorldProbe } from "./world/probe.ts";

const SECRET = "probe-secret-for-dispatch-tests-01";
const SIGNING_KEY = "sig_current_key";

function listen(handler: (req: IncomingMessage, body: string) => { status: number; json: unknown }) {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const out = handler(req, body);
      res.writeHead(out.status, { "content-type": "application/json" }).end(JSON.stringify(out.json));
    });
  });
  return new Promise<{ server: Server; url: string }>((r) =>
    server.listen(0, "127.0.0.1", () => r({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
  );
}

describe("QStash adapter", () => {
  it("publishes with the batch id as deduplication id, retries and per-probe flow control", async () => {
    const seen: { url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
    const qstash = await listen((req, body) => {
      seen.push({ url: req.url!, headers: req.headers, body });
      return { status: 201, json: { messageId: "msg_123" } };
    });
    const dispatcher = createQstashDispatcher({ token: "qstash-token", baseUrl: qstash.url });
    const batch = { batch_id: "bat_1", job_id: "job_1", emails: ["a@x.test"] };
    const res = await dispatcher.dispatch({ probeUrl: "https://probe.example/", probeId: "prb_9", batch, delaySeconds: 30 });
    qstash.server.close();
    expect(res).toEqual({ ok: true, messageId: "msg_123" });
    const [req] = seen;
    expect(req!.url).toBe("/v2/publish/https://probe.example/v1/batches");
    expect(req!.headers.authorization).toBe("Bearer qstash-token");
    expect(req!.headers["upstash-deduplication-id"]).toBe("bat_1");
    expect(req!.headers["upstash-retries"]).toBe("5");
    expect(req!.headers["upstash-delay"]).toBe("30s");
    expect(req!.headers["upstash-flow-control-key"]).toBe("prb_9");
    expect(req!.headers["upstash-flow-control-value"]).toBe(`parallelism=${PROBE_PARALLELISM}`);
    expect(JSON.parse(req!.body)).toEqual(batch);
  });

  it("publishes a send batch to /v1/sends, one message per attempt", async () => {
    const seen: { url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
    const qstash = await listen((req, body) => {
      seen.push({ url: req.url!, headers: req.headers, body });
      return { status: 201, json: { messageId: `msg_${seen.length}` } };
    });
    const dispatcher = createQstashDispatcher({ token: "qstash-token", baseUrl: qstash.url });
    const send = {
      batch_id: "sbt_1", campaign_id: "cmp_1", attempt: 1, sender: { from_email: "news@x.test", from_name: "News", reply_to: null }, bounce_domain: "x.test",
      relays: [{ id: "rly_1", host: "relay.x.test", port: 587, security: "starttls" as const, username: "u", password: "v1.probe.sealed", max_per_minute: 60, max_per_day: 1_000 }],
      template: { subject: "Hi", html: "<p>Hi</p>", text: null }, unsubscribe_base: "https://edge.x.test/u/",
      recipients: [{ id: 7, email: "a@x.test", token: "7-0123456789abcdef0123", vars: { email: "a@x.test" } }], budget_ms: 60_000,
    };
    await dispatcher.dispatch({ probeUrl: "https://probe.example", probeId: "prb_9", send });
    await dispatcher.dispatch({ probeUrl: "https://probe.example", probeId: "prb_9", send: { ...send, attempt: 2 } });
    qstash.server.close();
    expect(seen.map((r) => [r.url, r.headers["upstash-deduplication-id"], r.headers["upstash-flow-control-key"]])).toEqual([
      ["/v2/publish/https://probe.example/v1/sends", "sbt_1:1", "prb_9"],
      ["/v2/publish/https://probe.example/v1/sends", "sbt_1:2", "prb_9"],
    ]);
    expect(JSON.parse(seen[0]!.body)).toEqual(send);
  });

  it("reports a refused publish as a value, not a throw", async () => {
    const qstash = await listen(() => ({ status: 401, json: { error: "invalid token" } }));
    const res = await createQstashDispatcher({ token: "bad", baseUrl: qstash.url }).dispatch({
      probeUrl: "https://probe.example",
      probeId: "prb_9",
      batch: { batch_id: "bat_2", job_id: "job_1", emails: ["a@x.test"] },
    });
    qstash.server.close();
    expect(res.ok).toBe(false);
  });
});

describe("direct dispatch to a real probe", () => {
  let world: World;
  let edge: Awaited<ReturnType<typeof listen>>;
  let probeServer: ServerType;
  let probeUrl: string;
  let outboxDir: string;
  let outbox: ReturnType<typeof createOutbox>;
  const chunks: ResultChunk[] = [];

  beforeAll(async () => {
    world = await startWorld();
    outboxDir = mkdtempSync(join(tmpdir(), "mxray-dispatch-"));
    edge = await listen((req, body) => {
      chunks.push(ResultChunkSchema.parse(JSON.parse(body)));
      return { status: 200, json: {} };
    });
    // The probe's PUBLIC_URL must be known before it starts: take a port first.
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    probeUrl = `http://127.0.0.1:${port}`;
    const probe = createWorldProbe(world, {
      probeId: "prb_local",
      secret: SECRET,
      publicUrl: probeUrl,
      edgeUrl: edge.url,
      signingKey: SIGNING_KEY,
      outboxDir,
    });
    outbox = probe.outbox;
    await outbox.start();
    const { app } = probe;
    probeServer = await new Promise<ServerType>((r) => {
      const s = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => r(s));
    });
  });
  afterAll(async () => {
    outbox?.close();
    await new Promise((r) => probeServer?.close(r));
    edge?.server.close();
    await world?.stop();
    if (outboxDir) rmSync(outboxDir, { recursive: true, force: true });
  });

  it("is accepted by the probe's QStash Receiver, and every result comes back", async () => {
    const deliveries: Promise<unknown>[] = [];
    const dispatcher = createDirectDispatcher({ signingKey: SIGNING_KEY, waitUntil: (p) => deliveries.push(p) });
    const emails = ["alice@ok.test", "nobody@ok.test", "anyone@catchall.test"];
    const res = await dispatcher.dispatch({ probeUrl, probeId: "prb_local", batch: { batch_id: "bat_direct", job_id: "job_d", emails } });
    expect(res).toEqual({ ok: true, messageId: "direct_bat_direct" });
    await Promise.all(deliveries);
    await outbox.flush(); // results travel back on their own, as in production
    const results = chunks.filter((c) => c.batch_id === "bat_direct").flatMap((c) => c.results);
    expect(Object.fromEntries(results.map((r) => [r.email, r.verdict]))).toEqual({
      "alice@ok.test": "deliverable",
      "nobody@ok.test": "undeliverable",
      "anyone@catchall.test": "risky",
    });
  });

  it("is refused by the probe when signed with another key", async () => {
    const statuses: number[] = [];
    const deliveries: Promise<unknown>[] = [];
    const spy: typeof fetch = async (input, init) => {
      const r = await fetch(input, init);
      statuses.push(r.status);
      return r;
    };
    const dispatcher = createDirectDispatcher({ signingKey: "wrong-key", fetch: spy, waitUntil: (p) => deliveries.push(p) });
    await dispatcher.dispatch({ probeUrl, probeId: "prb_local", batch: { batch_id: "bat_bad", job_id: "job_d", emails: ["alice@ok.test"] } });
    await Promise.all(deliveries);
    expect(statuses).toEqual([401]); // a 4xx other than 429 is final, as with QStash
  });
});
