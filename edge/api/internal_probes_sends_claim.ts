// POST /internal/probes/sends/claim: before handing a group of messages to a relay, a probe claims
// their recipients (edge/campaigns/claims.ts) and sends only the ids it is answered; `stop` says
// why it must send nothing more of the batch (paused, canceled, superseded by a later dispatch).
// Signed with the probe secret. No nonce: a replayed claim claims nothing more (a recipient leaves
// `queued` once).
import type { Hono } from "hono";
import { SendClaimSchema, type SendClaimAnswer } from "../../core/contracts.ts";
import { afterCommit } from "../aftercommit.ts";
import { claimSends } from "../campaigns/claims.ts";
import type { AppEnv } from "./app.ts";
import { readSignedJson } from "./signed.ts";

export const MAX_CLAIM_BYTES = 64 * 1024;

export function registerProbeSendsClaim(app: Hono<AppEnv>): void {
  app.post("/internal/probes/sends/claim", async (c) => {
    const claim = await readSignedJson(c, SendClaimSchema, MAX_CLAIM_BYTES);
    const s = c.var.services;
    // One campaign's claims and records take turns with each other at the database.
    s.setDbLane(`campaign:${claim.campaign_id}`);
    const { answer, effects } = await claimSends(s.db, claim);
    // Addresses found suppressed moved the campaign's counts: its hub hears of them.
    afterCommit(s, effects);
    return c.json(answer satisfies SendClaimAnswer);
  });
}
