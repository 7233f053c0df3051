// /api/v1/campaigns and the probes' /internal/probes/sends/* inside workerd: the happy path from a
// draft to a completed campaign (with its signed campaign.completed delivered to a loopback
// receiver), the errors, and tenancy (another account's campaign, job, sender or template is 404).
// Calls pass `env` so each answer comes back once its background work (the audience's steps, a
// webhook's first attempt) is done. No dispatcher is configured here: send batches stay pending
// until a test hands one to a probe itself.
import { env } from "cloudflare:test";
import { asc, eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, errorCode, seedAccount, testServices } from "../testing.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import type { ReceivedWebhook } from "../../e2e/standin-receiver.ts";
import { auditLog, jobs, sendBatches, senders } from "../../db/schema.ts";
import { CampaignViewSchema, type CampaignView, type RecipientView } from "../campaigns/views.ts";
import { SAMPLE_CAMPAIGN } from "../../core/samples.ts";
import { seedWorld, type World } from "../campaigns/testing.ts";

const s = testServices();
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "content-type": "application/json" } });
const api = (key: string, path: string, init: RequestInit = {}) => call(path, { ...init, key, env });
const consent = { basis: "opt_in", source: "Sign-up form on example.com, double opt-in" };

async function signed(path: string, body: unknown, secret = env.PROBE_SECRET) {
  const text = JSON.stringify(body);
  return call(path, { method: "POST", body: text, env, headers: { [SIGNATURE_HEADER]: await sign(secret, { method: "POST", path }, text) } });
}

async function account(): Promise<{ key: string; keyId: string; w: World }> {
  const { accountId, key, keyId } = await seedAccount();
  return { key, keyId, w: await seedWorld(s, { accountId }) };
}

const draft = (w: World, extra: Record<string, unknown> = {}) => ({ name: "March news", job_id: w.jobId, sender_id: w.senderId, template_id: w.templateId, consent, ...extra });

