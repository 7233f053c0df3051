// The full export's contract (issue 26) through the API inside workerd on a real sqld: one line per
// data row of the upload, in its order, with its cells; a repeat carries its first row's result, a
// rejected row an empty verdict and its reason; JSON Lines adds `row` and `columns`; a filtered
// export gives each address once. Erasure, a deleted job's purge and retention remove the rows.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import type { JobView, Result } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { CRM_LINES, CRM_LONG_ADDRESS } from "../../core/testing.ts";
import { batches, batchItems, jobRows, jobs } from "../../db/schema.ts";
import { purgeResultsStep } from "../jobs/expiry.ts";
import { deleteJob } from "../jobs/jobs.ts";
import { call, errorCode, result, seedAccount, testDb as db, testServices } from "../testing.ts";

async function answerAll(jobId: string, verdictOf: (email: string) => Result["verdict"]) {
  const rows = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, jobId));
  for (const b of rows) {
    await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, b.id));
    const items = JSON.parse(b.items) as BatchItem[];
    const results = items.map((i) => result(i[1], verdictOf(i[1])));
    const body = JSON.stringify({ probe_id: "prb_t", batch_id: b.id, job_id: jobId, seq: 0, final: true, results });
    const res = await call("/internal/probes/results", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body) } });
    expect(res.status).toBe(200);
  }
}

const LONG = CRM_LONG_ADDRESS;
const CRM = CRM_LINES.join("\r\n") + "\r\n";

async function crmJob() {
  const account = await seedAccount();
  const job = (await (await call("/api/v1/jobs", { method: "POST", key: account.key, body: CRM, headers: { "content-type": "text/csv" } })).json()) as JobView;
  await answerAll(job.id, (e) => (e.startsWith("bob") ? "undeliverable" : "deliverable"));
  return { ...account, job };
}

