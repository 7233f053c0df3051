// The result record, built in one place from the facts of each check and the verdict they make
// (core/verdict.ts decide). The probe, the edge's ingest and the edge's give-ups all use it, so
// every record has every field, filled the same way.
import { parseAddress } from "./address.ts";
import { clip, MAX_SMTP_MESSAGE, MAX_TRACE_LINE, MAX_TRACE_LINES, type Result } from "./contracts.ts";
import { decide, type Facts, type SmtpReply } from "./verdict.ts";

export interface ResultParts {
  email: string;
  normalized: string | null;
  facts: Facts;
  suggestion?: string | null;
  mx?: string | null;
  smtp?: SmtpReply | null;
  durationMs?: number;
  /** When a greylisted address is worth asking again (Unix ms). */
  greylistedUntil?: number | null;
  trace?: string[];
}

export function buildResult(p: ResultParts): Result {
  const d = decide(p.facts);
  return {
    email: p.email,
    normalized: p.normalized,
    verdict: d.verdict,
    reason: d.reason,
    catch_all: p.facts.catchAll,
    disposable: p.facts.disposable,
    role: p.facts.role,
    free: p.facts.free,
    greylisted: d.greylisted,
    suggestion: p.suggestion ?? null,
    score: d.score,
    mx: p.mx ?? null,
    smtp: p.smtp ? { ...p.smtp, message: clip(p.smtp.message, MAX_SMTP_MESSAGE) } : null,
    duration_ms: Math.max(0, Math.round(p.durationMs ?? 0)),
    retry_after: d.greylisted && p.greylistedUntil ? new Date(p.greylistedUntil).toISOString() : null,
    ...(p.trace ? { trace: boundedTrace(p.trace) } : {}),
  };
}

/** Transcripts carry what remote servers said: bounded like every other field. */
function boundedTrace(trace: string[]): string[] {
  const kept = trace.length > MAX_TRACE_LINES ? trace.slice(0, MAX_TRACE_LINES - 1) : trace;
  const lines = kept.map((l) => clip(l, MAX_TRACE_LINE));
  if (kept.length < trace.length) lines.push(`… ${trace.length - kept.length} more lines`);
  return lines;
}

const NO_FLAGS = { disposable: false, role: false, free: false, catchAll: null } as const;

/** The result of an address that fails the syntax check: known at ingest, no probe needed. */
export function invalidSyntaxResult(email: string): Result {
  const parsed = parseAddress(email);
  const reason = parsed.ok ? "invalid_syntax" : parsed.reason;
  return buildResult({ email, normalized: null, facts: { ...NO_FLAGS, syntax: { ok: false, reason }, dns: null, smtp: null } });
}

/**
 * The answer for an address no probe finished after every dispatch: we could not tell. The edge
 * fills in `email` and `normalized` per address (it writes these in bulk).
 */
export function unansweredResult(email = "", normalized: string | null = null): Result {
  return buildResult({
    email,
    normalized,
    facts: { ...NO_FLAGS, syntax: { ok: true }, dns: { kind: "mx", hosts: [] }, smtp: { kind: "timeout", mx: null, phase: "dispatch" } },
  });
}
