// Senders (issue 23): a From identity and its relays, in failover order. The one writer of
// `senders`. A sender is used only once confirmed: a message through its own relays to its From
// address holds a signed link (edge/senders/confirmation.ts). Its domain is checked by a probe
// against Gmail's and Yahoo's bulk-sender rules (SPF, DKIM, DMARC, bounce MX) and the answer kept
// as its checklist. Probes are asked with no write in flight. docs/decisions/009-campaigns.md
import { and, desc, eq, isNull } from "drizzle-orm";
import { cleanAddress, parseAddress } from "../../core/address.ts";
import { newId } from "../../core/ids.ts";
import { senders } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { wireRelays } from "../relays/relays.ts";
import { askProbes } from "../dispatch/probes.ts";
import { confirmationMessage, confirmPath, confirmToken, readConfirmToken } from "./confirmation.ts";
import { domainOf, senderView, type ConfirmationOutcome, type SenderRow, type SenderView, type SenderWithConfirmation } from "./views.ts";

/** A sender's pool: a failover order, not a way to spread volume (issue 23). */
export const MAX_SENDER_RELAYS = 10;
/** Time a probe has to hand the confirmation message to a relay (it may try each of the pool). */
export const CONFIRMATION_BUDGET_MS = 30_000;
export const SENDER_CHECK_BUDGET_MS = 15_000;
/** A confirmation goes to an address the customer typed: a few an hour is all a person needs, and no more reaches a stranger. */
export const CONFIRMATIONS_PER_SENDER_HOUR = 5;
const HOUR_MS = 60 * 60_000;
export const confirmationCounter = (senderId: string, hour: number) => `sender-confirmations:${senderId}:${hour}`;

/** Campaigns in these states no longer use their sender. */
const FINISHED_CAMPAIGN_STATUSES = ["completed", "canceled", "failed"];

export interface NewSender {
  from_email: string;
  from_name: string;
  reply_to?: string | null | undefined;
  relay_ids: string[];
  bounce_domain?: string | null | undefined;
  dkim_selector?: string | null | undefined;
}

/** RFC 6376 §3.1: a selector is one or more dot-separated DNS labels. */
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The address as stored: as written, its domain as A-labels; or validation_failed naming the field. */
function address(field: string, input: string): string {
  const cleaned = cleanAddress(input);
  const parsed = parseAddress(cleaned);
  if (!parsed.ok) throw new ServiceError("validation_failed", `${field}: ${parsed.detail}`);
  return `${cleaned.slice(0, cleaned.lastIndexOf("@"))}@${parsed.domain}`;
}

function domain(field: string, input: string): string {
  const parsed = parseAddress(`postmaster@${input.trim().replace(/\.$/, "")}`);
  if (!parsed.ok) throw new ServiceError("validation_failed", `${field}: not a domain name (${parsed.detail.replace(/^domain /, "")})`);
  return parsed.domain;
}

function checkSender(input: NewSender) {
  const fromName = input.from_name.trim();
  // A display name goes into a header: no line breaks or other controls (header injection).
  if (fromName.length === 0 || /[\u0000-\u001f\u007f]/.test(fromName)) throw new ServiceError("validation_failed", "from_name: not blank, on one line");
  const relayIds = input.relay_ids;
  if (relayIds.length < 1 || relayIds.length > MAX_SENDER_RELAYS) throw new ServiceError("validation_failed", `relay_ids: 1 to ${MAX_SENDER_RELAYS} relays`);
  if (new Set(relayIds).size !== relayIds.length) throw new ServiceError("validation_failed", "relay_ids: each relay once");
  const selector = input.dkim_selector?.trim().toLowerCase() || null;
  if (selector !== null && (selector.length > 63 || !SELECTOR.test(selector))) throw new ServiceError("validation_failed", "dkim_selector: DNS labels (letters, digits, hyphens), as in `<selector>._domainkey.<domain>`");
  return {
    fromEmail: address("from_email", input.from_email),
    fromName,
    replyTo: input.reply_to ? address("reply_to", input.reply_to) : null,
    relayIds,
    bounceDomain: input.bounce_domain ? domain("bounce_domain", input.bounce_domain) : null,
    dkimSelector: selector,
  };
}

/**
 * Makes the sender, then (best effort, with no write in flight) sends its confirmation message and
 * checks its domain: when no probe is online it stays unconfirmed with `confirmation_sent_at`
 * null, and resend-confirmation and check try again.
 */
