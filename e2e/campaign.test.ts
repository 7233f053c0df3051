// A campaign end to end on the real local stack (sqld + the Worker under wrangler dev + two probe
// daemons + the simulated world + the local relay sink), driven through the public API as a
// customer would (issue 23): a list verified, a relay tested, a sender confirmed through the link
// its confirmation message carried, a template, a campaign started and completed; then what the
// relay sink received, message by message, against the job's verdicts; RFC 8058 one-click
// unsubscribe with the exact POST mail providers send; the suppression honoured by a later
// campaign; the events at a webhook endpoint. Then "no recipient gets two copies": a send batch
// delivered twice, and a probe killed while its relay holds a batch's answers.
import { simpleParser, type ParsedMail } from "mailparser";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView, SendBatch } from "../core/contracts.ts";
import { signQstash, QSTASH_SIGNATURE_HEADER } from "../core/qstash.ts";
import { probeTransportKey, seal } from "../core/secrets.ts";
import { recipientToken } from "../core/unsubscribe.ts";
import { createDb } from "../db/client.ts";
import type { CampaignView, RecipientView } from "../edge/campaigns/views.ts";
import { parseSnapshot } from "../edge/campaigns/snapshot.ts";
import type { SenderWithConfirmation, SenderView } from "../edge/senders/views.ts";
import { rowVariables } from "../edge/templates/variables.ts";
import { DEFAULT_GROUP_SIZE } from "../probe/sending/sendbatch.ts";
import { DEFAULT_CONNECTIONS } from "../probe/sending/transport.ts";
import type { SunkMessage } from "./relay-sink.ts";
import { scratchDir } from "./scratch.ts";
import { startStack, type Stack } from "./stack.ts";
import { startStandInReceiver } from "./standin-receiver.ts";
import { startWorld, type World } from "./world/index.ts";

/** The short lease the fault test lets lapse (only stack.sweep() takes batches back: sweepMs is 0). */
const SEND_LEASE_MS = 3_000;

let world: World;
let stack: Stack;
let receiver: Awaited<ReturnType<typeof startStandInReceiver>>;
let db: ReturnType<typeof createDb>;

