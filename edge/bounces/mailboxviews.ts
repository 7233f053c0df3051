// What the API answers and the app shows of bounce mailboxes, written once as zod schemas (field
// notes in `.meta()`, which the OpenAPI document shows). The password never leaves: only that one
// is set. The cursor (uidvalidity, last_uid) and the epoch are the probes' business, not shown.
import { z } from "zod";
import { MailboxTestAnswerSchema } from "../../core/contracts.ts";
import { RELAY_SECURITIES } from "../../core/enums.ts";
import type { bounceMailboxes } from "../../db/schema.ts";

export type MailboxRow = typeof bounceMailboxes.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const MailboxSecuritySchema = z.enum(RELAY_SECURITIES).meta({
  description: "`tls`: TLS from the first byte (RFC 8314), usually port 993; `starttls`: plain connection upgraded with STARTTLS (RFC 9051 §6.2.1), usually 143; `none`: no TLS, never over the internet (local servers only)",
});

export const MailboxViewSchema = z.object({
  id: z.string().meta({ example: "bmx_0d3kq8zp1m0avw2xbycd" }),
  name: z.string().meta({ example: "Bounces at Fastmail" }),
  host: z.string().meta({ example: "imap.fastmail.com" }),
  port: z.number().int().meta({ example: 993 }),
  security: MailboxSecuritySchema,
  username: z.string().meta({ example: "bounces@news.example.com" }),
  has_password: z.boolean().meta({ description: "A password is stored (encrypted); it is never returned" }),
  folder: z.string().meta({ example: "INBOX", description: "The folder read for bounces" }),
  processed_folder: z.string().nullable().meta({
    example: "mxray-processed",
    description: "Where messages recognised as ours are moved; null: they stay and are flagged `$MxrayProcessed`. Nothing else is ever moved, flagged or deleted",
  }),
  probe_id: z.string().nullable().meta({ example: "prb_fra1", description: "The probe that reads the mailbox now; null until one takes it (within a heartbeat)" }),
  assigned_at: z.string().nullable().meta({ format: "date-time" }),
  last_polled_at: z.string().nullable().meta({ format: "date-time", description: "The last read the probe reported" }),
  last_error: z.string().nullable().meta({ example: "NO [AUTHENTICATIONFAILED] Authentication failed.", description: "Why the last read failed; null when it worked" }),
  messages_seen: z.number().int().meta({ example: 1_204, description: "Messages read so far" }),
  messages_ours: z.number().int().meta({ example: 87, description: "Of them, recognised as ours: bounces, complaints and auto-replies to campaign mail" }),
  tested_at: z.string().nullable().meta({ format: "date-time", description: "The last `POST /api/v1/bounce-mailboxes/{id}/test`" }),
  test_ok: z.boolean().nullable(),
  test_detail: z.string().nullable().meta({ example: "INBOX opened: 12 messages" }),
  created_at: z.string().meta({ format: "date-time" }),
  updated_at: z.string().meta({ format: "date-time" }),
});
export type MailboxView = z.infer<typeof MailboxViewSchema>;

export function mailboxView(row: MailboxRow): MailboxView {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    port: row.port,
    security: row.security,
    username: row.username,
    has_password: row.password.length > 0,
    folder: row.folder,
    processed_folder: row.processedFolder,
    probe_id: row.probeId,
    assigned_at: iso(row.assignedAt),
    last_polled_at: iso(row.lastPolledAt),
    last_error: row.lastError,
    messages_seen: row.messagesSeen,
    messages_ours: row.messagesOurs,
    tested_at: iso(row.testedAt),
    test_ok: row.testOk,
    test_detail: row.testDetail,
    created_at: iso(row.createdAt)!,
    updated_at: iso(row.updatedAt)!,
  };
}

/** What a mailbox test answers: how far the probe got (connect, tls, auth, folder, done), the server's words, and the folder's size. */
export const MailboxTestResultSchema = MailboxTestAnswerSchema;
export type MailboxTestResult = z.infer<typeof MailboxTestResultSchema>;
