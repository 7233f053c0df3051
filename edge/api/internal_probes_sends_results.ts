// POST /internal/probes/sends/results: a probe's signed send chunk (what the relays answered for
// the recipients it claimed) through its durable outbox. Idempotent: a repeated chunk changes
// nothing and still answers 200, so the outbox can let it go (edge/campaigns/records.ts). While the
// database is unreachable the answer is 503 and the outbox keeps the chunk.
import type { Hono } from "hono";
import { SendChunkSchema } from "../../core/contracts.ts";
import { afterCommit } from "../aftercommit.ts";
import { applySendChunk } from "../campaigns/records.ts";
import type { AppEnv } from "./app.ts";
import { readSignedJson } from "./signed.ts";
import { MAX_CHUNK_BYTES } from "./internal_probes_results.ts";

export function registerProbeSendsResults(app: Hono<AppEnv>): void {
  app.post("/internal/probes/sends/results", async (c) => {
    // No nonce: a replayed chunk is a repeat, and repeats change nothing.
    const chunk = await readSignedJson(c, SendChunkSchema, MAX_CHUNK_BYTES);
    const s = c.var.services;
    s.setDbLane(`campaign:${chunk.campaign_id}`);
    // Kept alive if the probe hangs up: a write the database started always finishes.
    const applying = applySendChunk(s.db, chunk);
    s.waitUntil(applying.catch(() => undefined));
    const outcome = await applying;
    // A freed probe gets more work, the audience goes on, a completed campaign's event goes out.
    afterCommit(s, outcome.effects);
    return c.json({ applied: outcome.applied, paused: outcome.paused, closed: outcome.closed });
  });
}
