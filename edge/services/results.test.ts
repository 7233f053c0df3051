// Inside workerd, against the real sqld: idempotent result application and job completion.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Result, ResultChunk } from "../../core/contracts.ts";
import { accounts, jobEmails, jobs } from "../../db/schema.ts";
import { createEdgeDb } from "../db.ts";
import { applyResultChunk } from "./results.ts";

const db = () => createEdgeDb(env as unknown as { TURSO_DATABASE_URL: string });

function result(email: string, verdict: Result["verdict"]): Result {
  return {
    email, normalized: email.toLowerCase(), verdict, reason: verdict === "deliverable" ? "accepted" : "mailbox_not_found",
    catch_all: false, disposable: false, role: false, free: false, greylisted: false, suggestion: null, score: 50,
    mx: "mx.x.test", smtp: null, duration_ms: 1, retry_after: null,
  };
}

async function seedJob(suffix: string, emails: string[]) {
  const d = db();
  const accountId = `acc_${suffix}`;
  const jobId = `job_${suffix}`;
  await d.insert(accounts).values({ id: accountId, name: suffix, kind: "personal" });
  await d.insert(jobs).values({ id: jobId, accountId, name: "list", status: "running", total: emails.length, unique: emails.length });
  await d.insert(jobEmails).values(emails.map((e, i) => ({ jobId, normalized: e, email: e, rowIndex: i })));
  return { accountId, jobId };
}

const chunk = (jobId: string, seq: number, results: Result[]): ResultChunk => ({ probe_id: "prb_1", batch_id: "bat_1", job_id: jobId, seq, final: false, results });

describe("applyResultChunk", () => {
  it("counts each address once, however often its chunk arrives, and completes the job", async () => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const { accountId, jobId } = await seedJob(suffix, ["a@x.test", "b@x.test", "c@x.test"]);
    const first = chunk(jobId, 0, [result("a@x.test", "deliverable"), result("b@x.test", "undeliverable")]);
    expect((await applyResultChunk(db(), accountId, first)).applied).toBe(2);
    const again = await applyResultChunk(db(), accountId, first);
    expect(again.applied).toBe(0);
    expect(again.job).toMatchObject({ processed: 2, status: "running", counts: { deliverable: 1, undeliverable: 1, risky: 0, unknown: 0 } });
    const last = await applyResultChunk(db(), accountId, chunk(jobId, 1, [result("C@x.test", "unknown")]));
    expect(last.job).toMatchObject({ processed: 3, status: "completed", counts: { unknown: 1 } });
    const [row] = await db().select().from(jobs).where(eq(jobs.id, jobId));
    expect(row!.finishedAt).not.toBeNull();
  });

  it("ignores results for another account's job and addresses outside the job", async () => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const { accountId, jobId } = await seedJob(suffix, ["a@x.test"]);
    expect(await applyResultChunk(db(), "acc_someone_else", chunk(jobId, 0, [result("a@x.test", "deliverable")]))).toEqual({ applied: 0, job: null });
    const stray = await applyResultChunk(db(), accountId, chunk(jobId, 0, [result("intruder@x.test", "deliverable")]));
    expect(stray.applied).toBe(0);
    expect(stray.job).toMatchObject({ processed: 0 });
  });
});
