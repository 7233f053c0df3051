// The Zapier integration against the local stack (the Worker, sqld, a probe and the simulated mail
// world), through zapier-platform-core's own app tester, so each operation runs as Zapier runs it;
// and its definition validated by zapier-platform-schema.
import { createServer, type IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import zapier from "zapier-platform-core";
import { validateAppDefinition } from "zapier-platform-schema";
import { newId } from "../../core/ids.ts";
import { SAMPLE_CAMPAIGN, SAMPLE_RECIPIENT_BOUNCED, SAMPLE_RECIPIENT_COMPLAINED, SAMPLE_RECIPIENT_UNSUBSCRIBED } from "../../core/samples.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import { createDb } from "../../db/client.ts";
import { campaignRecipients, campaigns } from "../../db/schema.ts";
import { startStack, type Stack } from "../../e2e/stack.ts";
import { startStandInPdl, type StandInPeopleData } from "../../e2e/standin-peopledata.ts";
import { startStandInReceiver } from "../../e2e/standin-receiver.ts";
import { buildZapierApp } from "./build.ts";
import app from "./src/index.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const appTester = zapier.createAppTester(app);
/** The platform's command handler (what `zapier validate` runs); its types do not export it. */
const appHandler = (zapier as unknown as { createAppHandler(definition: unknown): (event: { command: string }) => Promise<{ results: unknown }> }).createAppHandler;
let stack: Stack;
let files: { url: string; stop(): Promise<void> };
let receiver: Awaited<ReturnType<typeof startStandInReceiver>>;
let pdl: StandInPeopleData;
const bundle = (inputData: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ authData: { api_key: stack.devApiKey }, inputData, ...extra });

