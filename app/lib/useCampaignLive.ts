// A campaign's live state over its WebSocket (/ws/campaigns/:id, core/live.ts CampaignLiveMessage).
// Reconnects by itself after a drop, with backoff and a fresh live token, until the campaign ends.
// What it shows is the newest of what the socket said and what the page's loader read (after an
// action of the page, the loader may know first).
import { useEffect, useRef, useState } from "react";
import { compareCampaignProgress, isCampaignTerminal, type CampaignLiveMessage, type CampaignProgress } from "../../core/live.ts";
import type { LiveState } from "./useJobLive.ts";

const MAX_BACKOFF_MS = 10_000;

const newest = (a: CampaignProgress, b: CampaignProgress) => (compareCampaignProgress(a, b) >= 0 ? a : b);

export function useCampaignLive(initial: CampaignProgress, token: string): { campaign: CampaignProgress; state: LiveState } {
  const [heard, setHeard] = useState<CampaignProgress>(initial);
  const [state, setState] = useState<LiveState>(isCampaignTerminal(initial.status) ? "done" : "connecting");
  const tokenRef = useRef(token);
  tokenRef.current = token;

  useEffect(() => {
    if (isCampaignTerminal(initial.status)) {
      setState("done");
      return;
    }
    let socket: WebSocket | null = null;
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const freshToken = async () => {
      const res = await fetch(`/campaigns/${initial.id}/live-token`, { method: "POST", headers: { accept: "application/json" } });
      if (res.ok) tokenRef.current = ((await res.json()) as { token: string }).token;
    };

    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/ws/campaigns/${initial.id}?token=${encodeURIComponent(tokenRef.current)}`);
      socket.onopen = () => {
        attempt = 0;
        setState("live");
      };
      socket.onmessage = (event) => {
        const msg = JSON.parse(String(event.data)) as CampaignLiveMessage;
        // A reconnect's first message may be older than what we have: keep the newest.
        setHeard((h) => newest(msg.campaign, h));
        if (isCampaignTerminal(msg.campaign.status)) {
          stopped = true;
          setState("done");
          socket?.close(1000, "campaign finished");
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        setState("reconnecting");
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt++);
        timer = setTimeout(() => {
          // The token lives 5 minutes; a reconnect always asks for a new one.
          freshToken().catch(() => {}).finally(() => !stopped && connect());
        }, delay);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000, "page left");
    };
  }, [initial.id, initial.status]);

  // What the socket said of another campaign (the page moved on to a new id) is no news of this one.
  const campaign = heard.id === initial.id ? newest(initial, heard) : initial;
  return { campaign, state: isCampaignTerminal(campaign.status) ? "done" : state };
}
