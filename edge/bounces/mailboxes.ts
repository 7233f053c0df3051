// Bounce mailboxes (issue 24): the customer's own IMAP mailbox where their campaigns' bounces
// arrive, which a probe reads (docs/decisions/010-bounces.md). The one writer of
// `bounce_mailboxes`, except the assignment (probe_id, epoch, assigned_at: edge/bounces/assign.ts)
// and what a read reports (the cursor, counters, last_polled_at, last_error: edge/bounces/intake.ts).
// The password is sealed under the account's data key (edge/secrets, purpose "mailbox.password",
// the mailbox's row) and never returned; it travels to a probe sealed again under the probe
// transport key (edge/bounces/mailboxwire.ts). A test asks a live probe to log in and open the
// folder, reading nothing; a poll asks the mailbox's probe to read now.
import { and, desc, eq, sql } from "drizzle-orm";
import type { RelaySecurity } from "../../core/enums.ts";
import { newId } from "../../core/ids.ts";
import { checkTargetHost } from "../../core/targethost.ts";
import { bounceMailboxes } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { askProbes } from "../dispatch/probes.ts";
import { ServiceError } from "../errors.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { sealSecret, vaultOf } from "../secrets/secrets.ts";
import { readerOf } from "./assign.ts";
import { mailboxPasswordRef, wireMailbox } from "./mailboxwire.ts";
import { mailboxView, type MailboxRow, type MailboxTestResult, type MailboxView } from "./mailboxviews.ts";

/** IMAP's ports: 993 with TLS from the first byte (RFC 8314 §3.3), 143 otherwise (RFC 9051). */
export const DEFAULT_IMAP_PORTS: Record<RelaySecurity, number> = { tls: 993, starttls: 143, none: 143 };
export const DEFAULT_FOLDER = "INBOX";
/** Where messages recognised as ours go unless the customer says otherwise (null: flag them instead). */
export const DEFAULT_PROCESSED_FOLDER = "mxray-processed";

/** A mailbox test's time on the probe: connect, greet, upgrade, log in, open the folder, LOGOUT. */
export const MAILBOX_TEST_BUDGET_MS = 20_000;
/** A poll is answered once the probe has queued the read: quick. */
export const MAILBOX_POLL_BUDGET_MS = 5_000;

/** Each test makes a probe log in to a host the customer names: a few an hour per account is all a person needs. */
export const MAILBOX_TESTS_PER_ACCOUNT_HOUR = 30;
const HOUR_MS = 60 * 60_000;
export const mailboxTestCounter = (accountId: string, hour: number) => `mailbox-tests:${accountId}:${hour}`;

/** Folder names (RFC 9051 §5.1) in characters; the wire's bound (core/contracts.ts MailboxWire). */
export const MAX_FOLDER_LENGTH = 200;
export const MAX_USERNAME_LENGTH = 320;
export const MAX_PASSWORD_LENGTH = 1_024;
const MAX_NAME_LENGTH = 100;

export interface MailboxFields {
  name: string;
  host: string;
  port: number;
  security: RelaySecurity;
  username: string;
  folder: string;
  /** null: recognised messages are flagged `$MxrayProcessed` where they are. */
  processed_folder: string | null;
}

export interface NewMailbox {
  name?: string | undefined;
  host: string;
  port?: number | undefined;
  security: RelaySecurity;
  username: string;
  password: string;
  folder?: string | undefined;
  processed_folder?: string | null | undefined;
}

/** Every field may change; `password` absent keeps it; `processed_folder` null flags instead of moving. */
export type MailboxPatch = { [K in keyof MailboxFields]?: MailboxFields[K] | undefined } & { password?: string | undefined };

/**
 * Control characters end an IMAP command line or its quoted strings (RFC 9051 §4.3: CR, LF and
 * NUL never; the others are asking for trouble in a folder name or a login).
 */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** INBOX is case-insensitive (RFC 9051 §5.1); other names are the server's to compare. */
const sameFolder = (a: string, b: string) => a === b || (a.toUpperCase() === "INBOX" && b.toUpperCase() === "INBOX");

function checkFolder(field: string, name: string): void {
  if (name.trim().length === 0) throw new ServiceError("validation_failed", `${field}: not blank`);
  if (name.length > MAX_FOLDER_LENGTH) throw new ServiceError("validation_failed", `${field}: at most ${MAX_FOLDER_LENGTH} characters`);
  if (CONTROL.test(name)) throw new ServiceError("validation_failed", `${field}: no control characters (CR, LF, NUL…) in an IMAP folder name`);
}

function checkCredential(field: string, value: string, max: number): void {
  if (value.length === 0) throw new ServiceError("validation_failed", `${field}: required`);
  if (value.length > max) throw new ServiceError("validation_failed", `${field}: at most ${max} characters`);
  if (CONTROL.test(value)) throw new ServiceError("validation_failed", `${field}: no control characters (CR, LF, NUL…), which an IMAP login cannot carry`);
}

