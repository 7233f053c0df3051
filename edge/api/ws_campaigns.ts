// GET /ws/campaigns/:id: the campaign's live progress over WebSocket, through its CampaignHub
// Durable Object. Authorised as /ws/jobs/:id is: a live token minted for this campaign (?token=,
// from the API or the app's session) or an API key.
import type { Hono } from "hono";
import { campaignRow } from "../campaigns/campaigns.ts";
import { campaignProgress } from "../campaigns/progress.ts";
import { checkLiveToken } from "../identity/livetoken.ts";
import type { AppEnv } from "./app.ts";
import { requireApiKey, whoOf } from "./auth.ts";
import { ApiError } from "./errors.ts";

export function registerWsCampaigns(app: Hono<AppEnv>): void {
  app.get(
    "/ws/campaigns/:id",
    async (c, next) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ApiError("bad_request", "Expected a WebSocket upgrade");
      const token = c.req.query("token");
      if (!token) return requireApiKey(c, next);
      const accountId = await checkLiveToken(c.var.services, token, { campaignId: c.req.param("id") });
      if (!accountId) throw new ApiError("unauthorized", "The live token is invalid, expired, for another campaign, or its key or session was revoked");
      c.set("accountId", accountId);
      c.set("keyId", null);
      await next();
    },
    async (c) => {
      const { services } = c.var;
      const row = await campaignRow(services, whoOf(c), c.req.param("id"));
      const hub = services.campaignHub(row.id);
      // Seed the hub from the database so the first message is where the campaign stands even if
      // the hub has not heard of it yet (an older read is ignored).
      await hub.update(campaignProgress(row));
      return hub.fetch(c.req.raw);
    },
  );
}
