// GET /api/v1/credits/ledger inside workerd on a real sqld: one account's entries only, newest
// first, cursor pages that join up, the limit's bounds, bad cursors and a missing key.
import { describe, expect, it } from "vitest";
import type { Services } from "../context.ts";
import { chargeCheck, type LedgerEntryView } from "../credits/account.ts";
import { moveStatements } from "../credits/ledger.ts";
import { newId } from "../../core/ids.ts";
import { jobs } from "../../db/schema.ts";
import { call, errorCode, seedAccount, testDb as db } from "../testing.ts";

type Page = { data: LedgerEntryView[]; next_cursor: string | null };

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

/** Entries at the given times (ms after T0), written in this order; ties on time are deliberate. */
async function seedLedger(accountId: string, offsets: number[]) {
  const purchase = (i: number) => ({ accountId, delta: 100 + i, kind: "purchase" as const, reason: "purchase" as const, actor: "stripe", key: `test:${accountId}:${i}` });
  await db().$client.batch(offsets.flatMap((at, i) => moveStatements(purchase(i), T0 + at)), "write");
}

async function ledger(key: string, query = ""): Promise<Page> {
  const res = await call(`/api/v1/credits/ledger${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe("GET /api/v1/credits/ledger", () => {
  it("lists only the key's account's entries, newest first, with each entry's fields", async () => {
    const mine = await seedAccount(10);
    const theirs = await seedAccount(10);
    await seedLedger(mine.accountId, [0, 2000, 1000]);
    await seedLedger(theirs.accountId, [500, 3000]);
    // One entry from the real writer: a single check charged to this key.
    expect(await chargeCheck({ db: db() } as Services, { accountId: mine.accountId, actor: mine.keyId }, { key: "ledger-test" }, T0 + 4000)).toMatchObject({ paid: true });

    const page = await ledger(mine.key);
    expect(page.next_cursor).toBeNull();
    expect(page.data.map((e) => [e.delta, e.created_at])).toEqual([
      [-1, "2025-01-02T03:04:09.000Z"],
      [101, "2025-01-02T03:04:07.000Z"],
      [102, "2025-01-02T03:04:06.000Z"],
      [100, "2025-01-02T03:04:05.000Z"],
    ]);
    expect(page.data[0]).toEqual({
      id: expect.any(Number),
      delta: -1,
      reason: "single_check",
      kind: "settle",
      actor: mine.keyId,
      job_id: null,
      job_name: null,
      created_at: "2025-01-02T03:04:09.000Z",
    });
    expect(page.data[1]).toMatchObject({ reason: "purchase", kind: "purchase", actor: "stripe", job_id: null });

    const other = await ledger(theirs.key);
    expect(other.data.map((e) => e.delta)).toEqual([101, 100]);
    expect(other.data.map((e) => e.id)).not.toContain(page.data[0]!.id);
  });

  it("names each entry's list, from the same read; a deleted list, or another account's, has no name", async () => {
    const mine = await seedAccount(0);
    const theirs = await seedAccount(0);
    const jobOf = async (accountId: string, name: string, deletedAt: number | null = null) => {
      const id = newId("job");
      await db().insert(jobs).values({ id, accountId, name, status: "completed", deletedAt });
      return id;
    };
    const kept = await jobOf(mine.accountId, "CRM export March");
    const deleted = await jobOf(mine.accountId, "Old list", T0);
    const foreign = await jobOf(theirs.accountId, "Their list");
    const reserve = (jobId: string, i: number) => moveStatements({ accountId: mine.accountId, delta: -5, kind: "reserve", reason: "job_reserve", actor: "system", jobId, key: `names:${jobId}:${i}` }, T0 + i * 1000);
    await db().$client.batch([kept, deleted, foreign].flatMap((id, i) => reserve(id, i)), "write");
    const page = await ledger(mine.key);
    expect(page.data.map((e) => [e.job_id, e.job_name])).toEqual([
      [foreign, null],
      [deleted, null],
      [kept, "CRM export March"],
    ]);
  });

  it("pages join up across cursors without gaps or repeats, ties on time included", async () => {
    const { accountId, key } = await seedAccount(0);
    // Seven entries, three of them at one instant so a page boundary falls inside the tie.
    await seedLedger(accountId, [0, 1000, 1000, 1000, 2000, 3000, 500]);
    const all = await ledger(key, "?limit=100");
    expect(all.data).toHaveLength(7);
    const seen: LedgerEntryView[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await ledger(key, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data);
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual(all.data);
    // Newest first, and within one instant the later write first.
    const order = seen.map((e) => [Date.parse(e.created_at), e.id] as const);
    expect(order).toEqual([...order].sort((a, b) => b[0] - a[0] || b[1] - a[1]));
  });

  it("a cursor only moves within the key's own account", async () => {
    const mine = await seedAccount(0);
    const theirs = await seedAccount(0);
    await seedLedger(mine.accountId, [0, 1000]);
    await seedLedger(theirs.accountId, [0, 1000, 2000]);
    const theirFirst = await ledger(theirs.key, "?limit=1");
    const withTheirCursor = await ledger(mine.key, `?cursor=${theirFirst.next_cursor}`);
    expect(withTheirCursor.data.map((e) => e.delta)).toEqual([101, 100]);
    const mineIds = (await ledger(mine.key)).data.map((e) => e.id);
    expect(withTheirCursor.data.map((e) => e.id)).toEqual(mineIds);
  });

  it("takes 1 to 100 entries a page, 20 by default", async () => {
    const { accountId, key } = await seedAccount(0);
    await seedLedger(accountId, Array.from({ length: 21 }, (_, i) => i * 10));
    const byDefault = await ledger(key);
    expect([byDefault.data.length, typeof byDefault.next_cursor]).toEqual([20, "string"]);
    expect((await ledger(key, "?limit=1")).data).toHaveLength(1);
    const max = await ledger(key, "?limit=100");
    expect([max.data.length, max.next_cursor]).toEqual([21, null]);
    for (const bad of ["0", "101", "-1", "2.5", "ten"]) {
      const res = await call(`/api/v1/credits/ledger?limit=${bad}`, { key });
      expect([bad, res.status, await errorCode(res)]).toEqual([bad, 400, "validation_failed"]);
    }
  });

  it("refuses a cursor this API did not issue", async () => {
    const { accountId, key } = await seedAccount(0);
    await seedLedger(accountId, [0]);
    for (const bad of ["abc", "1735787045000_job_x", "1735787045000", "_12", "1735787045000_12x", "9".repeat(101)]) {
      const res = await call(`/api/v1/credits/ledger?cursor=${bad}`, { key });
      expect([bad, res.status, await errorCode(res)]).toEqual([bad, 400, "validation_failed"]);
    }
  });

  it("answers 401 without a key or with an unknown one, and is in the OpenAPI document", async () => {
    const none = await call("/api/v1/credits/ledger");
    expect([none.status, await errorCode(none)]).toEqual([401, "unauthorized"]);
    const unknown = await call("/api/v1/credits/ledger", { key: "mx_live_notakeynotakeynotakeynotakey000" });
    expect([unknown.status, await errorCode(unknown)]).toEqual([401, "unauthorized"]);
    const doc = (await (await call("/api/v1/openapi.json")).json()) as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    expect(Object.keys(doc.paths["/api/v1/credits/ledger"]?.get?.responses ?? {})).toEqual(expect.arrayContaining(["200", "400", "401"]));
  });
});