export async function createSender(s: Services, who: Who, input: NewSender, now = Date.now()): Promise<SenderWithConfirmation> {
  const { accountId } = who;
  const sender = checkSender(input);
  const id = newId("snd");
  // Every relay named must be the account's, checked in the insert itself, so a relay deleted at
  // the same moment cannot be left named (deleteRelay checks the other way round).
  const inserted = await s.db.$client.execute({
    sql: `INSERT INTO senders (id, account_id, from_email, from_name, reply_to, relay_ids, bounce_domain, dkim_selector, created_at)
          SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
          WHERE (SELECT count(*) FROM relays WHERE account_id = ?2 AND id IN (SELECT value FROM json_each(?6))) = ?10`,
    args: [id, accountId, sender.fromEmail, sender.fromName, sender.replyTo, JSON.stringify(sender.relayIds), sender.bounceDomain, sender.dkimSelector, now, sender.relayIds.length],
  });
  if (inserted.rowsAffected === 0) throw new ServiceError("validation_failed", `relay_ids: ${await missingRelays(s, accountId, sender.relayIds)}`);
  await recordAudit(s, who, { action: "sender.created", target: id, detail: { from_email: sender.fromEmail, relay_ids: sender.relayIds } }, now);
  const row = await senderRow(s, who, id);
  const [confirmation] = await Promise.all([
    sendConfirmation(s, row, now).catch((e: unknown) => failedConfirmation(e)),
    checkDomain(s, row, now).catch((e: unknown) => {
      if (!(e instanceof ServiceError)) throw e;
      console.log(JSON.stringify({ msg: "sender check deferred", sender_id: id, code: e.code, detail: e.message }));
    }),
  ]);
  return { ...senderView(await senderRow(s, who, id)), confirmation };
}

async function missingRelays(s: Services, accountId: string, ids: string[]): Promise<string> {
  const found = await s.db.$client.execute({ sql: "SELECT id FROM relays WHERE account_id = ?1 AND id IN (SELECT value FROM json_each(?2))", args: [accountId, JSON.stringify(ids)] });
  const have = new Set(found.rows.map((r) => String(r.id)));
  return `no relay ${ids.filter((i) => !have.has(i)).join(", ")} in this account`;
}

/** A confirmation that could not go now (no probe online, a password that no longer opens) is an outcome, not a failure of the request. */
function failedConfirmation(e: unknown): ConfirmationOutcome {
  if (!(e instanceof ServiceError)) throw e;
  return { sent: false, detail: e.message };
}

/** The account's sender, or not_found (another account's id too). */
export async function senderRow(s: Services, who: Who, id: string): Promise<SenderRow> {
  const [row] = await s.db.select().from(senders).where(and(eq(senders.id, id), eq(senders.accountId, who.accountId)));
  if (!row) throw new ServiceError("not_found", `No sender ${id}`);
  return row;
}

export async function getSender(s: Services, who: Who, id: string): Promise<SenderView> {
  return senderView(await senderRow(s, who, id));
}

/** Newest first, by cursor. */
export async function listSenders(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /snd_\w+/);
  const rows = await s.db
    .select()
    .from(senders)
    .where(and(eq(senders.accountId, who.accountId), afterCursor(senders.createdAt, senders.id, after)))
    .orderBy(desc(senders.createdAt), desc(senders.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, senderView);
}

