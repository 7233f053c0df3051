// The daemon as deployed, end to end on loopback: a QStash-signed batch reaches the real server,
// the real engine verifies it against the simulated world, and the durable outbox posts signed
// result chunks to a local stand-in for the edge.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultChunkSchema, ResultSchema, type ResultChunk } from "../core/contracts.ts";
import { signQstash } from "../core/qstash.ts";
import { sign, SIGNATURE_HEADER, verifySignature } from "../core/signing.ts";
import { startWorld, type World } from "../e2e/world/index.ts";
import { createWorldProbe } from "../e2e/world/probe.ts";

let world: World;
let edge: Server;
let edgeUrl: string;
let outboxDir: string;
const received: ResultChunk[] = [];
const SECRET = "probe-secret-for-daemon-tests-0123";

beforeAll(async () => {
  world = await startWorld({ greylistDelayMs: 200 });
  outboxDir = await mkdtemp(join(tmpdir(), "mxray-daemon-"));
  edge = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const ok = await verifySignature([SECRET], req.headers[SIGNATURE_HEADER] as string, { method: "POST", path: "/internal/probes/results" }, body);
      if (!ok.ok || req.url !== "/internal/probes/results") {
        res.writeHead(401).end();
        return;
      }
      received.push(ResultChunkSchema.parse(JSON.parse(body)));
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((r) => edge.listen(0, "127.0.0.1", () => r()));
  edgeUrl = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await world?.stop();
  await new Promise((r) => edge?.close(r));
  if (outboxDir) await rm(outboxDir, { recursive: true, force: true });
});

function probe() {
  return createWorldProbe(world, {
    probeId: "prb_daemon",
    secret: SECRET,
    publicUrl: "https://probe.example.test",
    edgeUrl,
    signingKey: "current-key",
    outboxDir,
  });
}

describe("probe daemon with the real engine", () => {
  it("verifies a signed batch against the world and posts every result, signed, to the edge", async () => {
    const p = probe();
    await p.outbox.start();
    const emails = world.addresses;
    const body = JSON.stringify({ batch_id: "bat_daemon", job_id: "job_daemon", emails });
    const signature = await signQstash({ signingKey: "current-key", url: "https://probe.example.test/v1/batches", body });
    const res = await p.app.request("/v1/batches", { method: "POST", body, headers: { "upstash-signature": signature } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ batch_id: "bat_daemon", results: emails.length });
    await p.outbox.flush();
    const results = received.filter((c) => c.batch_id === "bat_daemon").flatMap((c) => c.results);
    expect(results.map((r) => r.email).sort()).toEqual([...emails].sort());
    for (const r of results) {
      const want = world.truth.get(r.email)!;
      expect(`${r.email} ${r.verdict}/${r.reason}`).toBe(`${r.email} ${want.verdict}/${want.reason}`);
    }
    expect(world.stats().dataCommands).toBe(0);
    p.outbox.close();
  });

  it("answers a signed single check synchronously", async () => {
    const p = probe();
    const body = JSON.stringify({ email: "nobody@ok.test", trace: true });
    const res = await p.app.request("/v1/verify", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(SECRET, { method: "POST", path: "/v1/verify", audience: "prb_daemon" }, body) } });
    expect(res.status).toBe(200);
    const r = ResultSchema.parse(await res.json());
    expect(r).toMatchObject({ verdict: "undeliverable", reason: "mailbox_not_found", smtp: { enhanced: "5.1.1" } });
    p.outbox.close();
  });
});
