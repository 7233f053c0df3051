// POST /internal/probes/bounces: what a probe read from a bounce mailbox (core/contracts.ts
// MailboxReport), signed as results are. Idempotent: a repeated report writes nothing twice (the
// bounces' dedupe keys, a cursor that only moves forward) and gets the same uids back, so the
// probe may send it again after a lost answer. A report from a probe that no longer holds the
// mailbox is answered `stale` and changes nothing (edge/bounces/intake.ts).
import type { Hono } from "hono";
import { MAX_BOUNCE_RAW, MAX_MAILBOX_REPORT, MailboxReportSchema, type MailboxReportAnswer } from "../../core/contracts.ts";
import { receiveReport } from "../bounces/intake.ts";
import type { AppEnv } from "./app.ts";
import { readSignedJson } from "./signed.ts";

/**
 * A full report's body: each message's raw text (up to MAX_BOUNCE_RAW characters, at most 3
 * UTF-8 bytes each, as JSON escapes of a mostly ASCII message add less) and 32 KiB for its
 * headers and report lines. About 12.5 MiB.
 */
export const MAX_REPORT_BYTES = MAX_MAILBOX_REPORT * (3 * MAX_BOUNCE_RAW + 32 * 1024);

export function registerProbeBounces(app: Hono<AppEnv>): void {
  app.post("/internal/probes/bounces", async (c) => {
    // No nonce: a replayed report is a repeat, and repeats change nothing.
    const report = await readSignedJson(c, MailboxReportSchema, MAX_REPORT_BYTES);
    const s = c.var.services;
    // One mailbox's reports take turns with each other at the database.
    s.setDbLane(`mailbox:${report.mailbox_id}`);
    // Kept alive if the probe hangs up: a write the database started always finishes.
    const applying = receiveReport(s, report, report.probe_id);
    s.waitUntil(applying.catch(() => undefined));
    const answer: MailboxReportAnswer = await applying;
    return c.json(answer);
  });
}
