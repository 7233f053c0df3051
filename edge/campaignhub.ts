// One Durable Object per campaign, as the JobHub is per job: `fetch` only accepts the WebSocket
// and sends where the campaign stands; producers (afterCommit, and /ws/campaigns/:id seeding it
// from the database) call the idempotent `update` RPC; messages are coalesced to
// PROGRESS_INTERVAL_MS, and a move to an end goes out at once. A class of its own rather than a
// second family of the JobHub's messages: the two hold different state and order it differently,
// and a job's socket stays exactly as it was.
import { compareCampaignProgress, isCampaignTerminal, PROGRESS_INTERVAL_MS, type CampaignLiveMessage, type CampaignProgress } from "../core/live.ts";
import { LiveHub } from "./livehub.ts";

export class CampaignHub extends LiveHub<CampaignLiveMessage> {
  private campaign: CampaignProgress | null = null;
  private lastSentAt = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  private async load(): Promise<CampaignProgress | null> {
    this.campaign ??= (await this.ctx.storage.get<CampaignProgress>("campaign")) ?? null;
    return this.campaign;
  }

  override async fetch(request: Request): Promise<Response> {
    return this.accept(request, async () => {
      const campaign = await this.load();
      return campaign ? { type: "campaign", campaign } : null;
    });
  }

  /**
   * Producers' entry: a read of the campaign newer than what the hub holds replaces it (see
   * compareCampaignProgress); an older or repeated one changes nothing, so updates may arrive in
   * any order and twice.
   */
  async update(campaign: CampaignProgress): Promise<void> {
    const held = await this.load();
    if (held && compareCampaignProgress(campaign, held) <= 0) return;
    this.campaign = campaign;
    await this.ctx.storage.put("campaign", campaign);
    if (isCampaignTerminal(campaign.status)) {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      this.flush();
      return;
    }
    if (this.flushTimer) return; // a flush is due: it will carry this state
    const wait = Math.max(0, this.lastSentAt + PROGRESS_INTERVAL_MS - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.flushTimer = null;
    if (!this.campaign) return;
    this.lastSentAt = Date.now();
    this.broadcast({ type: "campaign", campaign: this.campaign });
  }
}
