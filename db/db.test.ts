// The schema on a real libSQL server (sqld on loopback), migrated the way production is.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "./client.ts";
import { migrateDb } from "./migrate.ts";
import { accounts, apiKeys, creditLedger, jobEmails, jobs } from "./schema.ts";
import { startSqld, type RunningSqld } from "./sqld.ts";

let sqld: RunningSqld;
let dataDir: string;
let db: Db;
let close: () => void;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "mxray-db-"));
  sqld = await startSqld({ dataDir });
  await migrateDb(sqld.url);
  await migrateDb(sqld.url); // a second run applies nothing and fails on nothing
  const made = createDb({ url: sqld.url });
  db = made.db;
  close = () => made.client.close();
}, 60_000);
afterAll(async () => {
  close?.();
  await sqld?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("schema on sqld", () => {
  it("stores an account with keys, and finds a key only by its hash", async () => {
    await db.insert(accounts).values({ id: "acc_a", name: "A", kind: "personal" });
    await db.insert(apiKeys).values({ id: "key_1", accountId: "acc_a", name: "ci", mode: "live", prefix: "mx_live_ab", hash: "h1" });
    const found = await db.select().from(apiKeys).where(eq(apiKeys.hash, "h1"));
    expect(found.map((k) => k.accountId)).toEqual(["acc_a"]);
    await expect(
      db.insert(apiKeys).values({ id: "key_2", accountId: "acc_a", name: "dup", mode: "live", prefix: "x", hash: "h1" }),
    ).rejects.toThrow();
    const [acc] = await db.select().from(accounts).where(eq(accounts.id, "acc_a"));
    expect(acc!.createdAt).toBeGreaterThan(Date.UTC(2020, 0, 1));
  });

  it("keeps the first result row per (job, address) and writes a ledger entry once per key", async () => {
    await db.insert(accounts).values({ id: "acc_b", name: "B", kind: "team" });
    await db.insert(jobs).values({ id: "job_1", accountId: "acc_b", name: "list", status: "queued" });
    const row = { jobId: "job_1", normalized: "a@x.test", email: "A@x.test", rowIndex: 0, reason: "accepted", result: "{}" };
    const first = await db.insert(jobEmails).values({ ...row, verdict: "deliverable" }).onConflictDoNothing().returning();
    const second = await db.insert(jobEmails).values({ ...row, verdict: "unknown" }).onConflictDoNothing().returning();
    expect([first.length, second.length]).toEqual([1, 0]);
    const rows = await db.select().from(jobEmails).where(and(eq(jobEmails.jobId, "job_1")));
    expect(rows.map((r) => r.verdict)).toEqual(["deliverable"]);

    const entry = { accountId: "acc_b", delta: 100, kind: "grant" as const, reason: "admin_adjustment" as const, actor: "system", idempotencyKey: "grant:acc_b:1" };
    await db.insert(creditLedger).values(entry).onConflictDoNothing();
    await db.insert(creditLedger).values(entry).onConflictDoNothing();
    expect(await db.$count(creditLedger, eq(creditLedger.accountId, "acc_b"))).toBe(1);
  });

  it("removes an account's jobs and results with it", async () => {
    await db.delete(accounts).where(eq(accounts.id, "acc_b"));
    expect(await db.$count(jobs, eq(jobs.accountId, "acc_b"))).toBe(0);
    expect(await db.$count(jobEmails, eq(jobEmails.jobId, "job_1"))).toBe(0);
  });
});
