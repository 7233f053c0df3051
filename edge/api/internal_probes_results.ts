// POST /internal/probes/results: a probe's signed result chunk (probe/outbox.ts sends it).
// Idempotent: a repeated chunk changes nothing and still answers 200, so the probe's outbox can
// let it go. Progress goes to the job's JobHub; a batch's final chunk frees its probe for more.
import type { Hono } from "hono";
import { ResultChunkSchema } from "../../core/contracts.ts";
import { settleJob } from "../services/credits.ts";
import { dispatchPending } from "../services/dispatch.ts";
import { applyResultChunk } from "../services/results.ts";
import type { AppEnv } from "./app.ts";
import { readSignedJson } from "./signed.ts";

const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export function registerProbeResults(app: Hono<AppEnv>): void {
  app.post("/internal/probes/results", async (c) => {
    const chunk = await readSignedJson(c, ResultChunkSchema, MAX_CHUNK_BYTES);
    const s = c.var.services;
    const outcome = await applyResultChunk(s.db, chunk);
    if (outcome.finished) await settleJob(s.db, chunk.job_id);
    if (outcome.job && (outcome.applied > 0 || outcome.finished)) {
      // processed only grows, so it orders updates for the hub; a replay carries an old value.
      s.waitUntil(s.hub(chunk.job_id).update(outcome.job, chunk.results, outcome.job.processed));
    }
    if (outcome.batchDone) s.waitUntil(dispatchPending(s));
    return c.json({ applied: outcome.applied, requeued: outcome.requeued });
  });
}
