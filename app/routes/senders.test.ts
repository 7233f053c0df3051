// The senders page's loader and actions against a real sqld, no probe online: a relay's password
// goes in and never comes out (not in the page's data, not after a change that leaves it blank),
// clearing the username clears it, bad input is refused in the API's words, another account's
// relay is not_found, a member cannot open the page, and a sender keeps its relays' order.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { relays } from "../../db/schema.ts";
import { load, post, startPageTestbed, type PageTestbed } from "../testing.ts";
import { action, loader } from "./senders.tsx";

let bed: PageTestbed;
beforeAll(async () => {
  bed = await startPageTestbed("senders");
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

type Data = Awaited<ReturnType<typeof loader>>;
const PASSWORD = "correct horse battery staple";

const relayForm = (name: string, extra: Record<string, string> = {}) => ({
  intent: "relay-create",
  name,
  host: "smtp.example.com",
  port: "",
  security: "starttls",
  username: "apikey",
  password: PASSWORD,
  max_per_minute: "60",
  max_per_day: "10000",
  ...extra,
});

async function pageData(cookie: string): Promise<Data> {
  return (await load(loader, bed, "/senders", cookie)) as Data;
}

describe("relays on the senders page", () => {
  it("takes a password, shows only that one is set, and keeps it when a change leaves it blank", async () => {
    const { cookie, accountId } = await bed.person("owner");
    expect(await post(action, bed, "/senders", cookie, relayForm("Postmark"))).toEqual({ at: "relay-new", ok: expect.stringContaining("Relay Postmark was added") });
    const data = await pageData(cookie);
    expect(data.relays).toMatchObject([{ name: "Postmark", host: "smtp.example.com", port: 587, username: "apikey", has_password: true }]);
    expect(JSON.stringify(data)).not.toContain(PASSWORD);
    const id = data.relays[0]!.id;
    const sealed = async () => (await bed.context.services.db.select({ password: relays.password }).from(relays).where(and(eq(relays.id, id), eq(relays.accountId, accountId))))[0]!.password;
    const before = await sealed();
    expect(before).not.toBeNull();
    expect(before).not.toContain(PASSWORD);

    const change = { ...relayForm("Postmark"), intent: "relay-update", id, password: "", max_per_minute: "100", port: "" };
    expect(await post(action, bed, "/senders", cookie, change)).toEqual({ at: id, ok: "Relay Postmark was saved." });
    expect((await pageData(cookie)).relays[0]).toMatchObject({ max_per_minute: 100, port: 587, has_password: true });
    expect(await sealed()).toBe(before);

    // No username: the relay trusts the probe's address, so the password goes too.
    expect(await post(action, bed, "/senders", cookie, { ...change, username: "" })).toMatchObject({ ok: "Relay Postmark was saved." });
    expect((await pageData(cookie)).relays[0]).toMatchObject({ username: null, has_password: false });
    expect(await sealed()).toBeNull();
  });

  it("refuses bad input with the API's words and changes nothing", async () => {
    const { cookie } = await bed.person("typo");
    expect(await post(action, bed, "/senders", cookie, relayForm("Bad", { max_per_minute: "lots" }))).toEqual({ at: "relay-new", error: { code: "validation_failed", message: expect.stringContaining("max_per_minute") } });
    expect(await post(action, bed, "/senders", cookie, relayForm("Bad", { port: "70000" }))).toEqual({ at: "relay-new", error: { code: "validation_failed", message: expect.stringContaining("port") } });
    expect(await post(action, bed, "/senders", cookie, relayForm("Bad", { host: "127.0.0.1" }))).toEqual({ at: "relay-new", error: { code: "host_not_allowed", message: expect.stringContaining("127.0.0.1") } });
    expect(await post(action, bed, "/senders", cookie, relayForm("Bad", { password: "" }))).toEqual({ at: "relay-new", error: { code: "validation_failed", message: expect.stringContaining("username and password") } });
    expect((await pageData(cookie)).relays).toEqual([]);
  });

  it("answers not_found for another account's relay, and leaves it be", async () => {
    const a = await bed.person("a");
    const b = await bed.person("b");
    await post(action, bed, "/senders", a.cookie, relayForm("Theirs"));
    const [theirs] = (await pageData(a.cookie)).relays;
    for (const intent of ["relay-test", "relay-delete", "relay-update"]) {
      expect(await post(action, bed, "/senders", b.cookie, { ...relayForm("Mine"), intent, id: theirs!.id })).toEqual({ at: expect.any(String), error: { code: "not_found", message: `No relay ${theirs!.id}` } });
    }
    expect((await pageData(a.cookie)).relays).toMatchObject([{ id: theirs!.id, name: "Theirs" }]);
  });

  it("is for owners and admins: a member is refused the page and its actions", async () => {
    const owner = await bed.person("owner");
    const member = await bed.person("member");
    const { asMember } = await bed.team(owner.person, member.person);
    const page = (await load(loader, bed, "/senders", asMember)) as Response;
    expect(page.status).toBe(403);
    expect(await post(action, bed, "/senders", asMember, relayForm("Sneaky"))).toEqual({ at: "relay-new", error: { code: "forbidden", message: expect.any(String) } });
  });
});

describe("senders on the senders page", () => {
  it("keeps the relays in the order chosen; with no probe online the sender is added and says its confirmation did not go", async () => {
    const { cookie } = await bed.person("sender");
    await post(action, bed, "/senders", cookie, relayForm("First"));
    await post(action, bed, "/senders", cookie, relayForm("Second"));
    const byName = new Map((await pageData(cookie)).relays.map((r) => [r.name, r.id]));
    const answer = await post(action, bed, "/senders", cookie, {
      intent: "sender-create",
      from_email: "news@example.com",
      from_name: "Example News",
      reply_to: "",
      relayIds: [byName.get("Second")!, byName.get("First")!, ""],
      bounce_domain: "",
      dkim_selector: "pm",
    });
    expect(answer).toEqual({ at: "sender-new", ok: expect.stringMatching(/^news@example\.com was added, but its confirmation message could not be sent \(No probe is online/) });
    const [sender] = (await pageData(cookie)).senders;
    expect(sender).toMatchObject({ from_email: "news@example.com", relay_ids: [byName.get("Second"), byName.get("First")], reply_to: null, bounce_domain: "example.com", dkim_selector: "pm", confirmed: false, confirmation_sent_at: null });
    expect(await post(action, bed, "/senders", cookie, { intent: "sender-resend", id: sender!.id })).toEqual({ at: sender!.id, error: { code: "probe_unavailable", message: expect.any(String) } });
  });
});