const csvOf = async (key: string, path: string) => Papa.parse<string[]>((await (await call(path, { key })).text()).trim()).data;
const jsonlOf = async (key: string, path: string) => (await (await call(path, { key })).text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

describe("GET /api/v1/jobs/{id}/results: the full export has every data row (issue 26)", () => {
  it("gives one CSV line per data row, in order, with the original columns: repeats carry the first's result, rejects their reason", async () => {
    const { key, job } = await crmJob();
    // Rows with an address cell, plus rejects: every data row.
    expect([job.total, job.unique, job.rejects.no_address, job.rejects.too_long]).toEqual([5, 3, 1, 1]);
    const rows = await csvOf(key, `/api/v1/jobs/${job.id}/results?format=csv`);
    expect(rows[0]!.slice(0, 5)).toEqual(["Name", "Email", "Company", "verdict", "reason"]);
    expect(rows.slice(1).map((r) => r.slice(0, 5))).toEqual([
      ["Lee, Alice", "alice@ok.test", "Acme", "deliverable", "accepted"],
      ["Bob", "bob@ok.test", "Beta", "undeliverable", "mailbox_not_found"],
      ["Blank", "", "Gamma", "", "no_address"],
      ["Alice Again", "ALICE@ok.test", "Acme", "deliverable", "accepted"],
      ["Bob, quoted", '"Bob" <bob@ok.test>', "Beta", "undeliverable", "mailbox_not_found"],
      ["Long", LONG, "Delta", "", "too_long"],
      ["Carol", "carol@ok.test", "Gamma", "deliverable", "accepted"],
    ]);
    expect(rows).toHaveLength(1 + job.total + job.rejects.no_address + job.rejects.too_long);
    // A rejected row has none of our other cells.
    expect(rows[3]!.slice(5).every((c) => c === "")).toBe(true);
  });

  it("gives each JSON Lines record its row number and its cells by header", async () => {
    const { key, job } = await crmJob();
    const records = await jsonlOf(key, `/api/v1/jobs/${job.id}/results?format=jsonl`);
    expect(records.map((r) => [r.row, r.verdict, r.reason])).toEqual([
      [1, "deliverable", "accepted"], [2, "undeliverable", "mailbox_not_found"], [3, null, "no_address"], [4, "deliverable", "accepted"],
      [5, "undeliverable", "mailbox_not_found"], [6, null, "too_long"], [7, "deliverable", "accepted"],
    ]);
    expect(records[4]!.columns).toEqual({ Name: "Bob, quoted", Email: '"Bob" <bob@ok.test>', Company: "Beta" });
    expect(records[2]!.columns).toEqual({ Name: "Blank", Email: "", Company: "Gamma" });
    // A repeat carries its first row's result.
    expect(records[3]!.email).toBe("alice@ok.test");
    const json = (await (await call(`/api/v1/jobs/${job.id}/results?format=json`, { key })).json()) as Record<string, unknown>[];
    expect(json).toEqual(records);
  });

  it("numbers a plain list's rows and names its column email", async () => {
    const { key } = await seedAccount();
    const job = (await (await call("/api/v1/jobs", { method: "POST", key, body: "a@ok.test\nA@OK.TEST\nb@@ok.test\n", headers: { "content-type": "text/plain" } })).json()) as JobView;
    await answerAll(job.id, () => "deliverable");
    const records = await jsonlOf(key, `/api/v1/jobs/${job.id}/results?format=jsonl`);
    expect(records.map((r) => [r.row, r.verdict, r.columns])).toEqual([[1, "deliverable", { email: "a@ok.test" }], [2, "deliverable", { email: "A@OK.TEST" }], [3, "undeliverable", { email: "b@@ok.test" }]]);
  });

  it("gives a find job's every row: a repeated person with the first one's answer, an unusable row with invalid_person", async () => {
    const { key } = await seedAccount();
    const csv = "first_name,last_name,domain\nAda,Lovelace,find.test\nMadonna,,find.test\nada,LOVELACE,FIND.TEST\n";
    const job = (await (await call("/api/v1/jobs?kind=find", { method: "POST", key, body: csv, headers: { "content-type": "text/csv" } })).json()) as JobView;
    expect([job.total, job.unique, job.rejects.invalid_person]).toEqual([2, 1, 1]);
    const [b] = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, job.id));
    const [item] = JSON.parse(b!.items) as BatchItem[];
    const finds = [{ key: item![0], email: "ada.lovelace@find.test", verdict: "deliverable", reason: "accepted", confidence: 90, pattern: "first.last", catch_all: false, candidates: [], duration_ms: 1 }];
    const body = JSON.stringify({ probe_id: "prb_t", batch_id: b!.id, job_id: job.id, seq: 0, final: true, results: [], finds });
    const res = await call("/internal/probes/results", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body) } });
    expect(res.status).toBe(200);
    const lines = (await (await call(`/api/v1/jobs/${job.id}/results?format=csv`, { key })).text()).trim().split("\r\n");
    expect(lines).toEqual([
      "first_name,last_name,domain,email,verdict,reason,confidence,pattern,catch_all",
      "Ada,Lovelace,find.test,ada.lovelace@find.test,deliverable,accepted,90,first.last,false",
      "Madonna,,find.test,,,invalid_person,,,",
      "ada,LOVELACE,FIND.TEST,ada.lovelace@find.test,deliverable,accepted,90,first.last,false",
    ]);
  });

  it("keeps filtered exports to one line per address", async () => {
    const { key, job } = await crmJob();
    const deliverable = await csvOf(key, `/api/v1/jobs/${job.id}/results?format=csv&verdict=deliverable`);
    expect(deliverable.slice(1).map((r) => r[1])).toEqual(["alice@ok.test", "carol@ok.test"]);
    const safe = await jsonlOf(key, `/api/v1/jobs/${job.id}/results?format=jsonl&safe_to_send=false`);
    expect(safe.map((r) => [r.row, r.email])).toEqual([[2, "bob@ok.test"]]);
  });

  it("answers not_found for another account's job", async () => {
    const { job } = await crmJob();
    const other = await seedAccount();
    const res = await call(`/api/v1/jobs/${job.id}/results?format=csv`, { key: other.key });
    expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
  });

  it("loses an erased address's repeats with its row, and keeps the rest", async () => {
    const { key, job } = await crmJob();
    const erased = await call("/api/v1/erasure", { method: "POST", key, body: JSON.stringify({ email: "BOB@ok.test" }), headers: { "content-type": "application/json" } });
    expect(erased.status).toBe(200);
    const rows = await csvOf(key, `/api/v1/jobs/${job.id}/results?format=csv`);
    expect(rows.slice(1).map((r) => r[0])).toEqual(["Lee, Alice", "Blank", "Alice Again", "Long", "Carol"]);
    expect(JSON.stringify(await db().select().from(jobRows).where(eq(jobRows.jobId, job.id)))).not.toContain("bob@ok.test");
  });

  it("loses the rows when a deleted job is purged, and when its results expire", async () => {
    const deleted = await crmJob();
    expect(await db().select().from(jobRows).where(eq(jobRows.jobId, deleted.job.id))).toHaveLength(4);
    const pending: Promise<unknown>[] = [];
    const s = testServices({ waitUntil: (p: Promise<unknown>) => void pending.push(p) });
    await deleteJob(s, { accountId: deleted.accountId, actor: "usr_test" }, deleted.job.id);
    await Promise.all(pending);
    expect(await db().select().from(jobRows).where(eq(jobRows.jobId, deleted.job.id))).toEqual([]);

    const expired = await crmJob();
    await db().update(jobs).set({ resultsExpiredAt: Date.now() }).where(eq(jobs.id, expired.job.id));
    let removed = 0;
    for (let step = await purgeResultsStep(db(), expired.job.id); ; step = await purgeResultsStep(db(), expired.job.id)) {
      removed += step.results;
      if (step.done) break;
    }
    expect(removed).toBe(3 + 4); // the answered rows and the rest
    expect(await db().select().from(jobRows).where(eq(jobRows.jobId, expired.job.id))).toEqual([]);
    expect(await db().select().from(jobs).where(eq(jobs.id, expired.job.id))).toHaveLength(1); // the summary stays
  });
});
