// A moment as people say it, to the second ("in 42 s", "5 min 3 s ago"), with the exact time in
// its title; it counts on in the browser (issue 26: a next attempt shown only to the minute, a
// probe's last heartbeat). The server renders it at its own clock's now, passed in by the loader,
// so the first render in the browser matches.
import { useEffect, useState } from "react";

/** A duration in words, to the second below an hour. */
export function durationWords(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
  return `${Math.floor(s / 86_400)} d`;
}

/** "in 42 s" for a moment ahead, "42 s ago" for one past, "now" within the second. */
export function relativeWords(at: number, now: number): string {
  const d = at - now;
  if (Math.abs(d) < 1000) return "now";
  return d > 0 ? `in ${durationWords(d)}` : `${durationWords(-d)} ago`;
}

/** The moment relative to now, ticking each second; `now` is the loader's clock at render; `due` replaces a moment to come once it has passed. */
export function RelativeTime({ at, now, prefix = "", due }: { at: number | string; now: number; prefix?: string; due?: string }) {
  const t = typeof at === "string" ? Date.parse(at) : at;
  const [clock, setClock] = useState(now);
  useEffect(() => {
    // The browser's clock from here on, offset by how far it is from the server's.
    const skew = now - Date.now();
    setClock(Date.now() + skew);
    const timer = setInterval(() => setClock(Date.now() + skew), 1000);
    return () => clearInterval(timer);
  }, [now]);
  const iso = new Date(t).toISOString();
  // A moment that was to come and has passed (a retry the sweeper has yet to pick up) reads as `due`.
  return <time dateTime={iso} title={iso}>{due !== undefined && t <= clock ? due : `${prefix}${relativeWords(t, clock)}`}</time>;
}
