// The rules page and the job page's use of the rules, against a real sqld: an owner reads the
// defaults, previews rules without saving them, saves them (bad ones refused in the API's words);
// a member reads and previews but cannot change them; the preview rates the latest list; the job
// page's table says what is safe to send and filters by it, and so does its download.
import { eq } from "drizzle-orm";
import Papa from "papaparse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { DEFAULT_RULES } from "../../core/rules.ts";
import { accounts, jobEmails, jobs } from "../../db/schema.ts";
import { load, post, startPageTestbed, type PageTestbed } from "../testing.ts";
import { loader as downloadLoader } from "./jobs.$id.download.ts";
import { loader as jobLoader } from "./jobs.$id.tsx";
import { action, loader } from "./rules.tsx";

let bed: PageTestbed;
beforeAll(async () => {
  bed = await startPageTestbed("rules");
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

type Data = Awaited<ReturnType<typeof loader>>;
const page = async (cookie: string): Promise<Data> => (await load(loader, bed, "/rules", cookie)) as Data;
const form = (intent: string, rules: Record<string, string | number>) => ({ intent, ...Object.fromEntries(Object.entries({ ...DEFAULT_RULES, ...rules }).map(([k, v]) => [k, String(v)])) });

/** The account's list: [address, verdict, free]. */
const LIST: [string, "deliverable" | "risky" | "undeliverable", boolean][] = [
  ["ada@corp.test", "deliverable", false],
  ["bob@gmail.test", "deliverable", true],
  ["cay@corp.test", "risky", false],
  ["dan@corp.test", "undeliverable", false],
  ["eve@gmail.test", "deliverable", true],
];

async function seedList(accountId: string): Promise<string> {
  const { db } = bed.context.services;
  const jobId = newId("job");
  await db.insert(jobs).values({ id: jobId, accountId, name: "leads.csv", kind: "verify", status: "completed", total: LIST.length, unique: LIST.length, processed: LIST.length });
  await db.insert(jobEmails).values(
    LIST.map(([email, verdict, free], rowIndex) => ({
      jobId, normalized: email, email, rowIndex, verdict, reason: verdict === "risky" ? "catch_all" : verdict === "deliverable" ? "accepted" : "mailbox_not_found",
      result: JSON.stringify({ email, normalized: email, verdict, reason: "accepted", catch_all: verdict === "risky", disposable: false, role: false, free, score: 90 }),
    })),
  );
  return jobId;
}

describe("the rules page", () => {
  it("shows the defaults and what they do to the latest list, previews other rules without saving them, and saves them", async () => {
    const { cookie, accountId } = await bed.person("owner");
    expect(await page(cookie)).toMatchObject({ rules: DEFAULT_RULES, canManage: true, preview: { job: null } });
    const jobId = await seedList(accountId);
    const before = await page(cookie);
    expect(before.preview).toMatchObject({ job: { id: jobId, name: "leads.csv" }, rows: 5, safe: 3, refused: { risky: 1, verdict: 1 } });
    expect(before.preview.changes).toContainEqual({ rule: "free", to: "refuse", gained: 0, lost: 2 });
    expect(before.preview.changes).toContainEqual({ rule: "risky", to: "allow", gained: 1, lost: 0 });

    const previewed = await post(action, bed, "/rules", cookie, form("preview", { free: "refuse" }));
    expect(previewed).toMatchObject({ draft: { ...DEFAULT_RULES, free: "refuse" }, preview: { safe: 1, refused: { free: 2, risky: 1, verdict: 1 } } });
    expect((await page(cookie)).rules).toEqual(DEFAULT_RULES);

    expect(await post(action, bed, "/rules", cookie, form("save", { free: "refuse", risky: "allow" }))).toEqual({ ok: expect.stringContaining("Saved") });
    expect(await page(cookie)).toMatchObject({ rules: { ...DEFAULT_RULES, free: "refuse", risky: "allow" }, preview: { safe: 2 } });
    const bad = await post(action, bed, "/rules", cookie, form("save", { min_score: "lots" }));
    expect(bad).toEqual({ error: { code: "validation_failed", message: expect.stringContaining("min_score") } });
    expect((await page(cookie)).rules).toEqual({ ...DEFAULT_RULES, free: "refuse", risky: "allow" });
  });

  it("lets a member read and preview the rules, never change them", async () => {
    const owner = await bed.person("owner");
    const member = await bed.person("member");
    const { teamId, asOwner, asMember } = await bed.team(owner.person, member.person);
    expect(await post(action, bed, "/rules", asOwner, form("save", { role: "refuse" }))).toEqual({ ok: expect.any(String) });
    expect(await page(asMember)).toMatchObject({ rules: { ...DEFAULT_RULES, role: "refuse" }, canManage: false });
    expect(await post(action, bed, "/rules", asMember, form("preview", { min_score: 50 }))).toMatchObject({ draft: { ...DEFAULT_RULES, min_score: 50 } });
    expect(await post(action, bed, "/rules", asMember, form("save", {}))).toEqual({ error: { code: "forbidden", message: expect.any(String) } });
    const [team] = await bed.context.services.db.select({ rules: accounts.rules }).from(accounts).where(eq(accounts.id, teamId));
    expect(JSON.parse(team!.rules!)).toEqual({ ...DEFAULT_RULES, role: "refuse" });
  });
});

describe("the job page under the rules", () => {
  it("says which results are safe to send and why not, filters by it, and downloads them", async () => {
    const { cookie, accountId } = await bed.person("owner");
    const jobId = await seedList(accountId);
    await post(action, bed, "/rules", cookie, form("save", { free: "refuse" }));
    type JobData = { results: { rows: { email: string; refusal: string | null }[] } };
    const rows = async (query: string) => ((await load(jobLoader, bed, `/jobs/${jobId}${query}`, cookie, { id: jobId })) as JobData).results.rows.map((r) => [r.email, r.refusal]);
    expect(await rows("")).toEqual([["ada@corp.test", null], ["bob@gmail.test", "free"], ["cay@corp.test", "risky"], ["dan@corp.test", "verdict"], ["eve@gmail.test", "free"]]);
    expect(await rows("?safe_to_send=true")).toEqual([["ada@corp.test", null]]);
    expect(await rows("?safe_to_send=false&verdict=deliverable")).toEqual([["bob@gmail.test", "free"], ["eve@gmail.test", "free"]]);

    const file = (await load(downloadLoader, bed, `/jobs/${jobId}/download?format=csv&safe_to_send=false`, cookie, { id: jobId })) as Response;
    expect(file.headers.get("content-disposition")).toBe('attachment; filename="leads.csv-not-safe.csv"');
    const csv = Papa.parse<string[]>((await file.text()).trim()).data;
    expect(csv.map((r) => [r[0], r.at(-1)])).toEqual([["email", "safe_to_send"], ["bob@gmail.test", "false"], ["cay@corp.test", "false"], ["dan@corp.test", "false"], ["eve@gmail.test", "false"]]);
  });
});
