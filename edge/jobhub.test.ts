// The JobHub Durable Object inside workerd: snapshot on connect, coalesced progress, idempotent
// updates, completion.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobProgress, LiveMessage } from "../core/live.ts";
import { PROGRESS_INTERVAL_MS } from "../core/live.ts";
import { result } from "./testing.ts";

const job = (processed: number, status: JobProgress["status"] = "running"): JobProgress => ({
  id: "job_hub",
  status,
  total: 100,
  unique: 100,
  processed,
  counts: { deliverable: processed, undeliverable: 0, risky: 0, unknown: 0 },
});

async function connect(name: string) {
  const stub = env.JOB_HUB.get(env.JOB_HUB.idFromName(name));
  const res = await stub.fetch("http://hub/ws", { headers: { Upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const messages: (LiveMessage & { at: number })[] = [];
  const waiters: { test: (m: LiveMessage) => boolean; resolve: () => void }[] = [];
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data as string) as LiveMessage;
    messages.push({ ...m, at: Date.now() });
    for (const w of waiters.filter((w) => w.test(m))) w.resolve();
  });
  const until = (test: (m: LiveMessage) => boolean) =>
    messages.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
  return { stub, ws, messages, until };
}

describe("JobHub", () => {
  it("sends a snapshot on connect, then coalesced progress, ignoring stale updates", async () => {
    const name = "job_hub_1";
    const stub = env.JOB_HUB.get(env.JOB_HUB.idFromName(name));
    await stub.update(job(0), [], 1);
    const c = await connect(name);
    await c.until((m) => m.type === "snapshot");
    expect(c.messages[0]).toMatchObject({ type: "snapshot", job: { processed: 0 } });

    const started = Date.now();
    for (let seq = 2; seq <= 61; seq++) await c.stub.update(job(seq - 1), [], seq);
    await c.stub.update(job(5), [], 30); // older than what it has: ignored
    await c.until((m) => m.type === "progress" && m.job.processed === 60);
    const elapsed = Date.now() - started;
    const progress = c.messages.filter((m) => m.type === "progress");
    // 60 updates, at most one message per interval (plus the first, sent at once).
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsed / PROGRESS_INTERVAL_MS) + 1);
    expect(progress.length).toBeLessThan(60);
    expect(progress.at(-1)!.job.processed).toBe(60);
    expect(progress.every((m, i) => i === 0 || m.job.processed >= progress[i - 1]!.job.processed)).toBe(true);
    c.ws.close(1000, "done");
  });

  it("sums what its batches wait on into its messages, keeping each batch's newest word and an ended batch ended (issue 26)", async () => {
    const c = await connect("job_hub_tail");
    await c.stub.tailWaiting([{ batch_id: "bat_a", seq: 0, waiting: { slow_server: { count: 1 } } }]); // before any update: no job to tell of
    await c.stub.update(job(10), [], 10);
    const grey = (count: number, at: string) => ({ greylisted: { count, next_try_at: at } });
    await c.stub.tailWaiting([
      { batch_id: "bat_a", seq: 2, waiting: grey(2, "2030-01-01T00:00:30.000Z") },
      { batch_id: "bat_b", seq: -1, waiting: grey(3, "2030-01-01T00:00:12.000Z") },
    ]);
    await c.until((m) => m.type === "progress" && m.waiting?.greylisted?.count === 5);
    expect(c.messages.find((m) => m.type === "progress" && m.waiting?.greylisted?.count === 5)).toMatchObject({ waiting: grey(5, "2030-01-01T00:00:12.000Z") });
    // A late chunk of bat_a changes nothing; bat_b's probe replaces the re-queue's estimate; bat_a ends.
    await c.stub.tailWaiting([{ batch_id: "bat_a", seq: 1, waiting: grey(9, "2030-01-01T00:00:01.000Z") }]);
    await c.stub.tailWaiting([{ batch_id: "bat_b", seq: 0, waiting: { slow_server: { count: 1 } } }, { batch_id: "bat_a", seq: 3, waiting: null }]);
    await c.stub.tailWaiting([{ batch_id: "bat_a", seq: 4, waiting: grey(1, "2030-01-01T00:00:01.000Z") }]);
    await c.until((m) => m.type === "progress" && m.waiting !== undefined && m.waiting.greylisted === undefined);
    const last = c.messages.filter((m) => m.type === "progress").at(-1)!;
    expect(last).toMatchObject({ waiting: { slow_server: { count: 1 } } });
    expect(c.messages.some((m) => m.type === "progress" && m.waiting?.greylisted?.count === 9 + 3)).toBe(false);
    c.ws.close(1000, "done");
    // A new connection's snapshot says it too.
    const again = await connect("job_hub_tail");
    await again.until((m) => m.type === "snapshot");
    expect(again.messages[0]).toMatchObject({ type: "snapshot", waiting: { slow_server: { count: 1 } } });
    again.ws.close(1000, "done");
  });

  it("forgets ended batches but the newest few, so a big job's state stays small (issue 26)", async () => {
    const c = await connect("job_hub_tail_big");
    await c.stub.update(job(10), [], 10);
    // More batches than a Durable Object value could hold a word of each (128 KiB).
    const ids = Array.from({ length: 5_000 }, (_, i) => `bat_${String(i).padStart(20, "0")}`);
    for (let i = 0; i < ids.length; i += 500) {
      const wave = ids.slice(i, i + 500);
      await c.stub.tailWaiting(wave.map((batch_id) => ({ batch_id, seq: 0, waiting: { slow_server: { count: 1 } } })));
      await c.stub.tailWaiting(wave.filter((id) => id !== ids.at(-1)).map((batch_id) => ({ batch_id, seq: 1, waiting: null })));
    }
    await c.until((m) => m.type === "progress" && m.waiting?.slow_server?.count === 1);
    // The newest ended batch stays ended.
    await c.stub.tailWaiting([{ batch_id: ids.at(-2)!, seq: 2, waiting: { slow_server: { count: 1 } } }]);
    // What the hub keeps: the one running batch, and no more ended ones than it remembers.
    const kept = await runInDurableObject(c.stub, (_hub, ctx) => ctx.storage.get<{ waiting: Record<string, unknown>; ended: string[] }>("state"));
    expect(Object.keys(kept!.waiting)).toEqual([ids.at(-1)]);
    expect(kept!.ended.length).toBeLessThanOrEqual(256);
    c.ws.close(1000, "done");
    const again = await connect("job_hub_tail_big");
    await again.until((m) => m.type === "snapshot");
    expect(again.messages[0]).toMatchObject({ type: "snapshot", waiting: { slow_server: { count: 1 } } });
    again.ws.close(1000, "done");
  });

  it("announces completion at once, with the last chunk's results", async () => {
    const c = await connect("job_hub_2");
    const last = result("last@x.test");
    await c.stub.update(job(100, "completed"), [last], 1);
    await c.until((m) => m.type === "completed");
    expect(c.messages.find((m) => m.type === "completed")).toEqual({ type: "completed", job: job(100, "completed"), latest: [last], at: expect.any(Number) });
    c.ws.close(1000, "done");
  });

  it("refuses a request that is not a WebSocket upgrade", async () => {
    const stub = env.JOB_HUB.get(env.JOB_HUB.idFromName("job_hub_3"));
    expect((await stub.fetch("http://hub/ws")).status).toBe(426);
  });
});
