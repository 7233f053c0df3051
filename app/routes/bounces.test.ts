// The bounces pages' loaders and actions against a real sqld, no probe online: a bounce mailbox's
// password goes in and never comes out (a blank one keeps it), bad input is refused in the API's
// words, another account's mailbox is not_found and its bounce a 404, a member reads bounces but
// neither sees mailboxes nor changes anything; the list marks a refund and filters by kind and
// address; a bounce's page holds the verification it contradicted; the campaign page's recipients
// link to their bounce.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { batches, bounceMailboxes, bounces, campaignRecipients, campaigns, jobEmails, jobs } from "../../db/schema.ts";
import { reportBounce } from "../../edge/bounces/bounces.ts";
import { bouncesOfRecipients } from "../lib/bounces.server.ts";
import { load, post, startPageTestbed, type PageTestbed } from "../testing.ts";
import { loader as bounceLoader } from "./bounces.$id.tsx";
import { action, loader } from "./bounces._index.tsx";

let bed: PageTestbed;
beforeAll(async () => {
  bed = await startPageTestbed("bounces");
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

type Data = Awaited<ReturnType<typeof loader>>;
type Detail = Awaited<ReturnType<typeof bounceLoader>>;
const PASSWORD = "app password for bounces";
const DAY_MS = 86_400_000;

const mailboxForm = (name: string, extra: Record<string, string> = {}) => ({
  intent: "mailbox-create",
  name,
  host: "imap.example.com",
  port: "",
  security: "tls",
  username: "bounces@news.example.com",
  password: PASSWORD,
  folder: "INBOX",
  processed_folder: "mxray-processed",
  ...extra,
});

const pageData = async (cookie: string, query = ""): Promise<Data> => (await load(loader, bed, `/bounces${query}`, cookie)) as Data;

/** A completed verification job of the account, verified a day ago: each address with its verdict, at a known MX. */
async function seedJob(accountId: string, rows: [string, "deliverable" | "risky"][]): Promise<string> {
  const { db } = bed.context.services;
  const verifiedAt = Date.now() - DAY_MS;
  const jobId = newId("job");
  const batchId = newId("bat");
  await db.insert(jobs).values({
    id: jobId, accountId, name: "list.csv", status: "completed", total: rows.length, unique: rows.length, processed: rows.length,
    deliverable: rows.filter(([, v]) => v === "deliverable").length, creditsReserved: rows.length, createdAt: verifiedAt - 60_000, finishedAt: verifiedAt,
  });
  await db.insert(batches).values({ id: batchId, jobId, accountId, status: "done", size: rows.length, probeId: "prb_verifier" });
  await db.insert(jobEmails).values(
    rows.map(([email, verdict], rowIndex) => ({
      jobId, normalized: email, email, rowIndex, batchId, verdict, reason: verdict === "deliverable" ? "accepted" : "catch_all", createdAt: verifiedAt,
      result: JSON.stringify({ email, normalized: email, verdict, mx: "mx1.x.test", smtp: { code: 250, enhanced: "2.1.5", message: "Recipient ok" } }),
    })),
  );
  return jobId;
}

describe("bounce mailboxes on /bounces", () => {
  it("takes a password, shows only that one is set, keeps it when a change leaves it blank, and deletes", async () => {
    const { cookie, accountId } = await bed.person("owner");
    expect(await post(action, bed, "/bounces", cookie, mailboxForm("Fastmail"))).toEqual({ at: "mailbox-new", ok: expect.stringContaining("Bounce mailbox Fastmail was added") });
    const data = await pageData(cookie);
    expect(data.canManage).toBe(true);
    expect(data.mailboxes!.list).toMatchObject([{ name: "Fastmail", host: "imap.example.com", port: 993, security: "tls", folder: "INBOX", processed_folder: "mxray-processed", has_password: true, probe_id: null }]);
    expect(JSON.stringify(data)).not.toContain(PASSWORD);
    const id = data.mailboxes!.list[0]!.id;
    const sealed = async () => (await bed.context.services.db.select({ password: bounceMailboxes.password }).from(bounceMailboxes).where(and(eq(bounceMailboxes.id, id), eq(bounceMailboxes.accountId, accountId))))[0]!.password;
    const before = await sealed();
    expect(before).not.toContain(PASSWORD);

    // A blank password keeps the stored one; a blank port takes the security's; a blank "move to" flags instead.
    const change = { ...mailboxForm("Fastmail"), intent: "mailbox-update", id, password: "", security: "starttls", processed_folder: "" };
    expect(await post(action, bed, "/bounces", cookie, change)).toEqual({ at: id, ok: "Bounce mailbox Fastmail was saved." });
    expect((await pageData(cookie)).mailboxes!.list[0]).toMatchObject({ port: 143, security: "starttls", processed_folder: null, has_password: true });
    expect(await sealed()).toBe(before);

    // No probe is online: the test and the read now say so, beside the mailbox.
    for (const intent of ["mailbox-test", "mailbox-poll"]) {
      expect(await post(action, bed, "/bounces", cookie, { intent, id })).toEqual({ at: id, error: { code: "probe_unavailable", message: expect.stringContaining("No probe is online") } });
    }

    expect(await post(action, bed, "/bounces", cookie, { intent: "mailbox-delete", id })).toEqual({ at: "mailboxes", ok: expect.stringContaining("was deleted") });
    expect((await pageData(cookie)).mailboxes!.list).toEqual([]);
  });

  it("refuses bad input with the API's words and stores nothing", async () => {
    const { cookie } = await bed.person("typo");
    const refusedWith = (code: string, field: string) => ({ at: "mailbox-new", error: { code, message: expect.stringContaining(field) } });
    expect(await post(action, bed, "/bounces", cookie, mailboxForm("Bad", { security: "none" }))).toEqual(refusedWith("validation_failed", "security"));
    expect(await post(action, bed, "/bounces", cookie, mailboxForm("Bad", { host: "127.0.0.1" }))).toEqual(refusedWith("host_not_allowed", "127.0.0.1"));
    expect(await post(action, bed, "/bounces", cookie, mailboxForm("Bad", { processed_folder: "inbox" }))).toEqual(refusedWith("validation_failed", "processed_folder"));
    expect(await post(action, bed, "/bounces", cookie, mailboxForm("Bad", { password: "" }))).toEqual(refusedWith("validation_failed", "password"));
    expect(await post(action, bed, "/bounces", cookie, mailboxForm("Bad", { port: "imap" }))).toEqual(refusedWith("validation_failed", "port"));
    expect((await pageData(cookie)).mailboxes!.list).toEqual([]);
  });

  it("answers not_found for another account's mailbox, and leaves it be", async () => {
    const a = await bed.person("a");
    const b = await bed.person("b");
    await post(action, bed, "/bounces", a.cookie, mailboxForm("Theirs"));
    const [theirs] = (await pageData(a.cookie)).mailboxes!.list;
    for (const intent of ["mailbox-update", "mailbox-test", "mailbox-poll", "mailbox-delete"]) {
      expect(await post(action, bed, "/bounces", b.cookie, { ...mailboxForm("Mine"), intent, id: theirs!.id })).toEqual({ at: theirs!.id, error: { code: "not_found", message: `No bounce mailbox ${theirs!.id}` } });
    }
    expect((await pageData(a.cookie)).mailboxes!.list).toMatchObject([{ id: theirs!.id, name: "Theirs", host: "imap.example.com" }]);
    expect((await pageData(b.cookie)).mailboxes!.list).toEqual([]);
  });

  it("lets a member read the bounces and the settings, but not see the mailboxes or change anything", async () => {
    const owner = await bed.person("owner");
    const member = await bed.person("member");
    const { asOwner, asMember } = await bed.team(owner.person, member.person);
    await post(action, bed, "/bounces", asOwner, mailboxForm("Team mailbox"));
    const data = await pageData(asMember);
    expect(data).toMatchObject({ canManage: false, mailboxes: null, bounces: [], settings: { soft_threshold: 3, soft_reset_days: 30 } });
    expect(JSON.stringify(data)).not.toContain("imap.example.com");
    expect(await post(action, bed, "/bounces", asMember, mailboxForm("Sneaky"))).toEqual({ at: "mailbox-new", error: { code: "forbidden", message: expect.any(String) } });
    expect(await post(action, bed, "/bounces", asMember, { intent: "settings", soft_threshold: "1", soft_reset_days: "1" })).toEqual({ at: "settings", error: { code: "forbidden", message: expect.any(String) } });
    expect((await pageData(asOwner)).settings).toEqual({ soft_threshold: 3, soft_reset_days: 30 });
  });
});

describe("bounces on /bounces and /bounces/:id", () => {
  it("lists them newest first with the refund marked, filters by kind and address, and shows one with the verification it contradicted", async () => {
    const { cookie, accountId } = await bed.person("bounced");
    const jobId = await seedJob(accountId, [["ada@x.test", "deliverable"], ["bob@x.test", "deliverable"], ["cay@x.test", "risky"]]);
    const who = { accountId, actor: "test" };
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const { services } = bed.context;
    const hard = await reportBounce(services, who, { email: "Ada@X.test", kind: "hard", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 <ada@x.test>: user unknown", occurred_at: at(30) });
    expect(hard.bounce.refunded_job_id).toBe(jobId);
    await reportBounce(services, who, { email: "bob@x.test", kind: "soft", status: "4.2.2", occurred_at: at(20) });
    await reportBounce(services, who, { email: "cay@x.test", kind: "complaint", occurred_at: at(10) });

    const all = await pageData(cookie);
    expect(all.bounces.map((b) => [b.email, b.kind, b.refunded_job_id])).toEqual([
      ["cay@x.test", "complaint", null],
      ["bob@x.test", "soft", null],
      ["ada@x.test", "hard", jobId],
    ]);
    expect(all.nextCursor).toBeNull();
    expect((await pageData(cookie, "?kind=hard")).bounces.map((b) => b.email)).toEqual(["ada@x.test"]);
    expect((await pageData(cookie, "?email=BOB%40x.test")).bounces.map((b) => b.email)).toEqual(["bob@x.test"]);
    // A kind the page does not offer shows everything; a cursor the page did not make is a bad link.
    expect((await pageData(cookie, "?kind=bogus")).bounces).toHaveLength(3);
    expect(((await load(loader, bed, "/bounces?cursor=nope", cookie)) as Response).status).toBe(400);

    const detail = (await load(bounceLoader, bed, `/bounces/${hard.bounce.id}`, cookie, { id: hard.bounce.id })) as Detail;
    expect(detail.bounce).toMatchObject({
      email: "ada@x.test", kind: "hard", category: "mailbox", status: "5.1.1", source: "api", raw: null, refunded_job_id: jobId,
      verification: { job_id: jobId, verdict: "deliverable", reason: "accepted", mx: "mx1.x.test", smtp: { code: 250, enhanced: "2.1.5", message: "Recipient ok" } },
    });

    const stranger = await bed.person("stranger");
    expect(((await load(bounceLoader, bed, `/bounces/${hard.bounce.id}`, stranger.cookie, { id: hard.bounce.id })) as Response).status).toBe(404);
    expect((await pageData(stranger.cookie)).bounces).toEqual([]);
  });

  it("links each bounced recipient of a campaign page to its bounce, and only those", async () => {
    const { accountId } = await bed.person("campaigner");
    const { db } = bed.context.services;
    const jobId = await seedJob(accountId, [["ada@x.test", "deliverable"], ["bob@x.test", "deliverable"]]);
    const campaignId = newId("cmp");
    await db.insert(campaigns).values({
      id: campaignId, accountId, name: "March", jobId, senderId: newId("snd"), templateId: newId("tpl"), status: "sending", consentBasis: "opt_in",
      consentSource: "signup form", createdBy: "test", audience: 2, sent: 2, startedAt: Date.now() - 3_600_000,
    });
    const rows = await db
      .insert(campaignRecipients)
      .values([["ada@x.test", 0], ["bob@x.test", 1]].map(([email, rowIndex]) => ({ campaignId, normalized: String(email), email: String(email), rowIndex: Number(rowIndex), status: "sent" as const })))
      .returning({ id: campaignRecipients.id, email: campaignRecipients.email });
    const [ada, bob] = rows;
    const bounceId = newId("bnc");
    const occurredAt = Date.now() - 60_000;
    await db.insert(bounces).values({ id: bounceId, accountId, email: "ada@x.test", kind: "hard", source: "imap", campaignId, recipientId: ada!.id, dedupeKey: "imap:test:1", occurredAt });
    await db.update(campaignRecipients).set({ bounceKind: "hard", bouncedAt: occurredAt }).where(eq(campaignRecipients.id, ada!.id));

    const recipients = [
      { id: ada!.id, email: ada!.email, bounce_kind: "hard" as const },
      { id: bob!.id, email: bob!.email, bounce_kind: null },
    ];
    expect(await bouncesOfRecipients(bed.context.services, { accountId, actor: "test" }, campaignId, recipients)).toEqual({ [ada!.id]: bounceId });
    // Another account asking for the same campaign finds nothing.
    const other = await bed.person("other");
    expect(await bouncesOfRecipients(bed.context.services, { accountId: other.accountId, actor: "test" }, campaignId, recipients)).toEqual({});
  });
});

describe("soft-bounce settings on /bounces", () => {
  it("saves a threshold in steps of 0.5 and the reset days, and refuses what the API refuses", async () => {
    const { cookie } = await bed.person("settings");
    expect(await post(action, bed, "/bounces", cookie, { intent: "settings", soft_threshold: "2.5", soft_reset_days: "14" })).toEqual({
      at: "settings",
      ok: "Saved: an address is suppressed at a soft-bounce score of 2.5; a score starts over after 14 quiet days.",
    });
    expect((await pageData(cookie)).settings).toEqual({ soft_threshold: 2.5, soft_reset_days: 14 });
    for (const bad of [{ soft_threshold: "2.3", soft_reset_days: "14" }, { soft_threshold: "lots", soft_reset_days: "14" }, { soft_threshold: "3", soft_reset_days: "0" }]) {
      expect(await post(action, bed, "/bounces", cookie, { intent: "settings", ...bad })).toEqual({ at: "settings", error: { code: "validation_failed", message: expect.stringMatching(/^soft_/) } });
    }
    expect((await pageData(cookie)).settings).toEqual({ soft_threshold: 2.5, soft_reset_days: 14 });
  });
});