/** A loopback file host, as Zapier's file stash would serve an attachment. */
async function serveFiles(content: Record<string, { type: string; body: string }>) {
  const server = createServer((req: IncomingMessage, res) => {
    const file = content[req.url ?? ""];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": file.type }).end(file.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

beforeAll(async () => {
  // People Data Labs knows one founder at the world's ok.test, with an address that no longer works.
  pdl = await startStandInPdl({
    apiKey: "zapier-test-pdl-key",
    directory: [{ id: "z1", domain: "ok.test", first_name: "Bob", last_name: "Builder", title: "Founder & CEO", level: "owner", linkedin: "linkedin.com/in/bob-builder", email: "bob.builder@ok.test" }],
  });
  stack = await startStack({ dataDir: scratchDir("zapier"), world: true, probes: 1, sweepMs: 1000, vars: { PDL_API_KEY: pdl.apiKey, PDL_API_URL: pdl.url } });
  process.env.MXRAY_API_URL = stack.url;
  receiver = await startStandInReceiver();
  files = await serveFiles({ "/list.csv": { type: "text/csv", body: `name,email\nAda,${stack.world!.addresses[0]}\nBob,${stack.world!.addresses[1]}\n` } });
}, 120_000);

afterAll(async () => {
  await files?.stop();
  await receiver?.close();
  await stack?.stop();
  await pdl?.close();
});

describe("the Zapier integration", () => {
  it("is a valid Zapier app definition, as `zapier validate` checks it", async () => {
    // The platform's own validate command: functions become references, then the schema checks the rest.
    const validated = (await appHandler(app)({ command: "validate" })) as { results: unknown[] };
    expect(validated.results).toEqual([]);
    const definition = (await appHandler(app)({ command: "definition" }))
    expect(validateAppDefinition(definition.results).errors.map((e) => e.stack)).toEqual([]);
    expect(definition.results).toMatchObject({
      triggers: {
        list_verified: { operation: { type: "hook" } },
        address_verified: {},
        decision_makers_found: { operation: { type: "hook" } },
        campaign_completed: { operation: { type: "hook" } },
        recipient_unsubscribed: { operation: { type: "hook" } },
        recipient_bounced: { operation: { type: "hook" } },
        recipient_complained: { operation: { type: "hook" } },
      },
      creates: { verify_address: {}, find_address: {}, verify_list: {} },
      searches: { find_list: {} },
    });
  });

  it("builds into the CommonJS module `zapier push` loads, and that module is the same valid app", async () => {
    // Built beside the integration so that its one dependency resolves as it will after npm install.
    const dir = mkdtempSync(join(import.meta.dirname, ".test-build-"));
    const built = await buildZapierApp(join(dir, "index.js"));
    const loaded = createRequire(import.meta.url)(built) as typeof app;
    rmSync(dir, { recursive: true });
    expect(Object.keys(loaded.triggers)).toEqual(["list_verified", "address_verified", "decision_makers_found", "campaign_completed", "recipient_unsubscribed", "recipient_bounced", "recipient_complained"]);
    const validated = (await appHandler(loaded)({ command: "validate" })) as { results: unknown[] };
    expect(validated.results).toEqual([]);
  });

  it("authenticates with an API key (GET /api/v1/account), and refuses a wrong one", async () => {
    const account = (await appTester(app.authentication.test as never, bundle())) as { name: string; credits: number };
    expect(account).toMatchObject({ name: expect.any(String), credits: expect.any(Number) });
    await expect(appTester(app.authentication.test as never, { authData: { api_key: "mx_test_notakey" }, inputData: {} })).rejects.toThrow(/key/i);
  });

  it("verifies an address", async () => {
    const world = stack.world!;
    const email = world.addresses.find((a) => world.truth.get(a)!.verdict === "undeliverable")!;
    const result = (await appTester(app.creates.verify_address!.operation.perform as never, bundle({ email }))) as { email: string; verdict: string };
    expect(result).toMatchObject({ email, verdict: "undeliverable" });
  }, 30_000);

  it("verifies a list of addresses or a file, and finds it by id and by name", async () => {
    const world = stack.world!;
    const name = `zap-${Date.now().toString(36)}`;
    const job = (await appTester(app.creates.verify_list!.operation.perform as never, bundle({ addresses: world.addresses.slice(0, 3), name }))) as { id: string; unique: number };
    expect(job).toMatchObject({ id: expect.stringMatching(/^job_/), unique: 3 });
    const fromFile = (await appTester(app.creates.verify_list!.operation.perform as never, bundle({ file: `${files.url}/list.csv` }))) as { unique: number };
    expect(fromFile.unique).toBe(2);
    await expect(appTester(app.creates.verify_list!.operation.perform as never, bundle({}))).rejects.toThrow(/addresses or a file/);

    expect(await appTester(app.searches.find_list!.operation.perform as never, bundle({ id: job.id }))).toEqual([expect.objectContaining({ id: job.id })]);
    expect(await appTester(app.searches.find_list!.operation.perform as never, bundle({ name }))).toEqual([expect.objectContaining({ id: job.id, name })]);
    expect(await appTester(app.searches.find_list!.operation.perform as never, bundle({ id: "job_doesnotexist00000000" }))).toEqual([]);
  }, 30_000);

  it("List Verified subscribes a REST hook, turns each delivery into the job, lists samples, and stops after unsubscribing", async () => {
    const world = stack.world!;
    const at = (prefix: string) => receiver.received.filter((r) => r.path.startsWith(prefix));
    const until = async (what: string, check: () => boolean) => {
      for (const deadline = Date.now() + 20_000; !check(); ) {
        if (Date.now() > deadline) throw new Error(`${what}: not within 20 s`);
        await new Promise((r) => setTimeout(r, 100)); // polling the receiver's log
      }
    };
    const trigger = app.triggers.list_verified!.operation;
    const subscribed = (await appTester(trigger.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-list` }))) as { id: string };
    expect(subscribed.id).toMatch(/^whk_/);
    // A plain endpoint too, so the end of the second job's fan-out can be seen.
    const control = await fetch(`${stack.url}/api/v1/webhooks`, {
      method: "POST", headers: { authorization: `Bearer ${stack.devApiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `${receiver.url}/ok/zap-control`, events: ["job.completed"] }),
    });
    expect(control.status).toBe(201);

    const job = (await appTester(app.creates.verify_list!.operation.perform as never, bundle({ addresses: world.addresses.slice(0, 4) }))) as { id: string };
    await until("the hook's delivery", () => at("/ok/zap-list").length > 0);
    const delivery = at("/ok/zap-list")[0]!;
    expect(delivery.headers["webhook-signature"]).toMatch(/^v1,/);
    const fired = (await appTester(trigger.perform as never, bundle({}, { cleanedRequest: JSON.parse(delivery.body) }))) as { id: string; status: string }[];
    expect(fired).toEqual([expect.objectContaining({ id: job.id, status: "completed" })]);
    const samples = (await appTester(trigger.performList as never, bundle())) as { id: string }[];
    expect(samples.map((j) => j.id)).toContain(job.id);

    await appTester(trigger.performUnsubscribe as never, bundle({}, { subscribeData: subscribed }));
    const second = (await appTester(app.creates.verify_list!.operation.perform as never, bundle({ addresses: world.addresses.slice(4, 6) }))) as { id: string };
    await until("the control endpoint's delivery of the second job", () => at("/ok/zap-control").some((r) => r.body.includes(second.id)));
    await stack.sweep();
    expect(at("/ok/zap-list")).toHaveLength(1);
  }, 60_000);

  it("Address Verified hears a check made through the API, as the result record", async () => {
    const world = stack.world!;
    const trigger = app.triggers.address_verified!.operation;
    const subscribed = (await appTester(trigger.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-address` }))) as { id: string };
    const email = world.addresses.find((a) => world.truth.get(a)!.verdict === "deliverable")!;
    await appTester(app.creates.verify_address!.operation.perform as never, bundle({ email }));
    for (const deadline = Date.now() + 20_000; !receiver.received.some((r) => r.path === "/ok/zap-address"); ) {
      if (Date.now() > deadline) throw new Error("no verification.completed delivery within 20 s");
      await new Promise((r) => setTimeout(r, 100)); // polling the receiver's log
    }
    const delivery = receiver.received.find((r) => r.path === "/ok/zap-address")!;
    const fired = (await appTester(trigger.perform as never, bundle({}, { cleanedRequest: JSON.parse(delivery.body) }))) as { email: string; verdict: string }[];
    expect(fired).toEqual([expect.objectContaining({ email, verdict: "deliverable" })]);
    await appTester(trigger.performUnsubscribe as never, bundle({}, { subscribeData: subscribed }));
  }, 40_000);

  it("finds a person's address from a name and a company website", async () => {
    const found = (await appTester(app.creates.find_address!.operation.perform as never, bundle({ first_name: "Carol", last_name: "Singer", domain: "https://www.ok.test/team" }))) as {
      email: string;
      verdict: string;
      candidates: { email: string }[];
    };
    expect(found).toMatchObject({ email: "carol@ok.test", verdict: "deliverable" });
    expect(found.candidates.at(-1)!.email).toBe("carol@ok.test");
    await expect(appTester(app.creates.find_address!.operation.perform as never, bundle({ first_name: "Carol", last_name: "Singer", domain: "localhost" }))).rejects.toThrow(/domain/);
  }, 30_000);

  it("Decision Makers Found hears a company's decision makers, each with the address our finder found", async () => {
    const trigger = app.triggers.decision_makers_found!.operation;
    const subscribed = (await appTester(trigger.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-dm` }))) as { id: string };
    const asked = await fetch(`${stack.url}/api/v1/decision-makers`, {
      method: "POST", headers: { authorization: `Bearer ${stack.devApiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ domain: "ok.test", titles: ["ceo"] }),
    });
    expect(asked.status).toBe(200);
    for (const deadline = Date.now() + 20_000; !receiver.received.some((r) => r.path === "/ok/zap-dm"); ) {
      if (Date.now() > deadline) throw new Error("no dm.enriched delivery within 20 s");
      await new Promise((r) => setTimeout(r, 100)); // polling the receiver's log
    }
    const delivery = receiver.received.find((r) => r.path === "/ok/zap-dm")!;
    const fired = (await appTester(trigger.perform as never, bundle({}, { cleanedRequest: JSON.parse(delivery.body) }))) as unknown[];
    // The provider's stale address was asked first and refused; the finder found the real one.
    expect(fired).toEqual([{ domain: "ok.test", provider: "pdl", people: [{ full_name: "Bob Builder", title: "Founder & CEO", email: "bob@ok.test", verdict: "deliverable", confidence: expect.any(Number) }] }]);
    await appTester(trigger.performUnsubscribe as never, bundle({}, { subscribeData: subscribed }));
  }, 40_000);

  it("Campaign Completed subscribes a REST hook, shows its sample, and turns a delivery into the campaign", async () => {
    const trigger = app.triggers.campaign_completed!.operation;
    const subscribed = (await appTester(trigger.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-campaign` }))) as { id: string };
    expect(subscribed.id).toMatch(/^whk_/);
    // No campaign has completed in this account: the editor is shown the sample.
    expect(await appTester(trigger.performList as never, bundle())).toEqual([SAMPLE_CAMPAIGN]);
    const campaign = { ...SAMPLE_CAMPAIGN, id: "cmp_zapiertest0000000000" };
    expect(await appTester(trigger.perform as never, bundle({}, { cleanedRequest: { type: "campaign.completed", timestamp: "2025-03-14T10:12:37.000Z", data: campaign } }))).toEqual([campaign]);
    expect(await appTester(trigger.perform as never, bundle({}, { cleanedRequest: { type: "job.completed", data: campaign } }))).toEqual([]);
    await appTester(trigger.performUnsubscribe as never, bundle({}, { subscribeData: subscribed }));
    const hooks = await fetch(`${stack.url}/api/v1/webhooks?limit=100`, { headers: { authorization: `Bearer ${stack.devApiKey}` } });
    expect(((await hooks.json()) as { data: { id: string }[] }).data.map((w) => w.id)).not.toContain(subscribed.id);
  });

  it("Recipient Unsubscribed hears a one-click unsubscribe, as the address, campaign, recipient and time", async () => {
    const trigger = app.triggers.recipient_unsubscribed!.operation;
    expect(await appTester(trigger.performList as never, bundle())).toEqual([SAMPLE_RECIPIENT_UNSUBSCRIBED]);
    const subscribed = (await appTester(trigger.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-unsubscribed` }))) as { id: string };

    // A campaign's recipient, as edge/campaigns writes them, and the link its message carried.
    const account = (await (await fetch(`${stack.url}/api/v1/account`, { headers: { authorization: `Bearer ${stack.devApiKey}` } })).json()) as { id: string };
    const { db, client } = createDb({ url: stack.sqld.url });
    const campaignId = newId("cmp");
    await db.insert(campaigns).values({
      id: campaignId, accountId: account.id, name: "zapier", jobId: newId("job"), senderId: newId("snd"), templateId: newId("tpl"),
      status: "sending", consentBasis: "opt_in", consentSource: "signup form", createdBy: "dev_key",
    });
    const [recipient] = await db.insert(campaignRecipients).values({ campaignId, normalized: "zap.reader@example.com", email: "Zap.Reader@example.com", rowIndex: 0, status: "sent" }).returning({ id: campaignRecipients.id });
    client.close();
    const token = await recipientToken(stack.secrets.sessionSecret, { accountId: account.id, campaignId, recipientId: recipient!.id });
    const clicked = await fetch(`${stack.url}/u/${token}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
    expect(clicked.status).toBe(200);
    await clicked.body?.cancel();

    for (const deadline = Date.now() + 20_000; !receiver.received.some((r) => r.path === "/ok/zap-unsubscribed"); ) {
      if (Date.now() > deadline) throw new Error("no recipient.unsubscribed delivery within 20 s");
      await new Promise((r) => setTimeout(r, 100)); // polling the receiver's log
    }
    const delivery = receiver.received.find((r) => r.path === "/ok/zap-unsubscribed")!;
    const expected = { email: "Zap.Reader@example.com", campaign_id: campaignId, recipient_id: recipient!.id, unsubscribed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) };
    expect(await appTester(trigger.perform as never, bundle({}, { cleanedRequest: JSON.parse(delivery.body) }))).toEqual([expected]);
    expect(await appTester(trigger.performList as never, bundle())).toEqual([expected]);
    await appTester(trigger.performUnsubscribe as never, bundle({}, { subscribeData: subscribed }));
  }, 40_000);

  it("Recipient Bounced and Recipient Complained hear bounces reported through the API, as the bounce", async () => {
    const bounced = app.triggers.recipient_bounced!.operation;
    const complained = app.triggers.recipient_complained!.operation;
    expect(await appTester(bounced.performList as never, bundle())).toEqual([SAMPLE_RECIPIENT_BOUNCED]);
    expect(await appTester(complained.performList as never, bundle())).toEqual([SAMPLE_RECIPIENT_COMPLAINED]);
    const subscriptions = [
      (await appTester(bounced.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-bounced` }))) as { id: string },
      (await appTester(complained.performSubscribe as never, bundle({}, { targetUrl: `${receiver.url}/ok/zap-complained` }))) as { id: string },
    ];

    // A campaign's recipients, as edge/campaigns writes them; their bounces come from the customer's SES webhook.
    const headers = { authorization: `Bearer ${stack.devApiKey}`, "content-type": "application/json" };
    const account = (await (await fetch(`${stack.url}/api/v1/account`, { headers })).json()) as { id: string };
    const { db, client } = createDb({ url: stack.sqld.url });
    const campaignId = newId("cmp");
    await db.insert(campaigns).values({
      id: campaignId, accountId: account.id, name: "zapier bounces", jobId: newId("job"), senderId: newId("snd"), templateId: newId("tpl"),
      status: "sending", consentBasis: "opt_in", consentSource: "signup form", createdBy: "dev_key",
    });
    const rows = await db
      .insert(campaignRecipients)
      .values(["gone@example.com", "angry@example.com"].map((email, rowIndex) => ({ campaignId, normalized: email, email, rowIndex, status: "sent" as const })))
      .returning({ id: campaignRecipients.id });
    client.close();
    const occurred_at = "2025-03-15T10:04:12.000Z";
    for (const body of [
      { email: "gone@example.com", kind: "hard", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 user unknown", campaign_id: campaignId, occurred_at },
      { email: "angry@example.com", kind: "complaint", campaign_id: campaignId, occurred_at },
    ]) {
      const reported = await fetch(`${stack.url}/api/v1/bounces`, { method: "POST", headers, body: JSON.stringify(body) });
      expect(reported.status).toBe(201);
      await reported.body?.cancel();
    }

    for (const path of ["/ok/zap-bounced", "/ok/zap-complained"]) {
      for (const deadline = Date.now() + 20_000; !receiver.received.some((r) => r.path === path); ) {
        if (Date.now() > deadline) throw new Error(`no delivery to ${path} within 20 s`);
        await new Promise((r) => setTimeout(r, 100)); // polling the receiver's log
      }
    }
    const body = (path: string) => JSON.parse(receiver.received.find((r) => r.path === path)!.body);
    const common = { source: "api", campaign_id: campaignId, suppressed: true, refunded_job_id: null, occurred_at, bounce_id: expect.stringMatching(/^bnc_/) };
    const hard = { ...common, email: "gone@example.com", kind: "hard", category: "mailbox", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 user unknown", recipient_id: rows[0]!.id };
    const complaint = { ...common, email: "angry@example.com", kind: "complaint", category: null, status: null, diagnostic: null, recipient_id: rows[1]!.id };
    expect(await appTester(bounced.perform as never, bundle({}, { cleanedRequest: body("/ok/zap-bounced") }))).toEqual([hard]);
    expect(await appTester(complained.perform as never, bundle({}, { cleanedRequest: body("/ok/zap-complained") }))).toEqual([complaint]);
    expect(await appTester(complained.perform as never, bundle({}, { cleanedRequest: body("/ok/zap-bounced") }))).toEqual([]);
    expect(await appTester(bounced.performList as never, bundle())).toEqual([hard]);
    await appTester(bounced.performUnsubscribe as never, bundle({}, { subscribeData: subscriptions[0] }));
    await appTester(complained.performUnsubscribe as never, bundle({}, { subscribeData: subscriptions[1] }));
  }, 40_000);
});
