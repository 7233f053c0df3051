// The low-balance notice's inputs (issue 26), read from a real sqld inside workerd: the balance,
// whether the account ever paid, its newest list, its week of spending, and auto top-up's line.
import { describe, expect, it } from "vitest";
import { balanceNotice, USE_SAMPLE_LIMIT, WEEK_MS } from "../../core/billing.ts";
import { newId } from "../../core/ids.ts";
import { billing, jobs } from "../../db/schema.ts";
import { seedAccount, testDb as db, testServices } from "../testing.ts";
import { balanceStanding } from "./account.ts";
import { moveStatements, type Movement } from "./ledger.ts";

const NOW = Date.UTC(2025, 5, 10, 12);

async function move(accountId: string, entries: { delta: number; reason: Movement["reason"]; at: number; jobId?: string }[]) {
  const kind = (r: Movement["reason"]): Movement["kind"] => (r === "signup_grant" ? "grant" : r === "purchase" ? "purchase" : r === "refund_unknowns" ? "refund" : r === "job_reserve" ? "reserve" : "settle");
  await db().$client.batch(
    entries.flatMap((e, i) => moveStatements({ accountId, delta: e.delta, kind: kind(e.reason), reason: e.reason, actor: "system", jobId: e.jobId ?? null, key: `standing:${accountId}:${i}` }, e.at)),
    "write",
  );
}

describe("balanceStanding", () => {
  it("reads a new account after its first small list: free credits, no warning", async () => {
    const { accountId } = await seedAccount(0);
    const jobId = newId("job");
    await db().insert(jobs).values({ id: jobId, accountId, name: "test", status: "completed", unique: 37, createdAt: NOW - 60_000 });
    await move(accountId, [
      { delta: 100, reason: "signup_grant", at: NOW - 120_000 },
      { delta: -37, reason: "job_reserve", at: NOW - 60_000, jobId },
      { delta: 2, reason: "refund_unknowns", at: NOW - 30_000, jobId },
    ]);
    const standing = await balanceStanding(testServices(), { accountId, actor: "system" }, NOW);
    expect(standing).toEqual({ balance: 65, bought: false, lastJob: 37, week: { entries: 2, used: 35, since: NOW - 60_000 }, autoTopUpBelow: null });
    expect(balanceNotice(standing, NOW)).toBeNull();
  });

  it("reads a paying account's week of use (not older spending) and auto top-up's line while it is on", async () => {
    const { accountId } = await seedAccount(0);
    await move(accountId, [
      { delta: 10_000, reason: "purchase", at: NOW - 30 * 86_400_000 },
      { delta: -6_000, reason: "job_reserve", at: NOW - 8 * 86_400_000 },
      { delta: -3_000, reason: "job_reserve", at: NOW - 86_400_000 },
      { delta: -1, reason: "single_check", at: NOW - 1000 },
    ]);
    const who = { accountId, actor: "system" };
    const standing = await balanceStanding(testServices(), who, NOW);
    expect(standing).toMatchObject({ balance: 999, bought: true, lastJob: null, week: { entries: 2, used: 3_001, since: NOW - 86_400_000 }, autoTopUpBelow: null });
    expect(balanceNotice(standing, NOW)).toEqual({ kind: "low", balance: 999, need: 3_001, because: "week" });

    await db().insert(billing).values({ accountId, autoTopupEnabled: true, autoTopupThreshold: 500 });
    expect((await balanceStanding(testServices(), who, NOW)).autoTopUpBelow).toBe(500);
  });

  it("reads at most USE_SAMPLE_LIMIT spending entries, the newest", async () => {
    const { accountId } = await seedAccount(0);
    const checks = Array.from({ length: USE_SAMPLE_LIMIT + 5 }, (_, i) => ({ delta: -1, reason: "single_check" as const, at: NOW - WEEK_MS + 1 + i * 1000 }));
    await move(accountId, [{ delta: 5_000, reason: "purchase", at: NOW - WEEK_MS - 1 }, ...checks]);
    const { week } = await balanceStanding(testServices(), { accountId, actor: "system" }, NOW);
    expect(week).toEqual({ entries: USE_SAMPLE_LIMIT, used: USE_SAMPLE_LIMIT, since: checks[5]!.at });
  });
});
