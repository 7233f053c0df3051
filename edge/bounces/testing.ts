// Test helpers for bounces inside workerd: an account whose verification job answered a row of
// each verdict (verified by a known probe at a known MX), a sending campaign of that job with a
// recipient per address and each recipient's token, and a bounce mailbox assigned to a probe
// (inserted as a row: edge/bounces/mailboxes.ts is another part's), with DSN-shaped messages.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import type { MailboxReport, ParsedMessage } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { recipientToken } from "../../core/unsubscribe.ts";
import type { Verdict } from "../../core/verdict.ts";
import { accounts, batches, bounceMailboxes, campaignRecipients, campaigns, jobEmails, jobs, webhookEndpoints } from "../../db/schema.ts";
import { result, seedAccount, testDb } from "../testing.ts";

export const DAY_MS = 86_400_000;
export const VERIFIER_PROBE = "prb_verifier";
export const VERIFIED_MX = "gmail-smtp-in.l.google.com";
export const READER_PROBE = "prb_reader";

/** The job's rows: address as given, verdict. */
export const ADDRESSES: [string, Verdict][] = [
  ["Ada@X.test", "deliverable"],
  ["bob@x.test", "deliverable"],
  ["cay@x.test", "risky"],
  ["dan@x.test", "deliverable"],
  ["eve@x.test", "deliverable"],
];

export interface BounceWorld {
  accountId: string;
  key: string;
  keyId: string;
  jobId: string;
  campaignId: string;
  mailboxId: string;
  /** By lower-cased address. */
  recipients: Map<string, { id: number; token: string }>;
}

/**
 * The world, its job's rows verified `verifiedAt` (default: a day before `now`) and the balance
 * `credits`; the mailbox is READER_PROBE's under epoch 3.
 */
export async function seedBounceWorld(opts: { now?: number; verifiedAt?: number; credits?: number } = {}): Promise<BounceWorld> {
  const db = testDb();
  const now = opts.now ?? Date.now();
  const verifiedAt = opts.verifiedAt ?? now - DAY_MS;
  const { accountId, key, keyId } = await seedAccount(opts.credits ?? 100);
  const jobId = newId("job");
  const batchId = newId("bat");
  await db.insert(jobs).values({
    id: jobId, accountId, name: "list.csv", status: "completed", total: ADDRESSES.length, unique: ADDRESSES.length, processed: ADDRESSES.length,
    deliverable: ADDRESSES.filter(([, v]) => v === "deliverable").length, risky: 1, creditsReserved: ADDRESSES.length, createdAt: verifiedAt - 60_000, finishedAt: verifiedAt,
  });
  await db.insert(batches).values({ id: batchId, jobId, accountId, status: "done", size: ADDRESSES.length, probeId: VERIFIER_PROBE });
  await db.insert(jobEmails).values(
    ADDRESSES.map(([email, verdict], rowIndex) => ({
      jobId, normalized: email.toLowerCase(), email, rowIndex, batchId, verdict, reason: verdict === "deliverable" ? "accepted" : "catch_all",
      result: JSON.stringify(result(email, verdict, { mx: VERIFIED_MX })), createdAt: verifiedAt,
    })),
  );
  const campaignId = newId("cmp");
  await db.insert(campaigns).values({
    id: campaignId, accountId, name: "March", jobId, senderId: newId("snd"), templateId: newId("tpl"), status: "sending", consentBasis: "opt_in",
    consentSource: "signup form", createdBy: keyId, audience: ADDRESSES.length, sent: ADDRESSES.length, startedAt: now - 3_600_000,
  });
  const rows = await db
    .insert(campaignRecipients)
    .values(ADDRESSES.map(([email], rowIndex) => ({ campaignId, normalized: email.toLowerCase(), email, rowIndex, status: "sent" as const })))
    .returning({ id: campaignRecipients.id, normalized: campaignRecipients.normalized });
  const recipients = new Map<string, { id: number; token: string }>();
  for (const r of rows) recipients.set(r.normalized, { id: r.id, token: await recipientToken(env.SESSION_SECRET, { accountId, campaignId, recipientId: r.id }) });
  const mailboxId = newId("bmx");
  await db.insert(bounceMailboxes).values({
    id: mailboxId, accountId, name: "bounces", host: "imap.x.test", port: 993, security: "tls", username: "bounces", password: "v1.sealed-elsewhere",
    processedFolder: "mxray-processed", probeId: READER_PROBE, epoch: 3, assignedAt: now - DAY_MS,
  });
  return { accountId, key, keyId, jobId, campaignId, mailboxId, recipients };
}

/** An endpoint of the account for these events, made after every event a test writes (so the fan-out never delivers). */
export async function subscribeAccount(accountId: string, events: string[]): Promise<void> {
  await testDb().insert(webhookEndpoints).values({
    id: newId("whk"), accountId, kind: "endpoint", url: "http://127.0.0.1:9/never", events: JSON.stringify(events), secret: "v1.never-opened", createdAt: Date.now() + 365 * DAY_MS,
  });
}

export const setSoftSettings = (accountId: string, threshold: number, resetDays: number) =>
  testDb().update(accounts).set({ softBounceThreshold: threshold, softBounceResetDays: resetDays }).where(eq(accounts.id, accountId));

/** A Postfix-style DSN to a VERP address (its token), for one recipient. */
export function dsn(uid: number, token: string | null, email: string, opts: Partial<ParsedMessage> & { status?: string; action?: string } = {}): ParsedMessage {
  const { status = "5.1.1", action = "failed", ...over } = opts;
  return {
    uid,
    message_id: `<20250315100412.${uid}@mx.x.test>`,
    date: null,
    kind: status.startsWith("4") ? "soft" : "hard",
    recipients: [{ email, action, status, diagnostic: `smtp; 550 ${status} <${email}>: Recipient address rejected: User unknown`, remote_mta: "mx.x.test" }],
    token,
    original_message_id: null,
    original_token: null,
    raw: `Return-Path: <>\r\nSubject: Undelivered Mail Returned to Sender\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\nStatus: ${status}\r\n`,
    raw_truncated: false,
    ...over,
  };
}

/** A report of the world's mailbox by its probe under its epoch. */
export function mailboxReport(w: BounceWorld, messages: ParsedMessage[], over: Partial<MailboxReport> = {}): MailboxReport {
  return {
    probe_id: READER_PROBE,
    mailbox_id: w.mailboxId,
    epoch: 3,
    uidvalidity: 7,
    last_uid: Math.max(0, ...messages.map((m) => m.uid)),
    seen: messages.length,
    messages,
    error: null,
    ...over,
  };
}
