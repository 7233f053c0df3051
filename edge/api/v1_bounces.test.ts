// /api/v1/bounces, /api/v1/bounce-settings and /api/v1/account/accuracy inside workerd: report a
// bounce (201, then 200 for a repeat), read and list them, change the soft-bounce settings; the
// job's results and the campaign's recipients show what a bounce did; and one account never
// reading, reporting against or seeing another's.
import { and, eq } from "drizzle-orm";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { auditLog, bounces, campaigns, jobs } from "../../db/schema.ts";
import { lastMonths } from "../bounces/accuracy.ts";
import { dsn, mailboxReport, READER_PROBE, seedBounceWorld, VERIFIED_MX } from "../bounces/testing.ts";
import { receiveReport } from "../bounces/intake.ts";
import { call, errorCode, testDb, testServices } from "../testing.ts";

interface Bounce {
  id: string;
  email: string;
  kind: string;
  category: string | null;
  status: string | null;
  source: string;
  campaign_id: string | null;
  recipient_id: number | null;
  refunded_job_id: string | null;
  occurred_at: string;
}

const post = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  call("/api/v1/bounces", { method: "POST", key, body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });

describe("/api/v1/bounces", () => {
  it("stores a reported bounce and applies it: 201, then 200 with the same bounce for a repeat; an Idempotency-Key reused for another bounce is 409", async () => {
    const w = await seedBounceWorld();
    const at = new Date(Date.now() - 60_000).toISOString();
    const body = { email: "Ada@X.test", kind: "hard", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 user unknown", campaign_id: w.campaignId, occurred_at: at };
    const made = await post(w.key, body);
    expect(made.status).toBe(201);
    const bounce = (await made.json()) as Bounce;
    expect(bounce).toEqual({
      id: expect.stringMatching(/^bnc_/), email: "ada@x.test", kind: "hard", category: "mailbox", action: null, status: "5.1.1", diagnostic: body.diagnostic, remote_mta: null,
      source: "api", campaign_id: w.campaignId, recipient_id: w.recipients.get("ada@x.test")!.id, mailbox_id: null, refunded_job_id: w.jobId, occurred_at: at, created_at: expect.any(String),
    });
    const again = await post(w.key, { ...body, email: "ada@x.test" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(bounce);

    // Keyed: the key decides, and the same key for another bounce is refused.
    const keyed = { "idempotency-key": "ses-0f8fad5b" };
    const soft = { email: "bob@x.test", kind: "soft", status: "4.2.2", occurred_at: at };
    const first = await post(w.key, soft, keyed);
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as Bounce;
    expect(firstBody).toMatchObject({ kind: "soft", category: "mailbox_full", campaign_id: null, refunded_job_id: null });
    expect((await post(w.key, soft, keyed)).status).toBe(200);
    const reused = await post(w.key, { ...soft, kind: "hard" }, keyed);
    expect([reused.status, await errorCode(reused)]).toEqual([409, "conflict"]);

    const complaint = await post(w.key, { email: "cay@x.test", kind: "complaint", occurred_at: at });
    expect(((await complaint.json()) as Bounce).category).toBeNull();
    expect(await testDb().select({ id: bounces.id }).from(bounces).where(eq(bounces.accountId, w.accountId))).toHaveLength(3);
  });

  it("refuses what is not a bounce: bad address, status, kind, date, a future date, another account's campaign", async () => {
    const w = await seedBounceWorld();
    const other = await seedBounceWorld();
    const ok = { email: "ada@x.test", kind: "hard", occurred_at: new Date().toISOString() };
    for (const bad of [
      { ...ok, email: "not an address" },
      { ...ok, status: "5.1" },
      { ...ok, status: "550" },
      { ...ok, kind: "unclassified" },
      { ...ok, occurred_at: "yesterday" },
      { ...ok, occurred_at: new Date(Date.now() + 3 * 86_400_000).toISOString() },
      { email: "ada@x.test", kind: "hard" },
    ]) {
      const res = await post(w.key, bad);
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }
    const foreign = await post(w.key, { ...ok, campaign_id: other.campaignId });
    expect([foreign.status, await errorCode(foreign)]).toEqual([404, "not_found"]);
    expect(await testDb().select().from(bounces).where(eq(bounces.accountId, w.accountId))).toEqual([]);
    expect(await testDb().select().from(bounces).where(eq(bounces.accountId, other.accountId))).toEqual([]);
  });

  it("lists newest first with filters, reads one with the message and the verification, and hides another account's", async () => {
    const w = await seedBounceWorld();
    const other = await seedBounceWorld();
    // Stored a second before the posted one, so "newest first" has one answer.
    await receiveReport(testServices(), mailboxReport(w, [dsn(7, w.recipients.get("ada@x.test")!.token, "ada@x.test")]), READER_PROBE, Date.now() - 1_000);
    const posted = (await (await post(w.key, { email: "bob@x.test", kind: "soft", occurred_at: new Date().toISOString() })).json()) as Bounce;
    await post(other.key, { email: "ada@x.test", kind: "hard", occurred_at: new Date().toISOString() });

    const page = (q: string) => call(`/api/v1/bounces${q}`, { key: w.key }).then(async (r) => (await r.json()) as { data: Bounce[]; next_cursor: string | null });
    const all = await page("");
    expect(all.data.map((b) => [b.email, b.source])).toEqual([["bob@x.test", "api"], ["ada@x.test", "imap"]]);
    const first = await page("?limit=1");
    expect(first.data.map((b) => b.id)).toEqual([posted.id]);
    expect((await page(`?limit=1&cursor=${encodeURIComponent(first.next_cursor!)}`)).data.map((b) => b.email)).toEqual(["ada@x.test"]);
    expect((await page("?email=ADA@x.test")).data.map((b) => b.kind)).toEqual(["hard"]);
    expect((await page("?kind=soft")).data.map((b) => b.email)).toEqual(["bob@x.test"]);
    expect((await page(`?campaign_id=${w.campaignId}`)).data.map((b) => b.email)).toEqual(["ada@x.test"]);
    const bad = await call("/api/v1/bounces?kind=bouncy", { key: w.key });
    expect(bad.status).toBe(400);

    const ada = all.data[1]!;
    const detail = await call(`/api/v1/bounces/${ada.id}`, { key: w.key });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({
      id: ada.id, raw: expect.stringContaining("report-type=delivery-status"), raw_truncated: false, refunded_job_id: w.jobId,
      verification: { job_id: w.jobId, verdict: "deliverable", reason: "accepted", mx: VERIFIED_MX, smtp: { code: 250, enhanced: "2.1.5", message: "Ok" }, verified_at: expect.any(String) },
    });
    expect(((await (await call(`/api/v1/bounces/${posted.id}`, { key: w.key })).json()) as { raw: null; verification: null })).toMatchObject({ raw: null, verification: null });

    // Another account's bounce is not found, and not listed.
    const theirs = (await (await call("/api/v1/bounces", { key: other.key })).json()) as { data: Bounce[] };
    expect(theirs.data).toHaveLength(1);
    const hidden = await call(`/api/v1/bounces/${theirs.data[0]!.id}`, { key: w.key });
    expect([hidden.status, await errorCode(hidden)]).toEqual([404, "not_found"]);
    expect(all.data.map((b) => b.id)).not.toContain(theirs.data[0]!.id);
  });
});

describe("/api/v1/bounce-settings", () => {
  it("reads the defaults, changes them within bounds, and audits the change", async () => {
    const w = await seedBounceWorld();
    const get = async (key: string) => (await call("/api/v1/bounce-settings", { key })).json();
    expect(await get(w.key)).toEqual({ soft_threshold: 3, soft_reset_days: 30 });
    const patch = (body: unknown) => call("/api/v1/bounce-settings", { method: "PATCH", key: w.key, body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const changed = await patch({ soft_threshold: 2.5 });
    expect([changed.status, await changed.json()]).toEqual([200, { soft_threshold: 2.5, soft_reset_days: 30 }]);
    for (const bad of [{}, { soft_threshold: 0 }, { soft_threshold: 2.3 }, { soft_reset_days: 0 }, { soft_reset_days: 400 }, { soft_reset_days: 1.5 }, { other: 1 }]) {
      const res = await patch(bad);
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }
    expect(await get(w.key)).toEqual({ soft_threshold: 2.5, soft_reset_days: 30 });
    const audit = await testDb().select().from(auditLog).where(and(eq(auditLog.accountId, w.accountId), eq(auditLog.action, "bounce_settings.updated")));
    expect(audit.map((a) => [a.actor, JSON.parse(a.detail!)])).toEqual([[w.keyId, { before: { soft_threshold: 3, soft_reset_days: 30 }, after: { soft_threshold: 2.5, soft_reset_days: 30 } }]]);
    // Another account's settings are its own.
    expect(await get((await seedBounceWorld()).key)).toEqual({ soft_threshold: 3, soft_reset_days: 30 });
  });
});

describe("what a bounce shows elsewhere", () => {
  it("the job's results name the contradicting bounce (JSON), the CSV keeps its columns, the recipient shows its bounce, and the month counts it", async () => {
    const w = await seedBounceWorld();
    const made = (await (await post(w.key, { email: "ada@x.test", kind: "hard", status: "5.1.1", campaign_id: w.campaignId, occurred_at: new Date().toISOString() })).json()) as Bounce;

    const jsonl = await (await call(`/api/v1/jobs/${w.jobId}/results?format=jsonl`, { key: w.key })).text();
    const rows = jsonl.trim().split("\n").map((l) => JSON.parse(l) as { email: string; contradicted: unknown });
    expect(rows.map((r) => [r.email, r.contradicted])).toEqual([
      ["Ada@X.test", { bounce_id: made.id, status: "5.1.1", occurred_at: made.occurred_at }],
      ["bob@x.test", null],
      ["cay@x.test", null],
      ["dan@x.test", null],
      ["eve@x.test", null],
    ]);
    const json = (await (await call(`/api/v1/jobs/${w.jobId}/results?format=json&verdict=deliverable`, { key: w.key })).json()) as { contradicted: unknown }[];
    expect(json.filter((r) => r.contradicted !== null)).toHaveLength(1);
    const csv = Papa.parse<string[]>((await (await call(`/api/v1/jobs/${w.jobId}/results?format=csv`, { key: w.key })).text()).trim()).data;
    expect(csv[0]).toEqual(["email", "verdict", "reason", "score", "catch_all", "disposable", "role", "free", "suggestion", "mx", "smtp_code", "smtp_message", "safe_to_send"]);

    const recipients = (await (await call(`/api/v1/campaigns/${w.campaignId}/recipients`, { key: w.key })).json()) as { data: { email: string; bounce_kind: string | null; bounced_at: string | null }[] };
    expect(recipients.data.map((r) => [r.email, r.bounce_kind, r.bounced_at])).toEqual([
      ["Ada@X.test", "hard", made.occurred_at],
      ["bob@x.test", null, null],
      ["cay@x.test", null, null],
      ["dan@x.test", null, null],
      ["eve@x.test", null, null],
    ]);

    const accuracy = (await (await call("/api/v1/account/accuracy", { key: w.key })).json()) as { months: { month: string; deliverable: number; sent: number; contradicted: number; contradiction_rate: number | null }[] };
    const { months } = lastMonths(Date.now());
    expect(accuracy.months.map((m) => m.month)).toEqual(months);
    // Each count in its own month: the job finished a day ago, the campaign started an hour ago, the bounce now.
    const [job] = await testDb().select({ finishedAt: jobs.finishedAt }).from(jobs).where(eq(jobs.id, w.jobId));
    const [campaign] = await testDb().select({ startedAt: campaigns.startedAt }).from(campaigns).where(eq(campaigns.id, w.campaignId));
    const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);
    const expected = months.map((month) => {
      const m = { month, deliverable: monthOf(job!.finishedAt!) === month ? 4 : 0, sent: monthOf(campaign!.startedAt!) === month ? 5 : 0, contradicted: monthOf(Date.parse(made.occurred_at)) === month ? 1 : 0 };
      return { ...m, contradiction_rate: m.sent > 0 ? m.contradicted / m.sent : null };
    });
    expect(accuracy.months).toEqual(expected);
    expect(expected.reduce((n, m) => n + m.deliverable + m.sent + m.contradicted, 0)).toBe(10);
  });
});
