// Why a running job's last addresses have no answer yet, in words (issue 26: the ETA froze at
// "2 s" while three addresses waited on greylisting). Pure: the page hands it its own clock.
import type { TailWaiting } from "../../core/contracts.ts";

/** No new answer for this long, and nobody said why: the page says what is left instead of an ETA. */
export const STALLED_AFTER_MS = 5_000;

const addresses = (n: number) => `${n.toLocaleString("en")} ${n === 1 ? "address" : "addresses"}`;

/** "in 12 s", "in 3 min", or "now" once the time has come. */
export function countdown(at: string, now: number): string {
  const s = Math.ceil((Date.parse(at) - now) / 1000);
  if (!Number.isFinite(s) || s <= 0) return "now";
  return s < 120 ? `in ${s} s` : `in ${Math.round(s / 60)} min`;
}

/**
 * What the tail waits on, or null when the estimate can stand: "3 addresses waiting on
 * greylisting, next try in 12 s", "1 address waiting on a slow mail server", or, when answers
 * stopped for STALLED_AFTER_MS with no reason given, "waiting on the last 3 addresses".
 */
export function tailText(input: { waiting: TailWaiting | undefined; left: number; movedAt: number; now: number }): string | null {
  const { waiting, left, movedAt, now } = input;
  if (left <= 0) return null;
  const parts: string[] = [];
  if (waiting?.greylisted) {
    const { count, next_try_at } = waiting.greylisted;
    const when = countdown(next_try_at, now);
    parts.push(`${addresses(count)} waiting on greylisting, ${when === "now" ? "trying again now" : `next try ${when}`}`);
  }
  if (waiting?.slow_server) parts.push(`${addresses(waiting.slow_server.count)} waiting on a slow mail server`);
  if (parts.length > 0) return parts.join("; ");
  if (now - movedAt >= STALLED_AFTER_MS) return `waiting on the last ${addresses(left)}`;
  return null;
}
