// /ws/campaigns/:id and POST /api/v1/campaigns/:id/live-token inside workerd: the socket opens
// with an API key or a live token minted for the campaign, says where the campaign stands, and
// hears the writes that move it (through afterCommit: its lifecycle, its audience, an
// unsubscribe); a job's token never opens a campaign's
// socket nor a campaign's a job's; another account's campaign is not found.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { asc, eq } from "drizzle-orm";
import type { CampaignLiveMessage } from "../../core/live.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import { campaignRecipients } from "../../db/schema.ts";
import { seedWorld, type World } from "../campaigns/testing.ts";
import type { CampaignView } from "../campaigns/views.ts";
import { checkLiveToken, mintLiveToken } from "../identity/livetoken.ts";
import { call, errorCode, seedAccount, seedJobWithBatch, testServices } from "../testing.ts";

const s = testServices();
const consent = { basis: "opt_in", source: "Sign-up form on example.com, double opt-in" };

async function campaignOf(): Promise<{ key: string; keyId: string; accountId: string; w: World; campaign: CampaignView }> {
  const { accountId, key, keyId } = await seedAccount();
  const w = await seedWorld(s, { accountId });
  const res = await call("/api/v1/campaigns", {
    method: "POST",
    key,
    env,
    body: JSON.stringify({ name: "Live", job_id: w.jobId, sender_id: w.senderId, template_id: w.templateId, consent }),
    headers: { "content-type": "application/json" },
  });
  expect(res.status).toBe(201);
  return { key, keyId, accountId, w, campaign: (await res.json()) as CampaignView };
}

const upgrade = { upgrade: "websocket" };

/** An open socket and the messages it got; `until` waits for one that passes `test`. */
function listen(res: Response) {
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const messages: CampaignLiveMessage[] = [];
  const waiters: { test: (m: CampaignLiveMessage) => boolean; resolve: () => void }[] = [];
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data as string) as CampaignLiveMessage;
    messages.push(m);
    for (const w of waiters.filter((w) => w.test(m))) w.resolve();
  });
  const until = (test: (m: CampaignLiveMessage) => boolean) =>
    messages.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
  return { ws, messages, until };
}

