// A job's live state over its WebSocket (/ws/jobs/:id, core/live.ts messages). Reconnects by
// itself after a drop, with backoff and a fresh live token, until the job reaches an end.
import { useEffect, useRef, useState } from "react";
import type { TailWaiting } from "../../core/contracts.ts";
import { isTerminal, LATEST_RESULTS, type JobProgress, type LatestRow, type LiveMessage } from "../../core/live.ts";

export type LiveState = "connecting" | "live" | "reconnecting" | "done";
const MAX_BACKOFF_MS = 10_000;

export interface JobLive {
  job: JobProgress;
  latest: LatestRow[];
  ratePerS: number | null;
  etaS: number | null;
  state: LiveState;
  /** What the unanswered addresses wait on, as the job's hub last said (undefined: not known). */
  waiting: TailWaiting | undefined;
  /** When (the page's clock, ms) the count of answers last moved, or the page started. */
  movedAt: number;
}

export function useJobLive(initial: JobProgress, initialLatest: LatestRow[], token: string): JobLive {
  const [live, setLive] = useState<JobLive>(() => ({ job: initial, latest: initialLatest, ratePerS: null, etaS: null, state: isTerminal(initial.status) ? "done" : "connecting", waiting: undefined, movedAt: Date.now() }));
  const tokenRef = useRef(token);

  useEffect(() => {
    if (isTerminal(initial.status)) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const freshToken = async () => {
      const res = await fetch(`/jobs/${initial.id}/live-token`, { method: "POST", headers: { accept: "application/json" } });
      if (res.ok) tokenRef.current = ((await res.json()) as { token: string }).token;
    };

    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/${initial.id}?token=${encodeURIComponent(tokenRef.current)}`);
      socket.onopen = () => {
        attempt = 0;
        setLive((l) => ({ ...l, state: "live" }));
      };
      socket.onmessage = (event) => {
        const msg = JSON.parse(String(event.data)) as LiveMessage;
        setLive((l) => {
          // A reconnect's snapshot may be older than what we have; progress only moves forward.
          const job = msg.job.processed >= l.job.processed || isTerminal(msg.job.status) ? msg.job : l.job;
          // A snapshot repeats what the page already shows (from the loader or before a drop), and
          // a message just after it may repeat the snapshot. A find's row without an address has
          // nothing to tell it by: a snapshot's are taken only when the page shows nothing yet.
          const shown = new Set(l.latest.map((k) => k.email));
          const fresh = msg.latest.filter((r) => (r.email === null ? msg.type !== "snapshot" || l.latest.length === 0 : !shown.has(r.email)));
          const latest = [...fresh, ...l.latest].slice(0, LATEST_RESULTS);
          const done = isTerminal(job.status);
          return {
            job,
            latest,
            ratePerS: msg.type === "progress" ? msg.rate_per_s : l.ratePerS,
            etaS: done ? 0 : msg.type === "progress" ? msg.eta_s : l.etaS,
            state: done ? "done" : "live",
            waiting: msg.type === "completed" ? undefined : (msg.waiting ?? l.waiting),
            movedAt: job.processed > l.job.processed ? Date.now() : l.movedAt,
          };
        });
        if (isTerminal(msg.job.status)) {
          stopped = true;
          socket?.close(1000, "job finished");
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        setLive((l) => ({ ...l, state: "reconnecting" }));
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

  return live;
}