async function create(key: string, body: unknown): Promise<CampaignView> {
  const res = await api(key, "/api/v1/campaigns", { method: "POST", ...json(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as CampaignView;
}

const post = (key: string, id: string, verb: string) => api(key, `/api/v1/campaigns/${id}/${verb}`, { method: "POST" });
const get = async (key: string, id: string) => (await (await api(key, `/api/v1/campaigns/${id}`)).json()) as CampaignView;
type Page<T> = { data: T[]; next_cursor: string | null };

describe("/api/v1/campaigns", () => {
  it("makes a draft with its consent audited, starts it, prepares its audience, and pauses, resumes and cancels it", async () => {
    const { key, keyId, w } = await account();
    const made = await create(key, draft(w, { rate_per_hour: 5_000, send_at: null }));
    expect(CampaignViewSchema.parse(made)).toMatchObject({
      id: expect.stringMatching(/^cmp_/), name: "March news", status: "draft", status_reason: null, job_id: w.jobId, sender_id: w.senderId, template_id: w.templateId,
      include_risky: false, send_at: null, rate_per_hour: 5_000, consent, created_by: keyId, started_at: null,
      counts: { audience: 0, sent: 0, failed: 0, suppressed: 0, skipped_unverified: 0, unsubscribed: 0, bounced: 0, unknown_outcome: 0 },
    });
    const [audited] = await s.db.select().from(auditLog).where(eq(auditLog.target, made.id));
    expect(audited).toMatchObject({ accountId: w.accountId, actor: keyId, action: "campaign.created" });
    expect(JSON.parse(audited!.detail!)).toEqual({ name: "March news", job_id: w.jobId, consent });

    const started = await post(key, made.id, "start");
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ status: "sending", started_at: expect.any(String) });
    // The audience was prepared after the answer: every row of the job is counted once.
    expect((await get(key, made.id)).counts).toEqual({ audience: 3, sent: 0, failed: 0, suppressed: 1, skipped_unverified: 5, unsubscribed: 0, bounced: 0, unknown_outcome: 0 });

    const page = (await (await api(key, `/api/v1/campaigns/${made.id}/recipients?status=queued&limit=2`)).json()) as Page<RecipientView>;
    expect(page.data.map((r) => [r.email, r.status, r.verdict, r.reason, r.relay_id, r.reply])).toEqual([
      ["Ada@X.test", "queued", "deliverable", "accepted", null, null],
      ["bob@x.test", "queued", "deliverable", "accepted", null, null],
    ]);
    const next = (await (await api(key, `/api/v1/campaigns/${made.id}/recipients?status=queued&limit=2&cursor=${page.next_cursor}`)).json()) as Page<RecipientView>;
    expect([next.data.map((r) => r.email), next.next_cursor]).toEqual([["fay@x.test"], null]);
    expect(((await (await api(key, `/api/v1/campaigns/${made.id}/recipients?status=sent`)).json()) as Page<RecipientView>).data).toEqual([]);

    expect(await (await post(key, made.id, "pause")).json()).toMatchObject({ status: "paused", status_reason: `paused by ${keyId}` });
    expect(await (await post(key, made.id, "pause")).json()).toMatchObject({ status: "paused" });
    expect(await (await post(key, made.id, "resume")).json()).toMatchObject({ status: "sending", status_reason: null });
    const again = await post(key, made.id, "resume");
    expect([again.status, await errorCode(again)]).toEqual([409, "conflict"]);
    expect(await (await post(key, made.id, "cancel")).json()).toMatchObject({ status: "canceled", finished_at: expect.any(String) });
    expect(await (await post(key, made.id, "cancel")).json()).toMatchObject({ status: "canceled" });
    const restart = await post(key, made.id, "start");
    expect([restart.status, await errorCode(restart)]).toEqual([409, "conflict"]);
    const canceled = (await (await api(key, `/api/v1/campaigns/${made.id}/recipients`)).json()) as Page<RecipientView>;
    expect(canceled.data.map((r) => r.status)).toEqual(["canceled", "canceled", "canceled"]);
    const actions = (await s.db.select().from(auditLog).where(eq(auditLog.target, made.id)).orderBy(asc(auditLog.id))).map((a) => a.action);
    expect(actions).toEqual(["campaign.created", "campaign.started", "campaign.paused", "campaign.resumed", "campaign.canceled"]);
  });

  it("lists the account's campaigns newest first, by cursor", async () => {
    const { key, w } = await account();
    const first = await create(key, draft(w, { name: "one" }));
    const second = await create(key, draft(w, { name: "two" }));
    const page = (await (await api(key, "/api/v1/campaigns?limit=1")).json()) as Page<CampaignView>;
    expect(page.data.map((c) => c.id)).toEqual([second.id]);
    const rest = (await (await api(key, `/api/v1/campaigns?limit=1&cursor=${page.next_cursor}`)).json()) as Page<CampaignView>;
    expect(rest.data.map((c) => c.id)).toEqual([first.id]);
    const bad = await api(key, "/api/v1/campaigns?cursor=nope");
    expect([bad.status, await errorCode(bad)]).toEqual([400, "validation_failed"]);
  });

  it("waits in verifying for a running job and in scheduled for send_at", async () => {
    const { key, w } = await account();
    await s.db.update(jobs).set({ status: "running" }).where(eq(jobs.id, w.jobId));
    const verifying = await create(key, draft(w));
    expect(await (await post(key, verifying.id, "start")).json()).toMatchObject({ status: "verifying", started_at: null });
    await s.db.update(jobs).set({ status: "completed" }).where(eq(jobs.id, w.jobId));
    const later = await create(key, draft(w, { send_at: "2999-01-01T00:00:00Z" }));
    expect(later.send_at).toBe("2999-01-01T00:00:00.000Z");
    expect(await (await post(key, later.id, "start")).json()).toMatchObject({ status: "scheduled", counts: { audience: 0 } });
  });

  it("refuses bad input with a coded error and changes nothing", async () => {
    const { key, w } = await account();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...draft(w), consent: undefined }, 400, "validation_failed"],
      [draft(w, { consent: { basis: "opt_in", source: "" } }), 400, "validation_failed"],
      [draft(w, { consent: { basis: "opt_in", source: "x".repeat(501) } }), 400, "validation_failed"],
      [draft(w, { consent: { basis: "bought_it", source: "a broker" } }), 400, "validation_failed"],
      [draft(w, { send_at: "tomorrow" }), 400, "validation_failed"],
      [draft(w, { rate_per_hour: 0 }), 400, "validation_failed"],
      [draft(w, { job_id: "job_missing" }), 404, "not_found"],
      [draft(w, { sender_id: "snd_missing" }), 404, "not_found"],
      [draft(w, { template_id: "tpl_missing" }), 404, "not_found"],
    ];
    for (const [body, status, code] of cases) {
      const res = await api(key, "/api/v1/campaigns", { method: "POST", ...json(body) });
      expect([res.status, await errorCode(res)], JSON.stringify(body).slice(0, 120)).toEqual([status, code]);
    }
    await s.db.update(jobs).set({ kind: "find" }).where(eq(jobs.id, w.jobId));
    const find = await api(key, "/api/v1/campaigns", { method: "POST", ...json(draft(w)) });
    expect([find.status, await errorCode(find)]).toEqual([400, "validation_failed"]);
    await s.db.update(jobs).set({ kind: "verify", status: "failed" }).where(eq(jobs.id, w.jobId));
    const failed = await api(key, "/api/v1/campaigns", { method: "POST", ...json(draft(w)) });
    expect([failed.status, await errorCode(failed)]).toEqual([409, "conflict"]);
    expect(((await (await api(key, "/api/v1/campaigns")).json()) as Page<CampaignView>).data).toEqual([]);
  });

  it("starts only with a confirmed sender", async () => {
    const { key, w } = await account();
    await s.db.update(senders).set({ confirmedAt: null }).where(eq(senders.id, w.senderId));
    const made = await create(key, draft(w));
    const res = await post(key, made.id, "start");
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "sender_not_confirmed", message: expect.stringContaining("news@sender.test") });
    expect((await get(key, made.id)).status).toBe("draft");
  });

  it("keeps each account's campaigns its own: another account's campaign, job, sender or template is 404", async () => {
    const owner = await account();
    const other = await account();
    const made = await create(owner.key, draft(owner.w));
    const attempts: [string, string][] = [
      ["GET", `/api/v1/campaigns/${made.id}`],
      ["GET", `/api/v1/campaigns/${made.id}/recipients`],
      ["POST", `/api/v1/campaigns/${made.id}/start`],
      ["POST", `/api/v1/campaigns/${made.id}/pause`],
      ["POST", `/api/v1/campaigns/${made.id}/resume`],
      ["POST", `/api/v1/campaigns/${made.id}/cancel`],
    ];
    for (const [method, path] of attempts) {
      const res = await api(other.key, path, { method });
      expect([res.status, await errorCode(res)], `${method} ${path}`).toEqual([404, "not_found"]);
    }
    for (const theirs of [{ job_id: owner.w.jobId }, { sender_id: owner.w.senderId }, { template_id: owner.w.templateId }]) {
      const res = await api(other.key, "/api/v1/campaigns", { method: "POST", ...json(draft(other.w, theirs)) });
      expect([res.status, await errorCode(res)], JSON.stringify(theirs)).toEqual([404, "not_found"]);
    }
    expect(((await (await api(other.key, "/api/v1/campaigns")).json()) as Page<CampaignView>).data).toEqual([]);
    expect((await get(owner.key, made.id)).status).toBe("draft");
  });
});