const api = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, { ...init, headers: { authorization: `Bearer ${stack.devApiKey}`, ...init.headers } });
const post = (path: string, body?: unknown) =>
  api(path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
async function json<T>(res: Response | Promise<Response>, status: number): Promise<T> {
  const r = await res;
  const body = await r.text();
  expect(r.status, body).toBe(status);
  return JSON.parse(body) as T;
}

/** Polls a condition (with a deadline, not a sleep) until it holds. */
async function until<T>(what: string, read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (${JSON.stringify(v).slice(0, 400)})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function verifiedJob(body: string, contentType: string): Promise<JobView> {
  const created = await json<JobView>(api("/api/v1/jobs", { method: "POST", body, headers: { "content-type": contentType } }), 201);
  return until("job completed", () => json<JobView>(api(`/api/v1/jobs/${created.id}`), 200), (j) => j.status === "completed", 90_000);
}

const getCampaign = (id: string) => json<CampaignView>(api(`/api/v1/campaigns/${id}`), 200);
const untilCampaign = (id: string, status: CampaignView["status"]) => until(`campaign ${id} ${status}`, () => getCampaign(id), (c) => c.status === status);

async function recipientsOf(id: string): Promise<RecipientView[]> {
  const all: RecipientView[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: { data: RecipientView[]; next_cursor: string | null } = await json(api(`/api/v1/campaigns/${id}/recipients?limit=100${cursor ? `&cursor=${cursor}` : ""}`), 200);
    all.push(...page.data);
    if (!(cursor = page.next_cursor)) return all;
  }
}

/** The sink's messages of one campaign: each message's id is `<recipient id>.<campaign id>@<from domain>` (probe/sending/compose.ts). */
const sunkFor = (campaignId: string): SunkMessage[] => stack.relaySink.messages.filter((m) => new RegExp(`^Message-ID: <\\d+\\.${campaignId}@`, "im").test(m.raw));
const sunkTo = (messages: SunkMessage[]) => messages.flatMap((m) => m.rcptTo).sort();

interface Setup {
  sender: SenderView;
  templateId: string;
  relayId: string;
}

const CONSENT = { basis: "opt_in", source: "Sign-up form on sender.test, double opt-in" } as const;

async function newCampaign(setup: Setup, jobId: string, name: string, extra: Record<string, unknown> = {}): Promise<CampaignView> {
  const made = await json<CampaignView>(post("/api/v1/campaigns", { name, job_id: jobId, sender_id: setup.sender.id, template_id: setup.templateId, consent: CONSENT, ...extra }), 201);
  expect(made).toMatchObject({ status: "draft", consent: CONSENT });
  return made;
}

beforeAll(async () => {
  // The scripted domains, and generated ones for a list long enough to span several claim groups.
  world = await startWorld({ greylistDelayMs: 1000, bulk: { domains: 3, addresses: 90, seed: 23, immediate: true } });
  receiver = await startStandInReceiver();
  stack = await startStack({ dataDir: scratchDir("campaign"), world, probes: 2, sweepMs: 0, vars: { MXRAY_SEND_LEASE_MS: String(SEND_LEASE_MS) } });
  db = createDb({ url: stack.sqld.url });
}, 180_000);

afterAll(async () => {
  db?.client.close();
  await stack?.stop();
  await world?.stop();
  await receiver?.close();
});

// A CSV with first names (one empty), mixed verdicts and one address twice in another case.
const LIST = [
  ["email", "first_name", "city"],
  ["alice@ok.test", "Alice", "Leeds"],
  ["bob@ok.test", "", "York"],
  ["carol@ok.test", "Carol", "Bath"],
  ["jane.doe@gmail.com", "Jane", "Hull"],
  ["john.smith@gmail.com", "John", "Ely"],
  ["fullbox@ok.test", "Fay", "Wells"], // risky: mailbox full
  ["anyone@catchall.test", "Ann", "Ripon"], // risky: accept-all
  ["nobody@ok.test", "Nob", "Derby"], // undeliverable
  ["user@nxdomain.test", "Nix", "Truro"], // undeliverable
  ["user@servfail.test", "Sam", "Poole"], // unknown
  ["ALICE@ok.test", "Alice again", "Leeds"], // the same address: one row of the job
];
// The job keeps an address's first row.
const firstNameOf = new Map(LIST.slice(1).reverse().map(([email, first]) => [email!.toLowerCase(), first!]));
const DELIVERABLE = ["alice@ok.test", "bob@ok.test", "carol@ok.test", "jane.doe@gmail.com", "john.smith@gmail.com"];
const RISKY = ["anyone@catchall.test", "fullbox@ok.test"];
const TEMPLATE = {
  name: "Spring news",
  subject: 'Hello {{ first_name | default: "there" }}, spring news',
  html: '<p>Hi {{ first_name | default: "there" }} of {{ city }},</p><p>The spring range is here.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
};

let job: JobView;
let setup: Setup;
let endpointSecret: string;

describe("a campaign through the local stack", () => {
  it("verifies the list, tests the relay, confirms the sender by the link it was sent, saves and previews the template", async () => {
    job = await verifiedJob(`${LIST.map((r) => r.join(",")).join("\n")}\n`, "text/csv");
    expect(job).toMatchObject({ total: 11, unique: 10, counts: { deliverable: 5, risky: 2, undeliverable: 2, unknown: 1 } });

    const endpoint = await json<{ secret: string }>(post("/api/v1/webhooks", { url: `${receiver.url}/ok/campaigns`, events: ["campaign.completed", "recipient.unsubscribed"] }), 201);
    endpointSecret = endpoint.secret;

    const relay = await json<{ id: string; has_password: boolean }>(
      post("/api/v1/relays", {
        name: "Local relay sink",
        host: stack.relaySink.host,
        port: stack.relaySink.port,
        security: "starttls",
        username: stack.relayUser,
        password: stack.relayPassword,
        max_per_minute: 600,
        max_per_day: 10_000,
      }),
      201,
    );
    expect(relay).toMatchObject({ has_password: true });
    expect(JSON.stringify(relay)).not.toContain(stack.relayPassword);
    expect(await json(post(`/api/v1/relays/${relay.id}/test`), 200)).toMatchObject({ ok: true, stage: "done" });
    expect(stack.relaySink.messages).toHaveLength(0); // a test authenticates and sends nothing

    const sender = await json<SenderWithConfirmation>(
      post("/api/v1/senders", { from_email: "news@sender.test", from_name: "Sender News", relay_ids: [relay.id], bounce_domain: "bounce.sender.test", dkim_selector: "mx1" }),
      201,
    );
    expect(sender).toMatchObject({ confirmed: false, confirmation: { sent: true } });
    const [confirmation] = await stack.relaySink.waitForMessages(1);
    expect(confirmation!.rcptTo).toEqual(["news@sender.test"]);
    const parsed = await simpleParser(confirmation!.raw);
    const link = /https?:\/\/\S+\/senders\/confirm\/[\w.-]+/.exec(parsed.text ?? "")?.[0];
    expect(link, parsed.text).toBeDefined();
    expect(link!.startsWith(`${stack.url}/senders/confirm/`)).toBe(true);
    // Following the link (as a mail scanner does) changes nothing; pressing Confirm does.
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect((await json<SenderView>(api(`/api/v1/senders/${sender.id}`), 200)).confirmed).toBe(false);
    expect((await fetch(link!, { method: "POST" })).status).toBe(200);
    const confirmed = await json<SenderView>(api(`/api/v1/senders/${sender.id}`), 200);
    expect(confirmed).toMatchObject({ confirmed: true, bounce_domain: "bounce.sender.test" });

    // The domain's checklist, from the world's DNS through a probe.
    const checked = await json<SenderView>(post(`/api/v1/senders/${sender.id}/check`), 200);
    expect(Object.fromEntries(checked.checklist.items.map((i) => [i.check, i.status]))).toEqual({ spf: "pass", dkim: "pass", dmarc: "pass", bounce_mx: "pass" });

    const template = await json<{ id: string; variables: string[] }>(post("/api/v1/templates", TEMPLATE), 201);
    const preview = await json<{ subject: string; text: string }>(post(`/api/v1/templates/${template.id}/preview`, { job_id: job.id }), 200);
    expect(preview.subject).toBe("Hello Alice, spring news");
    expect(preview.text).toContain("Hi Alice of Leeds,");
    setup = { sender: confirmed, templateId: template.id, relayId: relay.id };
  }, 120_000);

  let first: CampaignView;
  let firstMessages: { message: SunkMessage; mail: ParsedMail; token: string }[];

  it("sends one message per deliverable address, none to the others, each with its headers, and counts add up", async () => {
    const draft = await newCampaign(setup, job.id, "Spring news");
    expect((await json<CampaignView>(post(`/api/v1/campaigns/${draft.id}/start`), 200)).status).toMatch(/^(sending|completed)$/);
    first = await untilCampaign(draft.id, "completed");
    expect(first.counts).toEqual({ audience: 5, sent: 5, failed: 0, suppressed: 0, skipped_unverified: 5, unsubscribed: 0, bounced: 0, unknown_outcome: 0 });
    expect(first.counts.audience + first.counts.suppressed + first.counts.skipped_unverified).toBe(job.unique);

    const sunk = sunkFor(first.id);
    expect(sunkTo(sunk)).toEqual([...DELIVERABLE].sort());
    // And nothing else reached the relay: the sender's confirmation and these.
    expect(stack.relaySink.messages).toHaveLength(1 + DELIVERABLE.length);
    const recipients = await recipientsOf(first.id);
    expect(recipients.map((r) => [r.email, r.status, r.verdict])).toEqual(DELIVERABLE.map((e) => [e, "sent", "deliverable"]));

    firstMessages = [];
    for (const message of sunk) {
      const to = message.rcptTo[0]!;
      const mail = await simpleParser(message.raw);
      // The envelope names the recipient (VERP) and its token is the unsubscribe URL's.
      const token = /^bounce\+([^@]+)@bounce\.sender\.test$/.exec(message.mailFrom)?.[1];
      expect(token, message.mailFrom).toBeDefined();
      expect(mail.from?.value).toEqual([{ address: "news@sender.test", name: "Sender News" }]);
      expect(mail.to && "value" in mail.to ? mail.to.value.map((v) => v.address) : []).toEqual([to]);
      const first = firstNameOf.get(to) || "there";
      expect(mail.subject).toBe(`Hello ${first}, spring news`);
      const url = `${stack.url}/u/${token}`;
      expect(message.raw).toMatch(new RegExp(`^List-Unsubscribe: <${url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}>\\r?$`, "m"));
      expect(message.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
      expect(mail.html).toContain(`<a href="${url}">Unsubscribe</a>`);
      expect(mail.html).toContain(`Hi ${first} of `);
      expect(mail.text).toContain(url);
      // The relay's queue id is the recipient's.
      expect(recipients.find((r) => r.email === to)?.queue_id).toBe(message.queueId);
      firstMessages.push({ message, mail, token: token! });
    }
  }, 120_000);

  it("unsubscribes with RFC 8058's one-click POST, and a later campaign (with risky addresses) skips the address", async () => {
    const { message, token } = firstMessages.find((m) => m.message.rcptTo[0] === "carol@ok.test")!;
    const url = /^List-Unsubscribe: <([^>]+)>/m.exec(message.raw)![1]!;
    // What a mail provider sends: this body, this type, no cookie, no key.
    const res = await fetch(url, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(url).toBe(`${stack.url}/u/${token}`);
    const list = await json<{ data: { email: string; reason: string; campaign_id: string | null; source: string }[] }>(api("/api/v1/suppressions"), 200);
    expect(list.data).toEqual([expect.objectContaining({ email: "carol@ok.test", reason: "unsubscribed", campaign_id: first.id, source: "recipient" })]);
    expect((await getCampaign(first.id)).counts.unsubscribed).toBe(1);
    const exported = await (await api("/api/v1/suppressions/export")).text();
    expect(exported).toContain("carol@ok.test");

    const before = stack.relaySink.messages.length;
    const draft = await newCampaign(setup, job.id, "Spring news, all", { include_risky: true });
    await json(post(`/api/v1/campaigns/${draft.id}/start`), 200);
    const second = await untilCampaign(draft.id, "completed");
    const sendable = [...DELIVERABLE.filter((e) => e !== "carol@ok.test"), ...RISKY].sort();
    expect(second.counts).toEqual({ audience: sendable.length, sent: sendable.length, failed: 0, suppressed: 1, skipped_unverified: 3, unsubscribed: 0, bounced: 0, unknown_outcome: 0 });
    expect(second.counts.audience + second.counts.suppressed + second.counts.skipped_unverified).toBe(job.unique);
    expect(sunkTo(sunkFor(second.id))).toEqual(sendable);
    expect(stack.relaySink.messages).toHaveLength(before + sendable.length);

    // campaign.completed for each, recipient.unsubscribed once, each signed with the endpoint's secret.
    const events = await until("webhook events", () => receiver.received.filter((r) => r.path === "/ok/campaigns"), (r) => r.length >= 3);
    const payloads = events.map((e) => new Webhook(endpointSecret).verify(e.body, e.headers) as { type: string; data: { id?: string; email?: string; campaign_id?: string } });
    expect(payloads.filter((p) => p.type === "campaign.completed").map((p) => p.data.id).sort()).toEqual([first.id, second.id].sort());
    expect(payloads.filter((p) => p.type === "recipient.unsubscribed").map((p) => p.data)).toEqual([expect.objectContaining({ email: "carol@ok.test", campaign_id: first.id })]);
  }, 120_000);
});

/** A send batch as edge/campaigns/dispatch.ts builds it for its current dispatch, read back from the database. */
async function dispatchedBatch(batchId: string): Promise<{ batch: SendBatch; probeId: string }> {
  const [row] = (await db.client.execute({ sql: "SELECT campaign_id, account_id, probe_id, attempts FROM send_batches WHERE id = ? AND status = 'dispatched'", args: [batchId] })).rows;
  if (!row) throw new Error(`send batch ${batchId} is not out`);
  const campaignId = String(row.campaign_id);
  const accountId = String(row.account_id);
  const [campaign] = (await db.client.execute({ sql: "SELECT c.snapshot, j.columns FROM campaigns c JOIN jobs j ON j.id = c.job_id WHERE c.id = ?", args: [campaignId] })).rows;
  const snapshot = parseSnapshot(String(campaign!.snapshot));
  const columns = JSON.parse(String(campaign!.columns)) as string[];
  const recipients = await db.client.execute({
    sql: `SELECT r.id, r.email, e.row FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
          LEFT JOIN job_emails e ON e.job_id = c.job_id AND e.normalized = r.normalized WHERE r.batch_id = ? ORDER BY r.id`,
    args: [batchId],
  });
  const transport = await probeTransportKey(stack.secrets.probeSecret);
  const relays = await Promise.all(
    snapshot.relay_ids.map(async (id) => {
      const [r] = (await db.client.execute({ sql: "SELECT host, port, security, username, max_per_minute, max_per_day FROM relays WHERE id = ?", args: [id] })).rows;
      return {
        id,
        host: String(r!.host),
        port: Number(r!.port),
        security: r!.security as "starttls",
        username: String(r!.username),
        // As edge/relays wireRelays seals it for a probe (purpose "relay.password", the relay id).
        password: await seal(transport, { purpose: "relay.password", recordId: id }, stack.relayPassword),
        max_per_minute: Number(r!.max_per_minute),
        max_per_day: Number(r!.max_per_day),
      };
    }),
  );
  const batch: SendBatch = {
    batch_id: batchId,
    campaign_id: campaignId,
    attempt: Number(row.attempts),
    sender: snapshot.sender,
    bounce_domain: snapshot.bounce_domain,
    relays,
    template: snapshot.template,
    unsubscribe_base: `${stack.url}/u/`,
    recipients: await Promise.all(
      recipients.rows.map(async (r) => ({
        id: Number(r.id),
        email: String(r.email),
        token: await recipientToken(stack.secrets.sessionSecret, { accountId, campaignId, recipientId: Number(r.id) }),
        vars: rowVariables(columns, r.row === null ? null : (JSON.parse(String(r.row)) as unknown[]), String(r.email)),
      })),
    ),
    budget_ms: 60_000,
  };
  return { batch, probeId: String(row.probe_id) };
}

/** Delivers a send batch to a probe as QStash does (signed with this install's signing key). */
async function deliver(probeUrl: string, batch: SendBatch): Promise<Response> {
  const url = `${probeUrl}/v1/sends`;
  const body = JSON.stringify(batch);
  return fetch(url, { method: "POST", body, headers: { "content-type": "application/json", [QSTASH_SIGNATURE_HEADER]: await signQstash({ signingKey: stack.secrets.signingKey, url, body }) } });
}

const batchesOf = async (campaignId: string) =>
  (await db.client.execute({ sql: "SELECT id, probe_id, status, attempts FROM send_batches WHERE campaign_id = ? ORDER BY rowid", args: [campaignId] })).rows.map((r) => ({
    id: String(r.id),
    probeId: String(r.probe_id),
    status: String(r.status),
    attempts: Number(r.attempts),
  }));

describe("no recipient gets two copies", () => {
  it("when a send batch is delivered twice: again while it runs, again after, and to another probe", async () => {
    const draft = await newCampaign(setup, job.id, "Delivered twice");
    stack.relaySink.hold();
    await json(post(`/api/v1/campaigns/${draft.id}/start`), 200);
    // Mid-batch: the relay holds the answers of the messages on its connections.
    await stack.relaySink.waitForParked(1);
    const [out] = await batchesOf(draft.id);
    const { batch, probeId } = await dispatchedBatch(out!.id);
    const holder = stack.probes.find((p) => p.id === probeId)!;
    const other = stack.probes.find((p) => p.id !== probeId)!;
    // QStash again, to the same probe while it runs the batch: refused as already running.
    const again = await deliver(holder.url, batch);
    expect(again.status).toBe(409);
    // A copy at another probe claims nothing: the batch is out to the first one.
    const elsewhere = await json<{ sent: number; not_claimed: number; stopped: string | null }>(deliver(other.url, batch), 200);
    expect(elsewhere).toMatchObject({ sent: 0 });
    expect(elsewhere.stopped).toMatch(/^superseded/);
    stack.relaySink.release();
    const done = await untilCampaign(draft.id, "completed");
    // And once more after it finished: every recipient is claimed already.
    const late = await json<{ sent: number; not_claimed: number }>(deliver(holder.url, batch), 200);
    expect(late).toMatchObject({ sent: 0, not_claimed: batch.recipients.length });

    const sendable = DELIVERABLE.filter((e) => e !== "carol@ok.test").sort();
    expect(sunkTo(sunkFor(draft.id))).toEqual(sendable);
    expect(done.counts).toMatchObject({ audience: sendable.length, sent: sendable.length, suppressed: 1, unknown_outcome: 0 });
  }, 120_000);

  it("when a probe is killed mid-batch: what it claimed is unknown_outcome or sent, never sent twice; the rest goes out from the other probe", async () => {
    const deliverable = world.bulkAddresses.filter((a) => world.truth.get(a)?.verdict === "deliverable");
    // More than one claim group (25): the dead probe leaves recipients it never claimed.
    expect(deliverable.length).toBeGreaterThan(30);
    const bulkJob = await verifiedJob(`email,first_name\n${world.bulkAddresses.map((a, i) => `${a},Person ${i}`).join("\n")}\n`, "text/csv");
    expect(bulkJob.counts.deliverable).toBe(deliverable.length);

    const draft = await newCampaign(setup, bulkJob.id, "Killed mid-batch");
    stack.relaySink.hold();
    await json(post(`/api/v1/campaigns/${draft.id}/start`), 200);
    // Each of the pool's connections has handed the relay a message and waits for its answer.
    await stack.relaySink.waitForParked(DEFAULT_CONNECTIONS);
    const [out] = await batchesOf(draft.id);
    expect(out).toMatchObject({ status: "dispatched", attempts: 1 });
    const victim = stack.probes.find((p) => p.id === out!.probeId)!;
    const survivor = stack.probes.find((p) => p.id !== out!.probeId)!;
    await victim.kill();
    const atKill = await getCampaign(draft.id);
    expect(atKill.counts.sent).toBe(0);
    stack.relaySink.release();

    // Once the lease lapses the sweeper takes the batch back and hands it to the live probe.
    await until(
      "the batch taken back",
      async () => (await stack.sweep(), await batchesOf(draft.id)),
      (b) => b[0]!.attempts >= 2 || b[0]!.status === "done",
      60_000,
    );
    const done = await untilCampaign(draft.id, "completed");
    const batches = await batchesOf(draft.id);
    expect(batches).toEqual([expect.objectContaining({ status: "done", attempts: 2, probeId: survivor.id })]);

    const recipients = await recipientsOf(draft.id);
    expect(recipients).toHaveLength(deliverable.length);
    // Every recipient ends in a final status; at most one copy of anyone reached the relay.
    const sunk = sunkTo(sunkFor(draft.id));
    expect(new Set(sunk).size).toBe(sunk.length);
    const byStatus = (s: string) => recipients.filter((r) => r.status === s).map((r) => r.email);
    expect(recipients.filter((r) => !["sent", "unknown_outcome"].includes(r.status))).toEqual([]);
    // The dead probe had claimed one group: those are unknown_outcome, never sent again. One per
    // connection of its pool (parked) reached the relay; the rest of the group never left it.
    const lost = byStatus("unknown_outcome");
    expect(lost).toHaveLength(DEFAULT_GROUP_SIZE);
    expect(sunk.filter((e) => lost.includes(e))).toHaveLength(DEFAULT_CONNECTIONS);
    // The live probe sent the rest, each once.
    expect(byStatus("sent").sort()).toEqual(sunk.filter((e) => !lost.includes(e)));
    expect(byStatus("sent")).toHaveLength(deliverable.length - DEFAULT_GROUP_SIZE);
    expect(done.counts.sent + done.counts.unknown_outcome).toBe(done.counts.audience);
    expect(done.counts).toMatchObject({ audience: deliverable.length, sent: byStatus("sent").length, unknown_outcome: byStatus("unknown_outcome").length, failed: 0 });
    expect(done.counts.audience + done.counts.suppressed + done.counts.skipped_unverified).toBe(bulkJob.unique);
  }, 180_000);
});
