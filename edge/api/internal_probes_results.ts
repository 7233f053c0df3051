// POST /internal/probes/results: a probe's signed result chunk (probe/outbox.ts sends it).
// Idempotent: a repeated chunk changes nothing and still answers 200, so the probe's outbox can
// let it go. While the database is unreachable the answer is 503 and the outbox keeps the chunk.
import type { Hono } from "hono";
import { ResultChunkSchema } from "../../core/contracts.ts";
import { afterCommit } from "../aftercommit.ts";
import { applyResultChunk } from "../jobs/results.ts";
import type { AppEnv } from "./app.ts";
import { readSignedJson } from "./signed.ts";

export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export function registerProbeResults(app: Hono<AppEnv>): void {
  app.post("/internal/probes/results", async (c) => {
    // No nonce: a replayed chunk is a repeat, and repeats change nothing (edge/jobs/results.ts).
    const chunk = await readSignedJson(c, ResultChunkSchema, MAX_CHUNK_BYTES);
    const s = c.var.services;
    // One job's chunks take turns with each other at the database, not with everyone else.
    s.setDbLane(`job:${chunk.job_id}`);
    // Kept alive if the probe hangs up: a write the database started always finishes.
    const applying = applyResultChunk(s.db, chunk);
    s.waitUntil(applying.catch(() => undefined));
    const outcome = await applying;
    // The hub hears of the answers, a freed probe gets more work, a finished job's event goes out.
    afterCommit(s, outcome.effects);
    return c.json({ applied: outcome.applied, requeued: outcome.requeued });
  });
}