/** The mailbox as it will be stored, checked as a whole (a change is checked with the fields it keeps). */
function checkMailbox(s: Services, fields: MailboxFields): MailboxFields {
  const allowPrivate = s.config.MXRAY_ALLOW_PRIVATE_TARGETS;
  const host = checkTargetHost(fields.host, allowPrivate);
  if (!host.ok) throw new ServiceError(host.code, host.message);
  if (!Number.isInteger(fields.port) || fields.port < 1 || fields.port > 65_535) throw new ServiceError("validation_failed", "port: 1–65535");
  // Never a password in clear over the internet (RFC 8314 §3; RFC 9051 §11.1); only a server on a private network may go without TLS.
  if (fields.security === "none" && !allowPrivate) throw new ServiceError("validation_failed", "security: `none` would send the password in clear; use `tls` or `starttls`");
  checkCredential("username", fields.username, MAX_USERNAME_LENGTH);
  checkFolder("folder", fields.folder);
  if (fields.processed_folder !== null) {
    checkFolder("processed_folder", fields.processed_folder);
    if (sameFolder(fields.processed_folder, fields.folder)) throw new ServiceError("validation_failed", "processed_folder: not the folder read (null flags recognised messages where they are)");
  }
  const name = fields.name.trim();
  if (name.length === 0) throw new ServiceError("validation_failed", "name: not blank");
  if (name.length > MAX_NAME_LENGTH) throw new ServiceError("validation_failed", `name: at most ${MAX_NAME_LENGTH} characters`);
  return { ...fields, name, host: host.host };
}

const sealPassword = async (s: Services, accountId: string, mailboxId: string, password: string) => sealSecret(await vaultOf(s), accountId, mailboxPasswordRef(mailboxId), password);

export async function createMailbox(s: Services, who: Who, input: NewMailbox, now = Date.now()): Promise<MailboxView> {
  const id = newId("bmx");
  checkCredential("password", input.password, MAX_PASSWORD_LENGTH);
  const fields = checkMailbox(s, {
    name: input.name ?? `${input.username} on ${input.host}`.slice(0, MAX_NAME_LENGTH),
    host: input.host,
    port: input.port ?? DEFAULT_IMAP_PORTS[input.security],
    security: input.security,
    username: input.username,
    folder: input.folder ?? DEFAULT_FOLDER,
    processed_folder: input.processed_folder === undefined ? DEFAULT_PROCESSED_FOLDER : input.processed_folder,
  });
  const password = await sealPassword(s, who.accountId, id, input.password);
  await s.db.insert(bounceMailboxes).values({
    id,
    accountId: who.accountId,
    name: fields.name,
    host: fields.host,
    port: fields.port,
    security: fields.security,
    username: fields.username,
    password,
    folder: fields.folder,
    processedFolder: fields.processed_folder,
    createdAt: now,
    updatedAt: now,
  });
  await recordAudit(s, who, { action: "bounce_mailbox.created", target: id, detail: { ...fields } }, now);
  return getMailbox(s, who, id);
}

/** The account's mailbox, or not_found (another account's id too: ids are never confirmed across tenants). */
export async function mailboxRow(s: Services, who: Who, id: string): Promise<MailboxRow> {
  const [row] = await s.db.select().from(bounceMailboxes).where(and(eq(bounceMailboxes.id, id), eq(bounceMailboxes.accountId, who.accountId)));
  if (!row) throw new ServiceError("not_found", `No bounce mailbox ${id}`);
  return row;
}

export async function getMailbox(s: Services, who: Who, id: string): Promise<MailboxView> {
  return mailboxView(await mailboxRow(s, who, id));
}

/** Newest first, by cursor. */
export async function listMailboxes(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /bmx_\w+/);
  const rows = await s.db
    .select()
    .from(bounceMailboxes)
    .where(and(eq(bounceMailboxes.accountId, who.accountId), afterCursor(bounceMailboxes.createdAt, bounceMailboxes.id, after)))
    .orderBy(desc(bounceMailboxes.createdAt), desc(bounceMailboxes.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, mailboxView);
}

/**
 * Changes any field. A change to how the mailbox is read (host, port, security, username,
 * password, folder) bumps `epoch`, so its probe's reports under the old settings are refused
 * (stale) until its next heartbeat brings the new ones, and clears `last_error`, which was about
 * the old ones. A different mailbox (host, username or folder changed) also starts the cursor over:
 * its UIDs are not the old mailbox's. A new port, security or password reads the same mailbox, so
 * the cursor stays. The name and processed_folder reach the probe on its next heartbeat.
 */
