import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResultChunk, SendChunk } from "../core/contracts.ts";
import { SIGNATURE_HEADER, verifySignature } from "../core/signing.ts";
import { DEAD_LETTER_DIR, RESULTS_PATH, SEND_RESULTS_PATH, createOutbox } from "./outbox.ts";

const SECRET = "outbox-test-secret-0123456789";

interface Received {
  path: string;
  body: string;
  signature: string | undefined;
}

/** A loopback edge whose answer to each request is chosen by `respond`. */
async function startEdge(respond: (n: number, req: IncomingMessage) => number) {
  const received: Received[] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const status = respond(n++, req);
      if (status < 300) {
        received.push({ path: req.url ?? "", body, signature: req.headers[SIGNATURE_HEADER] as string });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    attempts: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // fetch keeps connections alive; close would wait on them
      }),
  };
}

function chunk(seq: number, final = false, batchId = "bat_1"): ResultChunk {
  return { probe_id: "prb_test", batch_id: batchId, job_id: "job_1", seq, final, results: [] };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mxray-outbox-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("outbox", () => {
  it("retries 5xx until accepted, then delivers every chunk signed and in order", async () => {
    const edge = await startEdge((n) => (n < 2 ? 503 : 200));
    const outbox = createOutbox({ dir, edgeUrl: edge.url, secret: SECRET, baseDelayMs: 5, maxDelayMs: 20 });
    await outbox.start();
    await outbox.push(chunk(0));
    await outbox.push(chunk(1));
    await outbox.push(chunk(2, true));
    await outbox.flush();

    expect(edge.attempts()).toBe(5);
    expect(edge.received.map((r) => JSON.parse(r.body).seq)).toEqual([0, 1, 2]);
    for (const r of edge.received) {
      expect(r.path).toBe(RESULTS_PATH);
      expect(await verifySignature([SECRET], r.signature, { method: "POST", path: RESULTS_PATH }, r.body)).toEqual({ ok: true });
    }
    expect(await readdir(dir)).toEqual([]);
    await edge.close();
  });

  it("posts a send chunk to the sends' path, signed for it, beside result chunks to theirs", async () => {
    const edge = await startEdge(() => 200);
    const posted: string[] = [];
    const outbox = createOutbox({ dir, edgeUrl: edge.url, secret: SECRET, hooks: { posted: (c) => posted.push(c.batch_id) } });
    await outbox.start();
    const send: SendChunk = {
      kind: "send",
      probe_id: "prb_test",
      batch_id: "sbt_1",
      campaign_id: "cmp_1",
      seq: 0,
      final: true,
      outcomes: [{ id: 7, status: "sent", relay_id: "rly_1", queue_id: "4BxYz", reply: { code: 250, enhanced: "2.0.0", message: "Ok: queued as 4BxYz" } }],
    };
    await outbox.push(send);
    await outbox.push(chunk(0, true));
    await outbox.flush();
    const byPath = Object.fromEntries(edge.received.map((r) => [r.path, r]));
    expect(Object.keys(byPath).sort()).toEqual([RESULTS_PATH, SEND_RESULTS_PATH]);
    expect(JSON.parse(byPath[SEND_RESULTS_PATH]!.body)).toEqual(send);
    expect(await verifySignature([SECRET], byPath[SEND_RESULTS_PATH]!.signature, { method: "POST", path: SEND_RESULTS_PATH }, byPath[SEND_RESULTS_PATH]!.body)).toEqual({ ok: true });
    // A signature for one path is no good on the other (core/signing.ts binds the route).
    expect((await verifySignature([SECRET], byPath[SEND_RESULTS_PATH]!.signature, { method: "POST", path: RESULTS_PATH }, byPath[SEND_RESULTS_PATH]!.body)).ok).toBe(false);
    expect(posted.sort()).toEqual(["bat_1", "sbt_1"]);
    expect(await readdir(dir)).toEqual([]);
    await edge.close();
  });

  it("overlaps chunks of different batches, up to `parallel`, while each batch's chunks go one at a time in order", async () => {
    // An edge that holds every request until the test lets it go, so what is in flight is seen.
    const held: { batch: string; seq: number; release: () => void }[] = [];
    const arrived: string[] = [];
    let wake: (() => void) | null = null;
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      const c = JSON.parse(String(init.body)) as ResultChunk;
      arrived.push(`${c.batch_id}:${c.seq}`);
      await new Promise<void>((release) => {
        held.push({ batch: c.batch_id, seq: c.seq, release });
        wake?.();
      });
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch;
    const inFlight = async (n: number) => {
      while (held.length < n) await new Promise<void>((r) => (wake = r));
    };
    const outbox = createOutbox({ dir, edgeUrl: "http://edge.test", secret: SECRET, fetch: fakeFetch, parallel: 2 });
    await outbox.start();
    for (const [seq, batch] of [[0, "bat_a"], [1, "bat_a"], [0, "bat_b"], [0, "bat_c"], [2, "bat_a"]] as const) {
      await outbox.push(chunk(seq, false, batch));
    }
    await inFlight(2);
    // The oldest chunk of two different batches; bat_a's next waits for its first.
    expect(held.map((h) => `${h.batch}:${h.seq}`)).toEqual(["bat_a:0", "bat_b:0"]);
    held.shift()!.release(); // bat_a:0 answered: bat_a:1 is the oldest startable chunk
    await inFlight(2);
    expect(held.map((h) => `${h.batch}:${h.seq}`)).toEqual(["bat_b:0", "bat_a:1"]);
    const done = outbox.flush();
    for (let answered = 2; answered < 5; answered++) {
      await inFlight(1);
      expect(new Set(held.map((h) => h.batch)).size).toBe(held.length); // never two of one batch
      held.shift()!.release();
    }
    await inFlight(1);
    held.shift()!.release();
    await done;
    expect(arrived.filter((a) => a.startsWith("bat_a"))).toEqual(["bat_a:0", "bat_a:1", "bat_a:2"]);
    expect(arrived.sort()).toEqual(["bat_a:0", "bat_a:1", "bat_a:2", "bat_b:0", "bat_c:0"]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("drops a chunk the edge refuses with a 4xx, and moves on", async () => {
    const edge = await startEdge((n) => (n === 0 ? 400 : 200));
    const dropped: string[] = [];
    const outbox = createOutbox({
      dir,
      edgeUrl: edge.url,
      secret: SECRET,
      baseDelayMs: 5,
      hooks: { failed: (kind) => dropped.push(kind) },
    });
    await outbox.start();
    await outbox.push(chunk(0));
    await outbox.push(chunk(1));
    await outbox.flush();
    expect(dropped).toEqual(["dropped"]);
    expect(edge.received.map((r) => JSON.parse(r.body).seq)).toEqual([1]);
    expect(await readdir(dir)).toEqual([]);
    await edge.close();
  });

  it("keeps an undelivered chunk on disk and re-sends it after a restart", async () => {
    const down = await startEdge(() => 500);
    let failedOnce!: () => void;
    const failed = new Promise<void>((resolve) => (failedOnce = resolve));
    const first = createOutbox({
      dir,
      edgeUrl: down.url,
      secret: SECRET,
      baseDelayMs: 5,
      maxDelayMs: 10,
      hooks: { failed: () => failedOnce() },
    });
    await first.start();
    await first.push(chunk(7, true));
    await failed;
    first.close();
    await first.flush();
    await down.close();
    expect((await readdir(dir)).length).toBe(1);

    const up = await startEdge(() => 200);
    const second = createOutbox({ dir, edgeUrl: up.url, secret: SECRET, baseDelayMs: 5 });
    await second.start();
    await second.flush();
    expect(up.received.map((r) => JSON.parse(r.body))).toEqual([chunk(7, true)]);
    expect(await verifySignature([SECRET], up.received[0]!.signature, { method: "POST", path: RESULTS_PATH }, up.received[0]!.body)).toEqual({ ok: true });
    expect(await readdir(dir)).toEqual([]);
    await up.close();
  });

  it("retries when the edge cannot be reached at all", async () => {
    const edge = await startEdge(() => 200);
    const url = edge.url;
    await edge.close(); // nothing listens here now: connection refused
    const retries: string[] = [];
    const outbox = createOutbox({
      dir,
      edgeUrl: url,
      secret: SECRET,
      baseDelayMs: 5,
      maxDelayMs: 10,
      hooks: { failed: (kind) => retries.push(kind) },
    });
    await outbox.start();
    await outbox.push(chunk(0));
    await expect.poll(() => retries.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(retries.every((k) => k === "retry")).toBe(true);
    expect(outbox.depth()).toBe(1);
    outbox.close();
  });

  it("moves a chunk that keeps failing past its attempts and age to dead/, and the queue flows on", async () => {
    // The edge refuses batch bat_bad's first chunk with a 500 for ever; everything else it takes.
    const edge = await startEdge((_n, req) => (req.headers["x-test-poison"] ? 500 : 200));
    let clock = 1_000_000;
    const dead: number[] = [];
    let badAttempts = 0;
    const outbox = createOutbox({
      dir,
      edgeUrl: edge.url,
      secret: SECRET,
      baseDelayMs: 1,
      maxDelayMs: 2,
      parallel: 1, // one slot: while the poisoned chunk holds it, nothing else could go
      maxAttempts: 3,
      maxAgeMs: 60_000,
      now: () => clock,
      fetch: (url, init) => {
        const poisoned = (init?.body as string).includes('"batch_id":"bat_bad","job_id":"job_1","seq":0');
        if (poisoned) badAttempts++;
        return fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(poisoned ? { "x-test-poison": "1" } : {}) } });
      },
      hooks: { deadLettersChanged: (count) => dead.push(count) },
    });
    await outbox.start();
    await outbox.push(chunk(0, false, "bat_bad"));
    await outbox.push(chunk(1, true, "bat_bad"));
    await outbox.push(chunk(0, true, "bat_ok"));
    // Past its attempts but younger than maxAgeMs (a short edge outage looks the same): kept.
    await expect.poll(() => badAttempts).toBeGreaterThan(5);
    expect(edge.received).toEqual([]);
    expect(outbox.depth()).toBe(3);

    clock += 60_000;
    await outbox.flush();
    expect(edge.received.map((r) => [JSON.parse(r.body).batch_id, JSON.parse(r.body).seq])).toEqual([
      ["bat_bad", 1],
      ["bat_ok", 0],
    ]);
    const parked = await readdir(join(dir, DEAD_LETTER_DIR));
    expect(parked).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, DEAD_LETTER_DIR, parked[0]!), "utf8")).chunk).toEqual(chunk(0, false, "bat_bad"));
    expect(dead).toEqual([0, 1]);
    expect(await readdir(dir)).toEqual([DEAD_LETTER_DIR]);
    outbox.close();

    // A restart counts what is parked and never re-sends it.
    const counted: number[] = [];
    const again = createOutbox({ dir, edgeUrl: edge.url, secret: SECRET, hooks: { deadLettersChanged: (count) => counted.push(count) } });
    await again.start();
    await again.flush();
    expect(counted).toEqual([1]);
    expect(edge.received).toHaveLength(2);
    again.close();
    await edge.close();
  });
});
