// POST /internal/probes/results: a probe's signed result chunk (probe/outbox.ts sends it).
// Idempotent: a repeated chunk changes nothing and still answers 200, so the probe's outbox can
// let it go. Progress goes to the job's JobHub.
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { ResultChunkSchema } from "../../core/contracts.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../core/signing.ts";
import { jobs } from "../../db/schema.ts";
import { createEdgeDb } from "../db.ts";
import { applyResultChunk } from "../services/results.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export function registerProbeResults(app: Hono<AppEnv>): void {
  app.post("/internal/probes/results", async (c) => {
    const body = await c.req.text();
    if (body.length > MAX_CHUNK_BYTES) throw new ApiError("payload_too_large", "A result chunk is at most 4 MiB");
    const signed = await verifySignature([c.env.PROBE_SECRET], c.req.header(SIGNATURE_HEADER), body);
    if (!signed.ok) throw new ApiError("bad_signature", `Probe signature ${signed.error}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ApiError("invalid_json", "The body is not JSON");
    }
    const parsed = ResultChunkSchema.safeParse(json);
    if (!parsed.success) throw new ApiError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const chunk = parsed.data;
    const db = createEdgeDb(c.env);
    const [owner] = await db.select({ accountId: jobs.accountId }).from(jobs).where(eq(jobs.id, chunk.job_id));
    if (!owner) throw new ApiError("not_found", `No job ${chunk.job_id}`);
    const outcome = await applyResultChunk(db, owner.accountId, chunk);
    if (outcome.job && outcome.applied > 0) {
      // processed only grows, so it orders updates for the hub; a replay carries an old value.
      const hub = c.env.JOB_HUB.get(c.env.JOB_HUB.idFromName(chunk.job_id));
      c.executionCtx.waitUntil(hub.update(outcome.job, chunk.results, outcome.job.processed));
    }
    return c.json({ applied: outcome.applied });
  });
}