/** Deletes the sender unless a campaign that has not finished uses it: the check is part of the delete. */
export async function deleteSender(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<void> {
  const { id } = input;
  const row = await senderRow(s, who, id);
  const finished = FINISHED_CAMPAIGN_STATUSES.map((st) => `'${st}'`).join(", ");
  const deleted = await s.db.$client.execute({
    sql: `DELETE FROM senders WHERE id = ?1 AND account_id = ?2
          AND NOT EXISTS (SELECT 1 FROM campaigns WHERE account_id = ?2 AND sender_id = ?1 AND status NOT IN (${finished}))`,
    args: [id, who.accountId],
  });
  if (deleted.rowsAffected === 0) {
    const users = await s.db.$client.execute({
      sql: `SELECT id, status FROM campaigns WHERE account_id = ?2 AND sender_id = ?1 AND status NOT IN (${finished}) ORDER BY created_at LIMIT 10`,
      args: [id, who.accountId],
    });
    if (users.rows.length === 0) throw new ServiceError("not_found", `No sender ${id}`);
    const named = users.rows.map((r) => `${String(r.id)} (${String(r.status)})`).join(", ");
    throw new ServiceError("conflict", `Sender ${id} is used by campaign${users.rows.length > 1 ? "s" : ""} ${named}; wait for ${users.rows.length > 1 ? "them" : "it"} to finish, or cancel ${users.rows.length > 1 ? "them" : "it"}`);
  }
  await recordAudit(s, who, { action: "sender.deleted", target: id, detail: { from_email: row.fromEmail } }, now);
}

/**
 * Sends the confirmation message through the sender's own relays to its From address; a relay's
 * acceptance is recorded as `confirmation_sent_at`. No probe online: probe_unavailable.
 */
async function sendConfirmation(s: Services, row: SenderRow, now: number): Promise<ConfirmationOutcome> {
  const relays = await wireRelays(s, row.accountId, JSON.parse(row.relayIds) as string[]);
  const link = `${s.origin}${confirmPath(await confirmToken(s.config, row, now))}`;
  const message = confirmationMessage(row, link);
  const answer = await askProbes(s, (probe) => s.probeClient.sendMessage(probe, { relays, from_email: row.fromEmail, from_name: row.fromName, to: row.fromEmail, ...message }, CONFIRMATION_BUDGET_MS));
  if (answer.ok) await s.db.update(senders).set({ confirmationSentAt: now }).where(and(eq(senders.id, row.id), eq(senders.accountId, row.accountId)));
  return { sent: answer.ok, detail: answer.detail };
}

/** Sends the confirmation message again (a new link; earlier ones keep working until they expire). */
export async function resendConfirmation(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<SenderWithConfirmation> {
  const row = await senderRow(s, who, input.id);
  if (row.confirmedAt !== null) throw new ServiceError("conflict", `Sender ${row.id} is confirmed already`);
  const hour = Math.floor(now / HOUR_MS);
  if ((await s.cache.increment(confirmationCounter(row.id, hour), (2 * HOUR_MS) / 1000)) > CONFIRMATIONS_PER_SENDER_HOUR) {
    const retryAfterS = Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - now) / 1000));
    throw new ServiceError("rate_limited", `A sender's confirmation may be sent ${CONFIRMATIONS_PER_SENDER_HOUR} times an hour; retry in ${retryAfterS} s`, retryAfterS);
  }
  const confirmation = await sendConfirmation(s, row, now);
  return { ...senderView(await senderRow(s, who, row.id)), confirmation };
}

/** Asks a probe to check the sender's domain and keeps its checklist. No probe online: probe_unavailable. */
async function checkDomain(s: Services, row: SenderRow, now: number): Promise<void> {
  const request = { domain: domainOf(row.fromEmail), dkim_selector: row.dkimSelector, bounce_domain: row.bounceDomain ?? domainOf(row.fromEmail) };
  const answer = await askProbes(s, (probe) => s.probeClient.checkSender(probe, request, SENDER_CHECK_BUDGET_MS));
  await s.db.update(senders).set({ checklist: JSON.stringify(answer.items), checkedAt: now }).where(and(eq(senders.id, row.id), eq(senders.accountId, row.accountId)));
}

export async function checkSenderDomain(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<SenderView> {
  await checkDomain(s, await senderRow(s, who, input.id), now);
  return getSender(s, who, input.id);
}

/** What a confirmation link finds: the sender it names, or why there is none. */
export type ConfirmLink =
  | { ok: true; sender: { id: string; fromEmail: string; fromName: string }; confirmedAt: number | null }
  | { ok: false; reason: "invalid" | "expired" | "gone" };

/** Reads a confirmation link without acting on it (what the page shows before Confirm is pressed). */
export async function readConfirmLink(s: Services, token: string, now = Date.now()): Promise<ConfirmLink> {
  const claims = await readConfirmToken(s.config, token, now);
  if (!claims.ok) return claims;
  const [row] = await s.db.select().from(senders).where(and(eq(senders.id, claims.senderId), eq(senders.accountId, claims.accountId)));
  if (!row) return { ok: false, reason: "gone" };
  return { ok: true, sender: { id: row.id, fromEmail: row.fromEmail, fromName: row.fromName }, confirmedAt: row.confirmedAt };
}

/**
 * Confirms the sender a link names (once: a second press changes nothing). The mailbox's reader
 * acts here, not a key or a member, so the audit's actor is "confirmation_link".
 */
export async function confirmSender(s: Services, token: string, now = Date.now()): Promise<ConfirmLink> {
  const link = await readConfirmLink(s, token, now);
  if (!link.ok || link.confirmedAt !== null) return link;
  const moved = await s.db
    .update(senders)
    .set({ confirmedAt: now })
    .where(and(eq(senders.id, link.sender.id), isNull(senders.confirmedAt)))
    .returning({ accountId: senders.accountId });
  if (moved[0]) await recordAudit(s, { accountId: moved[0].accountId, actor: "confirmation_link" }, { action: "sender.confirmed", target: link.sender.id, detail: { from_email: link.sender.fromEmail } }, now);
  return readConfirmLink(s, token, now);
}
