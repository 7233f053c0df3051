// Outbound webhooks on the real local stack (sqld + the Worker under wrangler dev + one probe +
// the simulated world): a loopback receiver gets exactly one correctly signed `job.completed` per
// finished job, and a Zapier hook receives its event and stops after DELETE. Also the QStash
// transport's publish, as the real @upstash/qstash client sends it, to a loopback stand-in.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../core/contracts.ts";
import { checkDeliveryCallbackToken, createQstashWebhookQueue } from "../edge/adapters/webhookqueue.ts";
import { startStack, type Stack } from "./stack.ts";
import { startStandInReceiver, type ReceivedWebhook } from "./standin-receiver.ts";
import { startWorld, type World } from "./world/index.ts";
import { scratchDir } from "./scratch.ts";

let world: World;
let stack: Stack;
let dataDir: string;
let receiver: Awaited<ReturnType<typeof startStandInReceiver>>;

const api = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, { ...init, headers: { authorization: `Bearer ${stack.devApiKey}`, ...init.headers } });
const post = (path: string, body: unknown) => api(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

/** Polls a condition (with a deadline, not a sleep) until it holds. */
async function until<T>(what: string, read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (${JSON.stringify(v).slice(0, 300)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const at = (prefix: string): ReceivedWebhook[] => receiver.received.filter((r) => r.path.startsWith(prefix));

async function runJob(emails: string[]): Promise<JobView> {
  const created = (await (await api("/api/v1/jobs", { method: "POST", body: `${emails.join("\n")}\n`, headers: { "content-type": "text/plain" } })).json()) as JobView;
  return until("job finished", async () => (await (await api(`/api/v1/jobs/${created.id}`)).json()) as JobView, (j) => j.status === "completed");
}

beforeAll(async () => {
  world = await startWorld({ greylistDelayMs: 1000, bulk: { domains: 4, addresses: 20, seed: 12, immediate: true } });
  receiver = await startStandInReceiver();
  dataDir = scratchDir("webhooks");
  stack = await startStack({ dataDir, world, probes: 1, sweepMs: 0 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await world?.stop();
  await receiver?.close();
});

/** Every file under a folder, as bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), bytes: readFileSync(join(e.parentPath, e.name)) }));
}

describe("webhooks on the local stack", () => {
  it("keeps no webhook secret in clear: after create and rotate, no file of the database holds the whsec_…, its body or its bytes", async () => {
    const marker = `/ok/at-rest-${Date.now()}`;
    const made = await post("/api/v1/webhooks", { url: `${receiver.url}${marker}`, events: ["job.completed"] });
    expect(made.status).toBe(201);
    const endpoint = (await made.json()) as { id: string; secret: string };
    const rotated = (await (await api(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, { method: "POST" })).json()) as { secret: string };
    const files = filesUnder(join(dataDir, "db"));
    // The same write reached the files: the endpoint's URL is there (in the WAL or the database).
    expect(files.some((f) => f.bytes.includes(marker))).toBe(true);
    for (const secret of [endpoint.secret, rotated.secret]) {
      const body = secret.slice("whsec_".length);
      for (const needle of [secret, body, body.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), Buffer.from(body, "base64")]) {
        expect(files.filter((f) => f.bytes.includes(needle)).map((f) => f.path), String(needle)).toEqual([]);
      }
    }
    // And the secret it showed signs what is delivered.
    expect((await api(`/api/v1/webhooks/${endpoint.id}/test`, { method: "POST" })).status).toBe(202);
    const got = await until("test event delivered", () => at(marker), (r) => r.length >= 1);
    expect(new Webhook(rotated.secret).verify(got[0]!.body, got[0]!.headers)).toMatchObject({ type: "webhook.test" });
    expect((await api(`/api/v1/webhooks/${endpoint.id}`, { method: "DELETE" })).status).toBe(204);
  }, 40_000);

  it("delivers one signed job.completed per finished job to an endpoint, and to a Zapier hook until it is deleted", async () => {
    const endpoint = (await (await post("/api/v1/webhooks", { url: `${receiver.url}/ok/endpoint`, events: ["job.completed"] })).json()) as { id: string; secret: string };
    const hook = (await (await post("/api/v1/hooks", { target_url: `${receiver.url}/ok/zap`, event: "job.completed" })).json()) as { id: string };
    expect(hook.id).toMatch(/^whk_/);

    const job = await runJob(world.bulkAddresses);
    expect(job.unique).toBe(20);
    await until("endpoint and hook delivered", () => Math.min(at("/ok/endpoint").length, at("/ok/zap").length), (n) => n >= 1);
    // The sweeper's fan-out and due attempts find nothing more to send.
    await stack.sweep();
    const [got] = at("/ok/endpoint");
    expect(at("/ok/endpoint")).toHaveLength(1);
    const payload = new Webhook(endpoint.secret).verify(got!.body, got!.headers) as { type: string; data: JobView };
    expect(payload.type).toBe("job.completed");
    expect(payload.data).toEqual(job);
    expect(JSON.parse(at("/ok/zap")[0]!.body)).toMatchObject({ type: "job.completed", data: { id: job.id } });

    expect((await api(`/api/v1/hooks/${hook.id}`, { method: "DELETE" })).status).toBe(204);
    const second = await runJob(world.bulkAddresses.slice(0, 5));
    // The endpoint's delivery of the second job marks its fan-out done; the hook got none of it.
    await until("second job delivered", () => at("/ok/endpoint").length, (n) => n >= 2);
    await stack.sweep();
    expect(at("/ok/endpoint").map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id)).toEqual([job.id, second.id]);
    expect(at("/ok/zap")).toHaveLength(1);
  }, 40_000);
});

describe("the QStash transport", () => {
  it("publishes an attempt to our own route, deduplicated per delivery and attempt, with retries and a failure callback", async () => {
    const seen: { url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
    const qstash = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push({ url: req.url!, headers: req.headers, body });
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ messageId: "msg_1" }));
      });
    });
    await new Promise<void>((r) => qstash.listen(0, "127.0.0.1", () => r()));
    const queue = createQstashWebhookQueue({ token: "qstash-token", baseUrl: `http://127.0.0.1:${(qstash.address() as AddressInfo).port}`, origin: "https://mxray.example", retries: 6, callbackSecret: "worker-only-secret-0123456789" });
    // QStash calls our route for the attempt: nothing runs it here.
    const notHere = () => Promise.reject(new Error("attempted in-process under QStash"));
    expect(await queue.enqueue("dlv_abc", 0, notHere)).toBe(true);
    expect(await queue.enqueue("dlv_abc", 3, notHere)).toBe(true); // a replay is a new message
    qstash.close();
    expect(seen.map((s) => s.url)).toEqual(["/v2/publish/https://mxray.example/internal/webhooks/deliver", "/v2/publish/https://mxray.example/internal/webhooks/deliver"]);
    expect(seen.map((s) => s.headers["upstash-deduplication-id"])).toEqual(["dlv_abc_0", "dlv_abc_3"]);
    expect(seen[0]!.headers["upstash-retries"]).toBe("6");
    expect(seen[0]!.headers["upstash-failure-callback"]).toBe("https://mxray.example/internal/webhooks/failed");
    // The Worker's own token for this delivery rides in the body: QStash's keys are every probe's too.
    const published = JSON.parse(seen[0]!.body) as { delivery_id: string; token: string };
    expect(published.delivery_id).toBe("dlv_abc");
    expect(await checkDeliveryCallbackToken(["worker-only-secret-0123456789"], "dlv_abc", published.token)).toBe(true);
    expect(await checkDeliveryCallbackToken(["worker-only-secret-0123456789"], "dlv_other", published.token)).toBe(false);
    expect(await checkDeliveryCallbackToken(["another-secret-0123456789abc"], "dlv_abc", published.token)).toBe(false);
  });
});
