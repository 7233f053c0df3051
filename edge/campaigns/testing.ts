// Test helpers for campaigns inside workerd: a world seeded row by row (an account, its completed
// verification job with a row of every verdict, a suppressed address, a confirmed sender with two
// relays whose passwords are sealed, a template), and a campaign on it moved straight to sending.
import { newId } from "../../core/ids.ts";
import type { Verdict } from "../../core/verdict.ts";
import { accounts, campaigns, jobEmails, jobs, relays, senders, suppressions, templates } from "../../db/schema.ts";
import type { Services } from "../context.ts";
import { sealSecret, vaultOf } from "../secrets/secrets.ts";
import { materializeCampaign } from "./audience.ts";
import { takeSnapshot } from "./snapshot.ts";

export const RELAY_PASSWORDS = ["first-relay-password", "second-relay-password"];

/** The job's rows: [row_index, address as given, verdict, first_name]. Row indices have gaps, as after a dedupe. */
export const JOB_ROWS: [number, string, Verdict, string][] = [
  [0, "Ada@X.test", "deliverable", "Ada"],
  [1, "bob@x.test", "deliverable", "Bob"],
  [2, "cay@x.test", "risky", "Cay"],
  [4, "dan@x.test", "undeliverable", "Dan"],
  [5, "eve@x.test", "unknown", "Eve"],
  [7, "not an address", "undeliverable", "Syn"], // refused at ingest for its syntax
  [8, "sue@x.test", "deliverable", "Sue"], // suppressed
  [9, "rex@x.test", "risky", "Rex"], // suppressed
  [11, "fay@x.test", "deliverable", "Fay"],
];
export const SUPPRESSED = ["sue@x.test", "rex@x.test"];

export interface World {
  accountId: string;
  jobId: string;
  senderId: string;
  templateId: string;
  relayIds: string[];
}

/** An account (existing or new) with a completed job, a confirmed sender, its relays and a template. */
export async function seedWorld(s: Services, opts: { accountId?: string; confirmed?: boolean; jobStatus?: "completed" | "running" | "failed" } = {}): Promise<World> {
  const { db } = s;
  const accountId = opts.accountId ?? newId("acc");
  if (!opts.accountId) await db.insert(accounts).values({ id: accountId, name: accountId, kind: "personal" });
  const jobId = newId("job");
  await db.insert(jobs).values({
    id: jobId, accountId, name: "list.csv", kind: "verify", status: opts.jobStatus ?? "completed", total: JOB_ROWS.length, unique: JOB_ROWS.length, processed: JOB_ROWS.length,
    columns: JSON.stringify(["email", "first_name", "company"]), emailColumn: "email",
  });
  await db.insert(jobEmails).values(
    JOB_ROWS.map(([rowIndex, email, verdict, first]) => ({
      jobId, normalized: email.toLowerCase(), email, rowIndex, row: JSON.stringify([email, first, `${first} & Co`]), batchId: email.includes(" ") ? null : "bat_x",
      verdict, reason: email.includes(" ") ? "syntax" : verdict === "deliverable" ? "accepted" : "mailbox_not_found", result: JSON.stringify({ email, verdict }),
    })),
  );
  await db.insert(suppressions).values(SUPPRESSED.map((email) => ({ accountId, email, reason: "unsubscribed" as const, source: "test" })));
  const relayIds = [newId("rly"), newId("rly")];
  const vault = await vaultOf(s);
  for (const [i, id] of relayIds.entries()) {
    await db.insert(relays).values({
      id, accountId, name: `relay ${i}`, host: "127.0.0.1", port: 2525 + i, security: "starttls", username: `user${i}`, maxPerMinute: 60, maxPerDay: 1_000,
      password: await sealSecret(vault, accountId, { purpose: "relay.password", recordId: id }, RELAY_PASSWORDS[i]!),
    });
  }
  const senderId = newId("snd");
  await db.insert(senders).values({
    id: senderId, accountId, fromEmail: "news@sender.test", fromName: "News", replyTo: null, relayIds: JSON.stringify(relayIds), confirmedAt: opts.confirmed === false ? null : Date.now(),
  });
  const templateId = newId("tpl");
  await db.insert(templates).values({ id: templateId, accountId, name: "t", subject: "Hi {{ first_name }}", html: "<p>Hello {{ first_name | default: 'there' }}</p>{{ unsubscribe_url }}", text: null });
  return { accountId, jobId, senderId, templateId, relayIds };
}

/** A campaign of the world, as created (a draft), or moved straight to sending with its snapshot (not yet materialised). */
export async function seedCampaign(s: Services, w: World, opts: { status?: "draft" | "sending"; includeRisky?: boolean; ratePerHour?: number | null; startedAt?: number } = {}): Promise<string> {
  const id = newId("cmp");
  const sending = opts.status === "sending";
  const read = await takeSnapshot(s.db, w);
  if (!read.ok) throw new Error(read.message);
  await s.db.insert(campaigns).values({
    id, accountId: w.accountId, name: "c", jobId: w.jobId, senderId: w.senderId, templateId: w.templateId, includeRisky: opts.includeRisky ?? false,
    ratePerHour: opts.ratePerHour ?? null, status: sending ? "sending" : "draft", consentBasis: "opt_in", consentSource: "a form", createdBy: "key_test",
    snapshot: sending ? JSON.stringify(read.snapshot) : null, startedAt: sending ? (opts.startedAt ?? Date.now()) : null,
  });
  return id;
}

/** A sending campaign with its audience materialised. */
export async function seedSendingCampaign(s: Services, w: World, opts: { includeRisky?: boolean; ratePerHour?: number | null; startedAt?: number } = {}): Promise<string> {
  const id = await seedCampaign(s, w, { ...opts, status: "sending" });
  await materializeCampaign(s, id);
  return id;
}
