// The settings page's loader and actions against a real sqld: an owner keeps results 30 days and
// back until deleted, a value not offered is refused in the API's words, a team member sees the
// setting but may change nothing (nor erase), and an owner's erasure keeps a suppressed address
// suppressed as its hash.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tombstoneOf } from "../../core/tombstone.ts";
import { suppressions } from "../../db/schema.ts";
import { load, post, startPageTestbed, type PageTestbed } from "../testing.ts";
import { action, loader } from "./settings.tsx";

let bed: PageTestbed;
beforeAll(async () => {
  bed = await startPageTestbed("settings");
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

type Data = Awaited<ReturnType<typeof loader>>;
const page = async (cookie: string) => (await load(loader, bed, "/settings", cookie)) as Data;

describe("the settings page", () => {
  it("lets an owner keep results 30 days, then until deleted, and refuses a value it does not offer", async () => {
    const { cookie } = await bed.person("owner");
    expect(await page(cookie)).toMatchObject({ retention: null, choices: [7, 30, 90], canManage: true, account: { kind: "personal", role: "owner" } });
    expect(await post(action, bed, "/settings", cookie, { intent: "retention", retention_days: "30" })).toEqual({ at: "retention", ok: expect.stringContaining("30 days after a list ends") });
    expect((await page(cookie)).retention).toBe(30);
    for (const bad of ["14", "thirty"]) {
      expect(await post(action, bed, "/settings", cookie, { intent: "retention", retention_days: bad })).toEqual({ at: "retention", error: { code: "validation_failed", message: expect.stringContaining("retention_days") } });
    }
    expect(await post(action, bed, "/settings", cookie, { intent: "retention", retention_days: "" })).toMatchObject({ ok: expect.stringContaining("until you delete") });
    expect((await page(cookie)).retention).toBeNull();
  });

  it("shows a team member the setting but lets them change nothing, nor erase", async () => {
    const owner = await bed.person("teamowner");
    const member = await bed.person("teammember");
    const { asOwner, asMember } = await bed.team(owner.person, member.person);
    await post(action, bed, "/settings", asOwner, { intent: "retention", retention_days: "7" });
    expect(await page(asMember)).toMatchObject({ retention: 7, canManage: false, account: { kind: "team", role: "member" } });
    for (const form of [{ intent: "retention", retention_days: "90" }, { intent: "erase", email: "ada@example.com" }] as Record<string, string>[]) {
      expect(await post(action, bed, "/settings", asMember, form)).toMatchObject({ error: { code: "forbidden" } });
    }
    expect((await page(asOwner)).retention).toBe(7);
  });

  it("erases an address for an owner, keeping it suppressed as its hash", async () => {
    const { cookie, accountId } = await bed.person("eraser");
    const db = bed.context.services.db;
    await db.insert(suppressions).values({ accountId, email: "ada@example.com", reason: "unsubscribed", source: "recipient" });
    const answer = (await post(action, bed, "/settings", cookie, { intent: "erase", email: "Ada@Example.com" })) as { erased: { email_hash: string; suppressed: boolean } };
    expect(answer.erased).toMatchObject({ email_hash: await tombstoneOf("ada@example.com"), suppressed: true });
    expect(await db.select({ email: suppressions.email }).from(suppressions).where(and(eq(suppressions.accountId, accountId)))).toEqual([{ email: await tombstoneOf("ada@example.com") }]);
    expect(await post(action, bed, "/settings", cookie, { intent: "erase", email: "nobody" })).toMatchObject({ error: { code: "validation_failed" } });
  });
});
