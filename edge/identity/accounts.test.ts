// Inside workerd, against the real sqld: accounts and roles, API keys
// made by the app, and the results table's query, each with its tenant boundary.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { batches, creditLedger, jobEmails, jobs, members } from "../../db/schema.ts";
import { call, result, seedAccount, seedJobWithBatch, serviceCode as code, testDb as db, testServices as services, viewerAs } from "../testing.ts";
import { authorize, createTeam, ensurePersonalAccount, localUserId, setMember, viewerFor, type Person } from "./accounts.ts";
import { RESULTS_PAGE_SIZE } from "../../core/live.ts";
import { browseResults, latestResults } from "../jobs/browse.ts";
import type { Services } from "../context.ts";
import { deleteJob, getJob, listJobs } from "../jobs/jobs.ts";
import { PURGE_ROWS } from "../jobs/purge.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "./keys.ts";
import { reserveStatements } from "../credits/credits.ts";

async function person(name: string): Promise<Person> {
  const email = `${name}.${newId("req").slice(4, 12)}@example.com`;
  return { id: await localUserId(email), email };
}

describe("accounts", () => {
  it("gives a new person one personal account, owned, with the sign-up credits once", async () => {
    const ada = await person("ada");
    await ensurePersonalAccount(services(), ada, { signupCredits: 100 });
    await ensurePersonalAccount(services(), ada, { signupCredits: 100 });
    const viewer = await viewerFor(services(), ada, { preferred: null });
    expect(viewer).toMatchObject({ user: ada, account: { kind: "personal", role: "owner", creditBalance: 100 } });
    expect(viewer!.accounts).toHaveLength(1);
    expect(await viewerFor(services(), await person("nobody"), { preferred: null })).toBeNull();
  });

  it("acts in a team only for its members, with their role deciding what they may do", async () => {
    const owner = await person("owner");
    const member = await person("member");
    const outsider = await person("outsider");
    for (const p of [owner, member, outsider]) await ensurePersonalAccount(services(), p, { signupCredits: 10 });
    const teamId = await createTeam(services(), await viewerAs(owner), { name: "Growth" });
    const asOwner = (await viewerFor(services(), owner, { preferred: teamId }))!;
    expect(asOwner.account).toMatchObject({ id: teamId, kind: "team", role: "owner" });

    await setMember(services(), asOwner, { email: member.email.toUpperCase(), role: "member" });
    const asMember = (await viewerFor(services(), member, { preferred: teamId }))!;
    expect(asMember.account).toMatchObject({ id: teamId, role: "member" });
    expect(await code(Promise.resolve().then(() => authorize(asMember, "keys:manage")))).toBe("forbidden");
    expect(await code(Promise.resolve().then(() => authorize(asMember, "jobs:delete")))).toBe("forbidden");
    expect(await code(setMember(services(), asMember, { email: outsider.email, role: "admin" }))).toBe("forbidden");
    expect(await code(Promise.resolve().then(() => authorize(asOwner, "keys:manage")))).toBe("ok");

    // An admin manages members but cannot make owners; nobody re-roles themselves.
    await setMember(services(), asOwner, { email: member.email, role: "admin" });
    const asAdmin = (await viewerFor(services(), member, { preferred: teamId }))!;
    expect(asAdmin.account.role).toBe("admin");
    expect(await code(setMember(services(), asAdmin, { email: outsider.email, role: "owner" }))).toBe("forbidden");
    expect(await code(setMember(services(), asAdmin, { email: member.email, role: "member" }))).toBe("conflict");

    // Someone outside the team who names it lands in their own account instead.
    const asOutsider = (await viewerFor(services(), outsider, { preferred: teamId }))!;
    expect(asOutsider.account.kind).toBe("personal");
    expect(asOutsider.accounts.map((a) => a.id)).not.toContain(teamId);
  });

  it("keeps a personal account to its one owner", async () => {
    const solo = await person("solo");
    await ensurePersonalAccount(services(), solo, { signupCredits: 0 });
    expect(await code(setMember(services(), (await viewerFor(services(), solo, { preferred: null }))!, { email: "friend@example.com", role: "member" }))).toBe("conflict");
  });
});

/** A seeded account whose owner is usr_test (keys are made by an owner or admin). */
async function ownedAccount() {
  const seeded = await seedAccount();
  await db().insert(members).values({ accountId: seeded.accountId, userId: "usr_test", email: "test@example.com", role: "owner" });
  return seeded;
}

describe("API keys made in the app", () => {
  it("are shown once, stored hashed, work against the API, and are refused once revoked", async () => {
    const { accountId } = await ownedAccount();
    const made = await createApiKey(services(), { accountId, actor: "usr_test" }, { name: "  CRM sync  ", mode: "live" });
    expect(made.key).toMatch(/^mx_live_[0-9A-Za-z]{32}$/);
    expect(made.view).toMatchObject({ name: "CRM sync", prefix: made.key.slice(0, 12), revokedAt: null });
    expect(JSON.stringify(await listApiKeys(services(), { accountId, actor: "usr_test" }))).not.toContain(made.key);
    expect((await call("/api/v1/account", { key: made.key })).status).toBe(200);
    await revokeApiKey(services(), { accountId, actor: "usr_test" }, made.view.id);
    const refused = await call("/api/v1/account", { key: made.key });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("key_revoked");
  });

  it("cannot be revoked from another account, and need a name", async () => {
    const mine = await ownedAccount();
    const theirs = await ownedAccount();
    const made = await createApiKey(services(), { accountId: mine.accountId, actor: "usr_test" }, { name: "mine", mode: "test" });
    expect(await code(revokeApiKey(services(), { accountId: theirs.accountId, actor: "usr_test" }, made.view.id))).toBe("not_found");
    expect((await call("/api/v1/account", { key: made.key })).status).toBe(200);
    expect(await code(createApiKey(services(), { accountId: mine.accountId, actor: "usr_test" }, { name: "   ", mode: "live" }))).toBe("validation_failed");
  });
});

