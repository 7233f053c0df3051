// The CampaignHub Durable Object inside workerd: where the campaign stands on connect, coalesced
// updates in order whatever order they arrive in, a move to an end at once.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CampaignLiveMessage, CampaignProgress } from "../core/live.ts";
import { PROGRESS_INTERVAL_MS } from "../core/live.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");

const campaign = (id: string, sent: number, status: CampaignProgress["status"] = "sending", updatedAt = T0): CampaignProgress => ({
  id,
  status,
  status_reason: status === "paused" ? "paused by usr_1" : null,
  counts: { audience: 100, sent, failed: 0, suppressed: 0, skipped_unverified: 0, unsubscribed: 0, bounced: 0, unknown_outcome: 0 },
  updated_at: new Date(updatedAt).toISOString(),
});

async function connect(name: string) {
  const stub = env.CAMPAIGN_HUB.get(env.CAMPAIGN_HUB.idFromName(name));
  const res = await stub.fetch("http://hub/ws", { headers: { Upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const messages: (CampaignLiveMessage & { at: number })[] = [];
  const waiters: { test: (m: CampaignLiveMessage) => boolean; resolve: () => void }[] = [];
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data as string) as CampaignLiveMessage;
    messages.push({ ...m, at: Date.now() });
    for (const w of waiters.filter((w) => w.test(m))) w.resolve();
  });
  const until = (test: (m: CampaignLiveMessage) => boolean) =>
    messages.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
  return { stub, ws, messages, until };
}

describe("CampaignHub", () => {
  it("says where the campaign stands on connect, then coalesces updates and ignores older reads", async () => {
    const id = "cmp_hub_1";
    const stub = env.CAMPAIGN_HUB.get(env.CAMPAIGN_HUB.idFromName(id));
    await stub.update(campaign(id, 0));
    const c = await connect(id);
    await c.until(() => true);
    expect(c.messages[0]).toMatchObject({ type: "campaign", campaign: { id, status: "sending", counts: { sent: 0 } } });

    const started = Date.now();
    for (let sent = 1; sent <= 60; sent++) await c.stub.update(campaign(id, sent));
    await c.stub.update(campaign(id, 5)); // a read older than what it holds: ignored
    await c.stub.update(campaign(id, 60)); // the same read twice: nothing new
    await c.until((m) => m.campaign.counts.sent === 60);
    const elapsed = Date.now() - started;
    const moved = c.messages.slice(1);
    // 60 updates, at most one message per interval (plus the first, sent at once).
    expect(moved.length).toBeLessThanOrEqual(Math.ceil(elapsed / PROGRESS_INTERVAL_MS) + 1);
    expect(moved.length).toBeLessThan(60);
    expect(moved.every((m, i) => i === 0 || m.campaign.counts.sent > moved[i - 1]!.campaign.counts.sent)).toBe(true);
    c.ws.close(1000, "done");
  });

  it("orders reads that counted the same by when the status changed: a pause, then its resume", async () => {
    const id = "cmp_hub_2";
    const c = await connect(id);
    await c.stub.update(campaign(id, 3, "paused", T0 + 2_000)); // the resume's read arrives first…
    await c.stub.update(campaign(id, 3, "paused", T0 + 1_000)); // …then the pause's: older, ignored
    await c.stub.update(campaign(id, 3, "sending", T0 + 3_000));
    await c.until((m) => m.campaign.status === "sending");
    expect(c.messages.at(-1)!.campaign).toEqual(campaign(id, 3, "sending", T0 + 3_000));
    expect(c.messages.filter((m) => m.campaign.updated_at === new Date(T0 + 1_000).toISOString())).toEqual([]);
    c.ws.close(1000, "done");
  });

  it("announces the end, and takes nothing older after it", async () => {
    const id = "cmp_hub_3";
    const c = await connect(id);
    await c.stub.update(campaign(id, 99));
    await c.until((m) => m.campaign.counts.sent === 99);
    await c.stub.update(campaign(id, 100, "completed"));
    await c.until((m) => m.campaign.status === "completed");
    // A read of the same counts that was taken before the end, arriving after it.
    await c.stub.update(campaign(id, 100, "sending", T0 + 60_000));
    const late = await connect(id);
    await late.until(() => true);
    expect(late.messages[0]!.campaign).toMatchObject({ status: "completed", counts: { sent: 100 } });
    c.ws.close(1000, "done");
    late.ws.close(1000, "done");
  });

  it("refuses a request that is not a WebSocket upgrade", async () => {
    const stub = env.CAMPAIGN_HUB.get(env.CAMPAIGN_HUB.idFromName("cmp_hub_4"));
    expect((await stub.fetch("http://hub/ws")).status).toBe(426);
  });
});