describe("/ws/campaigns/:id", () => {
  it("opens with an API key, says where the campaign stands, and hears its moves", async () => {
    const { key, campaign } = await campaignOf();
    const socket = listen(await call(`/ws/campaigns/${campaign.id}`, { key, headers: upgrade }));
    await socket.until((m) => m.campaign.status === "draft");
    expect(socket.messages[0]).toEqual({
      type: "campaign",
      campaign: { id: campaign.id, status: "draft", status_reason: null, counts: campaign.counts, updated_at: campaign.updated_at },
    });
    // Started: its job is done, so it sends; the audience's first steps count the list.
    expect((await call(`/api/v1/campaigns/${campaign.id}/start`, { method: "POST", key, env })).status).toBe(200);
    await socket.until((m) => m.campaign.status === "sending" && m.campaign.counts.audience === 3);
    expect(socket.messages.at(-1)!.campaign.counts).toMatchObject({ audience: 3, suppressed: 1, skipped_unverified: 5 });
    expect((await call(`/api/v1/campaigns/${campaign.id}/pause`, { method: "POST", key, env })).status).toBe(200);
    await socket.until((m) => m.campaign.status === "paused");
    expect(socket.messages.at(-1)!.campaign.status_reason).toMatch(/^paused by key_/);
    expect((await call(`/api/v1/campaigns/${campaign.id}/cancel`, { method: "POST", key, env })).status).toBe(200);
    await socket.until((m) => m.campaign.status === "canceled");
    socket.ws.close(1000, "done");
  });

  it("hears a recipient's one-click unsubscribe", async () => {
    const { key, accountId, campaign } = await campaignOf();
    expect((await call(`/api/v1/campaigns/${campaign.id}/start`, { method: "POST", key, env })).status).toBe(200);
    const [first] = await s.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaign.id)).orderBy(asc(campaignRecipients.id));
    const socket = listen(await call(`/ws/campaigns/${campaign.id}`, { key, headers: upgrade }));
    await socket.until((m) => m.campaign.counts.audience === 3);
    const token = await recipientToken(env.SESSION_SECRET, { accountId, campaignId: campaign.id, recipientId: first!.id });
    const clicked = await call(`/u/${token}`, { method: "POST", env, body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(clicked.status).toBe(200);
    await socket.until((m) => m.campaign.counts.unsubscribed === 1);
    socket.ws.close(1000, "done");
  });

  it("opens with a live token minted for the campaign, and only for it", async () => {
    const { key, accountId, keyId, campaign } = await campaignOf();
    const minted = await call(`/api/v1/campaigns/${campaign.id}/live-token`, { method: "POST", key });
    expect(minted.status).toBe(201);
    const { token, url, expires_at } = (await minted.json()) as { token: string; url: string; expires_at: string };
    expect(url).toBe(`ws://edge.test/ws/campaigns/${campaign.id}?token=${encodeURIComponent(token)}`);
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now());
    const socket = listen(await call(`/ws/campaigns/${campaign.id}?token=${encodeURIComponent(token)}`, { headers: upgrade }));
    await socket.until((m) => m.campaign.id === campaign.id);
    socket.ws.close(1000, "done");

    // Not for another campaign of the account, nor for a job's socket, even one named by the campaign's id.
    const other = await campaignOf();
    const elsewhere = await call(`/ws/campaigns/${other.campaign.id}?token=${encodeURIComponent(token)}`, { headers: upgrade });
    expect([elsewhere.status, await errorCode(elsewhere)]).toEqual([401, "unauthorized"]);
    const asJob = await call(`/ws/jobs/${campaign.id}?token=${encodeURIComponent(token)}`, { headers: upgrade });
    expect([asJob.status, await errorCode(asJob)]).toEqual([401, "unauthorized"]);
    expect(await checkLiveToken(s, token, campaign.id)).toBeNull();
    expect(await checkLiveToken(s, token, { campaignId: campaign.id })).toBe(accountId);

    // A job's token, even one whose id is the campaign's, opens no campaign's socket.
    const { jobId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    const jobToken = (await mintLiveToken(s, { accountId, actor: keyId }, { jobId, holder: { key: keyId } })).token;
    const lookalike = (await mintLiveToken(s, { accountId, actor: keyId }, { jobId: campaign.id, holder: { key: keyId } })).token;
    for (const t of [jobToken, lookalike]) {
      const refused = await call(`/ws/campaigns/${campaign.id}?token=${encodeURIComponent(t)}`, { headers: upgrade });
      expect([refused.status, await errorCode(refused)]).toEqual([401, "unauthorized"]);
    }
    expect(await checkLiveToken(s, jobToken, jobId)).toBe(accountId);
  });

  it("is not found for another account's campaign, by key or by token", async () => {
    const { campaign } = await campaignOf();
    const stranger = await seedAccount();
    const byKey = await call(`/ws/campaigns/${campaign.id}`, { key: stranger.key, headers: upgrade });
    expect([byKey.status, await errorCode(byKey)]).toEqual([404, "not_found"]);
    const minted = await call(`/api/v1/campaigns/${campaign.id}/live-token`, { method: "POST", key: stranger.key });
    expect([minted.status, await errorCode(minted)]).toEqual([404, "not_found"]);
    // A token the stranger's key minted naming this campaign: the campaign is not in its account.
    const forged = (await mintLiveToken(s, { accountId: stranger.accountId, actor: stranger.keyId }, { campaignId: campaign.id, holder: { key: stranger.keyId } })).token;
    const byToken = await call(`/ws/campaigns/${campaign.id}?token=${encodeURIComponent(forged)}`, { headers: upgrade });
    expect([byToken.status, await errorCode(byToken)]).toEqual([404, "not_found"]);
  });

  it("refuses a request with no upgrade, no credentials, or a bad token", async () => {
    const { key, campaign } = await campaignOf();
    const plain = await call(`/ws/campaigns/${campaign.id}`, { key });
    expect([plain.status, await errorCode(plain)]).toEqual([400, "bad_request"]);
    const anonymous = await call(`/ws/campaigns/${campaign.id}`, { headers: upgrade });
    expect([anonymous.status, await errorCode(anonymous)]).toEqual([401, "unauthorized"]);
    const garbage = await call(`/ws/campaigns/${campaign.id}?token=not-a-token`, { headers: upgrade });
    expect([garbage.status, await errorCode(garbage)]).toEqual([401, "unauthorized"]);
  });
});