describe("browseResults", () => {
  const s = { db: db() } as unknown as Services;
  async function jobWith(results: Result[]) {
    const { accountId } = await seedAccount();
    const { jobId } = await seedJobWithBatch(accountId, results.map((r) => r.email));
    await db().insert(jobEmails).values(results.map((r, i) => ({ jobId, normalized: r.email.toLowerCase(), email: r.email, rowIndex: i, verdict: r.verdict, reason: r.reason, result: JSON.stringify(r) })));
    return { jobId, accountId };
  }

  it("filters by verdict and reason, searches literally, and pages in row order", async () => {
    const rows = [
      ...Array.from({ length: RESULTS_PAGE_SIZE + 3 }, (_, i) => result(`user${i}@ok.test`, "deliverable")),
      result("gone@ok.test", "undeliverable"),
      result("100%_real@odd.test", "risky"),
      result("1000_real@odd.test", "risky"),
    ];
    const { jobId, accountId } = await jobWith(rows);
    const first = await browseResults(s, { accountId, actor: "usr_test" }, { jobId });
    expect(first).toMatchObject({ total: rows.length, page: 1, pages: 2 });
    expect(first.rows.map((r) => r.rowIndex)).toEqual(Array.from({ length: RESULTS_PAGE_SIZE }, (_, i) => i));
    const second = await browseResults(s, { accountId, actor: "usr_test" }, { jobId, page: 2 });
    expect(second.rows[0]!.rowIndex).toBe(RESULTS_PAGE_SIZE);
    expect((await browseResults(s, { accountId, actor: "usr_test" }, { jobId, page: 99 })).page).toBe(2);
    expect((await browseResults(s, { accountId, actor: "usr_test" }, { jobId, verdict: "undeliverable" })).rows.map((r) => r.result.email)).toEqual(["gone@ok.test"]);
    expect((await browseResults(s, { accountId, actor: "usr_test" }, { jobId, reason: "catch_all" })).total).toBe(2);
    // % and _ are the user's characters, not wildcards.
    expect((await browseResults(s, { accountId, actor: "usr_test" }, { jobId, q: "100%_" })).rows.map((r) => r.result.email)).toEqual(["100%_real@odd.test"]);
    expect((await browseResults(s, { accountId, actor: "usr_test" }, { jobId, q: "USER1" })).total).toBe(1 + 10 + 0); // user1, user10–user19
    expect(first.reasons).toEqual([{ reason: "accepted", count: RESULTS_PAGE_SIZE + 3 }, { reason: "catch_all", count: 2 }, { reason: "mailbox_not_found", count: 1 }]);
  });

  it("shows another account nothing of a job, by page or by latest", async () => {
    const { jobId } = await jobWith([result("a@ok.test"), result("b@ok.test")]);
    const other = await seedAccount();
    expect(await browseResults(s, { accountId: other.accountId, actor: "usr_test" }, { jobId })).toMatchObject({ total: 0, rows: [], reasons: [] });
    expect(await latestResults(s, { accountId: other.accountId, actor: "usr_test" }, { jobId, limit: 10 })).toEqual([]);
  });
});

describe("deleteJob", () => {
  it("hides a finished job at once, then purges its results (in steps) but not its credit ledger, only in its own account", async () => {
    const { accountId: mine } = await seedAccount();
    const { jobId } = await seedJobWithBatch(mine, ["a@x.test"]);
    const pending: Promise<unknown>[] = [];
    const s = services({ waitUntil: (p: Promise<unknown>) => void pending.push(p) });
    expect(await code(deleteJob(s, { accountId: mine, actor: "usr_test" }, jobId))).toBe("conflict"); // still running
    await db().update(jobs).set({ status: "completed" }).where(eq(jobs.id, jobId));
    await db().$client.batch(reserveStatements(mine, "system", jobId, 1, Date.now()), "write");
    // More rows than one purge step removes.
    const rows = Array.from({ length: PURGE_ROWS + 7 }, (_, i) => ({ jobId, normalized: `u${i}@x.test`, email: `u${i}@x.test`, rowIndex: i, verdict: "deliverable" as const, reason: "accepted", result: "{}" }));
    for (let i = 0; i < rows.length; i += 500) await db().insert(jobEmails).values(rows.slice(i, i + 500));
    const other = await seedAccount();
    expect(await code(deleteJob(s, { accountId: other.accountId, actor: "usr_test" }, jobId))).toBe("not_found");
    await deleteJob(s, { accountId: mine, actor: "usr_test" }, jobId);
    expect(await code(getJob(s, { accountId: mine, actor: "usr_test" }, jobId))).toBe("not_found"); // gone for its owner before the purge ends
    expect((await listJobs(s, { accountId: mine, actor: "usr_test" }, { limit: 10 })).data.map((j) => j.id)).not.toContain(jobId);
    await Promise.all(pending);
    expect(await db().select().from(jobs).where(eq(jobs.id, jobId))).toEqual([]);
    expect(await db().select().from(jobEmails).where(eq(jobEmails.jobId, jobId))).toEqual([]);
    expect(await db().select().from(batches).where(eq(batches.jobId, jobId))).toEqual([]);
    expect(await db().select().from(creditLedger).where(eq(creditLedger.jobId, jobId))).toHaveLength(1);
  });
});
