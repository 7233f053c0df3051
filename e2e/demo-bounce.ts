// `npm run demo:bounce`: a campaign's bounces arriving, on the stack `npm start` (or `npm run demo`)
// runs. Takes the most recent campaign's messages from the relay sink's inbox, writes real-format
// bounces for a few of them with each message's own envelope (e2e/bounce-mail.ts: a Postfix
// "User unknown", a delay notice, a feedback-loop complaint; each to the message's VERP address,
// about its Message-ID), drops them into the local Dovecot mailbox, makes sure the account has a
// bounce mailbox reading it (POST /api/v1/bounce-mailboxes), asks for a read (…/poll) and shows
// what came of it. The campaign's account is the API key's: the local dev key's unless `--key`
// names another account's key (one made on the API keys page by whoever sent the campaign).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ImapFlow } from "imapflow";
import type { BounceView } from "../edge/bounces/views.ts";
import type { MailboxView } from "../edge/bounces/mailboxviews.ts";
import { arfComplaint, delayedDsn, postfixBounce, sentOriginal, type OriginalMessage } from "./bounce-mail.ts";
import { RELAY_SINK_CA_FILE } from "./relay-sink.ts";
import { RUNNING_FILE, type RunningStack } from "./stack.ts";

const { values } = parseArgs({ options: { key: { type: "string" } } });
const say = (line: string) => console.log(`mxray demo:bounce  ${line}`);
function fail(line: string): never {
  say(line);
  process.exit(1);
}

let running: RunningStack;
try {
  running = JSON.parse(readFileSync(RUNNING_FILE, "utf8")) as RunningStack;
} catch {
  fail("the local stack is not running: start it with `npm run demo` (or `npm start`), send a campaign, then run this again");
}
const key = values.key ?? running.api_key;
const api = async <T>(path: string, init: RequestInit = {}, ok = [200, 201, 202]): Promise<T> => {
  const res = await fetch(`${running.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers } });
  const body = await res.text();
  if (!ok.includes(res.status)) fail(`${init.method ?? "GET"} ${path} answered ${res.status}: ${body.slice(0, 300)}`);
  return (body ? JSON.parse(body) : null) as T;
};

// The relay sink's messages, newest last; the campaign of the newest campaign message.
interface Listed {
  id: number;
  mailFrom: string;
  rcptTo: string[];
  receivedAt: number;
}
const listed = (await (await fetch(`${running.relay_inbox_url}/messages`)).json()) as Listed[];
const sent = await Promise.all(
  listed
    .filter((m) => m.mailFrom.startsWith("bounce+"))
    .map(async (m) => ({ ...m, raw: await (await fetch(`${running.relay_inbox_url}/messages/${m.id}/raw`)).text() })),
);
const campaignOf = (raw: string) => /^Message-ID:\s*<\d+\.(cmp_[0-9a-z]+)@/im.exec(raw)?.[1] ?? null;
const campaignId = sent.map((m) => campaignOf(m.raw)).filter((c) => c !== null).at(-1);
if (!campaignId) fail(`no campaign message in the relay sink's inbox (${running.relay_inbox_url}): send a campaign through the relay sink first (docs/campaigns.md)`);
const messages: OriginalMessage[] = sent.filter((m) => campaignOf(m.raw) === campaignId).map(sentOriginal);

// A hard bounce, a soft one and a complaint, for the campaign's first few recipients.
const styles = [
  { what: "hard bounce (Postfix, 550 5.1.1 User unknown)", build: postfixBounce },
  { what: "soft bounce (Postfix delay notice, 4.4.1)", build: delayedDsn },
  { what: "complaint (RFC 5965 feedback report)", build: arfComplaint },
];
const picked = messages.slice(0, styles.length).map((orig, i) => ({ orig, ...styles[i]! }));
const imap = new ImapFlow({ host: running.imap.host, port: running.imap.tlsPort, secure: true, tls: { ca: readFileSync(RELAY_SINK_CA_FILE, "utf8") }, auth: { user: running.imap.user, pass: running.imap.password }, logger: false });
await imap.connect();
try {
  for (const p of picked) await imap.append("INBOX", p.build(p.orig));
} finally {
  await imap.logout();
}
for (const p of picked) say(`dropped a ${p.what} for ${p.orig.to} (to ${p.orig.verp}) into the local IMAP mailbox (user ${running.imap.user})`);

// The campaign must be the key's account's: its bounce mailbox is the one that reads them.
const found = await fetch(`${running.url}/api/v1/campaigns/${campaignId}`, { headers: { authorization: `Bearer ${key}` } });
await found.body?.cancel();
if (found.status === 404) {
  fail(
    `campaign ${campaignId} is another account's: run \`npm run demo:bounce -- --key <that account's API key>\`, or add a bounce mailbox there ` +
      `(host ${running.imap.host}, port ${running.imap.tlsPort}, security tls, user ${running.imap.user}, password ${running.imap.password}) and poll it`,
  );
}
const mailboxes = await api<{ data: MailboxView[] }>("/api/v1/bounce-mailboxes?limit=100");
const mailbox =
  mailboxes.data.find((m) => m.host === running.imap.host && m.port === running.imap.tlsPort && m.username === running.imap.user) ??
  (await api<MailboxView>("/api/v1/bounce-mailboxes", {
    method: "POST",
    body: JSON.stringify({ name: "Local Dovecot (demo)", host: running.imap.host, port: running.imap.tlsPort, security: "tls", username: running.imap.user, password: running.imap.password, processed_folder: "mxray-processed" }),
  }));
const mailboxBounces = async () => (await api<{ data: BounceView[] }>(`/api/v1/bounces?campaign_id=${campaignId}&limit=100`)).data.filter((b) => b.mailbox_id === mailbox.id);
const before = (await mailboxBounces()).length;
say(`bounce mailbox ${mailbox.id} reads ${running.imap.user}@${running.imap.host}:${running.imap.tlsPort}; asking its probe to read it now`);
await api(`/api/v1/bounce-mailboxes/${mailbox.id}/poll`, { method: "POST" });

// Until the new bounces are stored (a read is one write), at most a minute.
const deadline = Date.now() + 60_000;
let bounces: BounceView[] = [];
while ((bounces = await mailboxBounces()).length < before + picked.length && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 500)); // waiting for the probe's read, with a deadline
}
const fresh = bounces.slice(0, bounces.length - before); // newest first
for (const b of fresh) say(`${b.email}: ${b.kind}${b.status ? ` ${b.status}` : ""}${b.refunded_job_id ? `, credit refunded (job ${b.refunded_job_id})` : ""}`);
if (fresh.length < picked.length) fail(`only ${fresh.length} of ${picked.length} bounces arrived within a minute; see the mailbox's last_error: GET ${running.url}/api/v1/bounce-mailboxes/${mailbox.id}`);
say(`see ${running.url}/campaigns/${campaignId} (recipients' bounces), GET /api/v1/suppressions and GET /api/v1/credits/ledger`);