export async function updateMailbox(s: Services, who: Who, input: { id: string; patch: MailboxPatch }, now = Date.now()): Promise<MailboxView> {
  const { id, patch } = input;
  const row = await mailboxRow(s, who, id);
  if (patch.password !== undefined) checkCredential("password", patch.password, MAX_PASSWORD_LENGTH);
  const fields = checkMailbox(s, {
    name: patch.name ?? row.name,
    host: patch.host ?? row.host,
    port: patch.port ?? row.port,
    security: patch.security ?? row.security,
    username: patch.username ?? row.username,
    folder: patch.folder ?? row.folder,
    processed_folder: patch.processed_folder === undefined ? row.processedFolder : patch.processed_folder,
  });
  const otherMailbox = fields.host !== row.host || fields.username !== row.username || fields.folder !== row.folder;
  const rereads = otherMailbox || fields.port !== row.port || fields.security !== row.security || patch.password !== undefined;
  const password = patch.password === undefined ? undefined : await sealPassword(s, who.accountId, id, patch.password);
  const changed = await s.db
    .update(bounceMailboxes)
    .set({
      name: fields.name,
      host: fields.host,
      port: fields.port,
      security: fields.security,
      username: fields.username,
      folder: fields.folder,
      processedFolder: fields.processed_folder,
      ...(password === undefined ? {} : { password }),
      ...(rereads ? { epoch: sql`${bounceMailboxes.epoch} + 1`, lastError: null } : {}),
      ...(otherMailbox ? { uidvalidity: null, lastUid: 0 } : {}),
      updatedAt: now,
    })
    .where(and(eq(bounceMailboxes.id, id), eq(bounceMailboxes.accountId, who.accountId)))
    .returning();
  if (changed.length === 0) throw new ServiceError("not_found", `No bounce mailbox ${id}`);
  const { password: _secret, ...given } = patch;
  const detail = { ...given, ...(patch.password === undefined ? {} : { password: "set" }), ...(otherMailbox ? { cursor_reset: true } : {}) };
  await recordAudit(s, who, { action: "bounce_mailbox.updated", target: id, detail }, now);
  return mailboxView(changed[0]!);
}

/** Deletes the mailbox and its stored password; its probe stops reading it at its next heartbeat. Bounces already read stay. */
export async function deleteMailbox(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<void> {
  const { id } = input;
  const [gone] = await s.db
    .delete(bounceMailboxes)
    .where(and(eq(bounceMailboxes.id, id), eq(bounceMailboxes.accountId, who.accountId)))
    .returning({ name: bounceMailboxes.name, host: bounceMailboxes.host, username: bounceMailboxes.username });
  if (!gone) throw new ServiceError("not_found", `No bounce mailbox ${id}`);
  await recordAudit(s, who, { action: "bounce_mailbox.deleted", target: id, detail: gone }, now);
}

async function countMailboxTest(s: Services, accountId: string, now: number): Promise<void> {
  const hour = Math.floor(now / HOUR_MS);
  if ((await s.cache.increment(mailboxTestCounter(accountId, hour), (2 * HOUR_MS) / 1000)) > MAILBOX_TESTS_PER_ACCOUNT_HOUR) {
    const retryAfterS = Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - now) / 1000));
    throw new ServiceError("rate_limited", `An account may test bounce mailboxes ${MAILBOX_TESTS_PER_ACCOUNT_HOUR} times an hour; retry in ${retryAfterS} s`, retryAfterS);
  }
}

/**
 * Asks a live probe (any: a test reads nothing) to connect, upgrade, log in and open the folder,
 * and records the outcome on the mailbox. No live probe, or none answering: probe_unavailable.
 */
export async function testMailbox(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<MailboxTestResult> {
  const { id } = input;
  const row = await mailboxRow(s, who, id);
  await countMailboxTest(s, who.accountId, now);
  const mailbox = await wireMailbox(s, row);
  const answer = await askProbes(s, (probe) => s.probeClient.testMailbox(probe, mailbox, MAILBOX_TEST_BUDGET_MS));
  await s.db
    .update(bounceMailboxes)
    .set({ testedAt: now, testOk: answer.ok, testDetail: answer.detail.slice(0, 1_024) })
    .where(and(eq(bounceMailboxes.id, id), eq(bounceMailboxes.accountId, who.accountId)));
  await recordAudit(s, who, { action: "bounce_mailbox.tested", target: id, detail: { ok: answer.ok, stage: answer.stage } }, now);
  return answer;
}

/**
 * Asks for a read now: `poll_requested_at` is set (every heartbeat answer carries it, so the
 * mailbox's probe reads soon even if the ask below is lost), the mailbox is given to a live probe
 * if none reads it (edge/bounces/assign.ts), and that probe is asked to read at once. No live
 * probe: probe_unavailable, and the request waits for the first probe to take the mailbox.
 */
export async function pollMailbox(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<MailboxView> {
  const { id } = input;
  const [requested] = await s.db
    .update(bounceMailboxes)
    .set({ pollRequestedAt: now })
    .where(and(eq(bounceMailboxes.id, id), eq(bounceMailboxes.accountId, who.accountId)))
    .returning();
  if (!requested) throw new ServiceError("not_found", `No bounce mailbox ${id}`);
  const { row, probe } = await readerOf(s, requested, now);
  const asked = await s.probeClient.pollMailbox(probe, await wireMailbox(s, row), MAILBOX_POLL_BUDGET_MS);
  if (!asked.ok) console.log(JSON.stringify({ msg: "probe did not take a poll; it reads after its next heartbeat", probe_id: probe.id, mailbox_id: id, error: asked.error, detail: asked.detail }));
  return mailboxView(row);
}