describe("/internal/probes/sends/*", () => {
  it("claims and records for a signed probe, completes the campaign, and delivers campaign.completed with the campaign as its data", async () => {
    const { key, w } = await account();
    const path = `/campaign-done/${crypto.randomUUID()}`;
    const hook = (await (await api(key, "/api/v1/webhooks", { method: "POST", ...json({ url: `${env.STANDIN_RECEIVER_URL}${path}`, events: ["campaign.completed"] }) })).json()) as { secret: string };
    const made = await create(key, draft(w));
    await post(key, made.id, "start");
    const recipients = ((await (await api(key, `/api/v1/campaigns/${made.id}/recipients`)).json()) as Page<RecipientView>).data;
    const ids = recipients.map((r) => r.id);
    const [batch] = await s.db.select().from(sendBatches).where(eq(sendBatches.campaignId, made.id));
    // As dispatch would: out to prb_t, first attempt.
    await s.db.update(sendBatches).set({ status: "dispatched", probeId: "prb_t", attempts: 1, leaseExpiresAt: Date.now() + 60_000 }).where(eq(sendBatches.id, batch!.id));
    const claim = { probe_id: "prb_t", batch_id: batch!.id, campaign_id: made.id, attempt: 1, ids };

    const unsigned = await call("/internal/probes/sends/claim", { method: "POST", body: JSON.stringify(claim), env });
    expect([unsigned.status, await errorCode(unsigned)]).toEqual([401, "bad_signature"]);
    const forged = await signed("/internal/probes/sends/claim", claim, "not-the-probe-secret-at-all");
    expect([forged.status, await errorCode(forged)]).toEqual([401, "bad_signature"]);
    const shape = await signed("/internal/probes/sends/claim", { ...claim, ids: [] });
    expect([shape.status, await errorCode(shape)]).toEqual([400, "validation_failed"]);
    expect(await (await signed("/internal/probes/sends/claim", claim)).json()).toEqual({ claimed: ids, stop: null });
    expect(await (await signed("/internal/probes/sends/claim", claim)).json()).toEqual({ claimed: [], stop: null });

    const results = {
      kind: "send", probe_id: "prb_t", batch_id: batch!.id, campaign_id: made.id, attempt: 1, seq: 0, final: true,
      outcomes: ids.map((id, i) => ({ id, status: i === 2 ? "failed" : "sent", relay_id: w.relayIds[0], queue_id: i === 2 ? null : `Q${i}`, reply: { code: i === 2 ? 550 : 250, enhanced: null, message: i === 2 ? "rejected" : "queued" } })),
    };
    const first = await signed("/internal/probes/sends/results", results);
    expect([first.status, await first.json()]).toEqual([200, { applied: 3, paused: false, closed: true }]);
    const repeat = await signed("/internal/probes/sends/results", results);
    expect([repeat.status, await repeat.json()]).toEqual([200, { applied: 0, paused: false, closed: false }]);

    const done = await get(key, made.id);
    expect(done).toMatchObject({ status: "completed", finished_at: expect.any(String), counts: { audience: 3, sent: 2, failed: 1, unknown_outcome: 0, suppressed: 1, skipped_unverified: 5 } });
    const sent = ((await (await api(key, `/api/v1/campaigns/${made.id}/recipients?status=sent`)).json()) as Page<RecipientView>).data;
    expect(sent.map((r) => [r.email, r.relay_id, r.queue_id, r.reply?.code])).toEqual([["Ada@X.test", w.relayIds[0], "Q0", 250], ["bob@x.test", w.relayIds[0], "Q1", 250]]);

    const got = (await (await fetch(`${env.STANDIN_RECEIVER_URL}/_log?prefix=${encodeURIComponent(path)}`)).json()) as ReceivedWebhook[];
    expect(got).toHaveLength(1);
    const event = new Webhook(hook.secret).verify(got[0]!.body, got[0]!.headers) as { type: string; data: CampaignView };
    expect(event.type).toBe("campaign.completed");
    expect(event.data).toEqual(done);

    // What Zapier's editor shows: this completed campaign; for an account with none, the sample.
    expect(await (await api(key, "/api/v1/hooks/samples?event=campaign.completed")).json()).toEqual([done]);
    const fresh = await seedAccount();
    expect(await (await api(fresh.key, "/api/v1/hooks/samples?event=campaign.completed")).json()).toEqual([CampaignViewSchema.parse(SAMPLE_CAMPAIGN)]);
  });
});
