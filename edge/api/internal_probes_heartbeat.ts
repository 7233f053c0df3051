// POST /internal/probes/heartbeat: a probe (probe/serve.ts) registers and stays alive. Signed
// with the probe secret, and each signature counts once (a replay is 401 `replayed`); a fresh
// heartbeat also lets waiting batches go to it. The answer lists the bounce mailboxes the probe
// reads from now on (edge/bounces/assign.ts): a probe learns of new, changed and removed ones here.
import type { Hono } from "hono";
import { HeartbeatSchema, type HeartbeatAnswer } from "../../core/contracts.ts";
import { afterCommit } from "../aftercommit.ts";
import { mailboxesForProbe } from "../bounces/assign.ts";
import { recordHeartbeat } from "../dispatch/probes.ts";
import type { AppEnv } from "./app.ts";
import { readSignedJson } from "./signed.ts";

export const MAX_HEARTBEAT_BYTES = 64 * 1024;

export function registerProbeHeartbeat(app: Hono<AppEnv>): void {
  app.post("/internal/probes/heartbeat", async (c) => {
    // Once only: a replayed heartbeat would undo a drain or keep a dead probe alive.
    const hb = await readSignedJson(c, HeartbeatSchema, MAX_HEARTBEAT_BYTES, { once: true });
    const s = c.var.services;
    afterCommit(s, await recordHeartbeat(s, hb));
    const answer: HeartbeatAnswer = { ok: true, mailboxes: await mailboxesForProbe(s, hb) };
    return c.json(answer);
  });
}
