// A bounce mailbox's report (POST /internal/probes/bounces, docs/decisions/010-bounces.md): the
// probe sends the messages that look ours; the edge decides which are, applies their bounces and
// moves the mailbox's cursor, all in one write, and answers the uids the probe may move or flag.
//
// Ours means: a recipient token (the VERP address the bounce came to, else the returned message's
// List-Unsubscribe token) whose MAC matches its recipient row, that row's campaign being the
// mailbox's account's; or the returned message's Message-ID `<{recipient}.{campaign}@…>` naming
// a recipient of a campaign of the account, when the report also names that recipient's address
// (a Message-ID carries no MAC, so the address must agree). Anything else is left alone.
//
// A report counts only from the mailbox's assigned probe under its current epoch: a probe thought
// dead that wakes up after its successor took over is answered `stale` and changes nothing. The
// epoch is checked again inside the write (every bounce row and the cursor are written under it),
// so an assignment that moves between the read and the write applies nothing either.
import type { InStatement } from "@libsql/client/web";
import { classifyBounce, normalizeStatus, statusCategory, statusInText } from "../../core/bounces.ts";
import type { BounceRecipient, MailboxReport, MailboxReportAnswer, ParsedMessage } from "../../core/contracts.ts";
import type { BounceCategory, BounceKind } from "../../core/enums.ts";
import { checkRecipientToken, tokenRecipientId } from "../../core/unsubscribe.ts";
import { sessionSecrets } from "../config.ts";
import type { Services } from "../context.ts";
import { suppressionKey, type StatementCondition } from "../suppressions/suppressions.ts";
import { afterBounces, applyBounces, type BounceInput } from "./apply.ts";

interface Mailbox {
  id: string;
  accountId: string;
}

interface Recipient {
  id: number;
  normalized: string;
  campaignId: string;
}

/** The key an address is compared and stored under (as suppressions'); a report's odd address as it came, lower-cased. */
const addressKey = (email: string) => suppressionKey(email) ?? email.trim().toLowerCase();

/** The recipient and campaign a campaign message's Message-ID names (probe/sending/compose.ts), or null. */
export function messageIdRef(messageId: string | null): { recipientId: number; campaignId: string } | null {
  const m = /^\s*<?\s*(\d{1,15})\.(cmp_[0-9a-z]{1,64})@[^\s<>@]+\s*>?\s*$/i.exec(messageId ?? "");
  if (!m) return null;
  const recipientId = Number(m[1]);
  return Number.isSafeInteger(recipientId) && recipientId > 0 ? { recipientId, campaignId: m[2]!.toLowerCase() } : null;
}

/** The recipient rows the messages could name, of campaigns of this account only. */
async function candidateRecipients(s: Services, accountId: string, messages: ParsedMessage[]): Promise<Map<number, Recipient>> {
  const ids = new Set<number>();
  for (const m of messages) {
    for (const token of [m.token, m.original_token]) {
      const id = token ? tokenRecipientId(token) : null;
      if (id !== null) ids.add(id);
    }
    const ref = messageIdRef(m.original_message_id);
    if (ref) ids.add(ref.recipientId);
  }
  const byId = new Map<number, Recipient>();
  if (ids.size === 0) return byId;
  const list = [...ids];
  const { rows } = await s.db.$client.execute({
    sql: `SELECT r.id, r.normalized, r.campaign_id FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
          WHERE c.account_id = ? AND r.id IN (${list.map(() => "?").join(", ")})`,
    args: [accountId, ...list],
  });
  for (const r of rows) byId.set(Number(r.id), { id: Number(r.id), normalized: String(r.normalized), campaignId: String(r.campaign_id) });
  return byId;
}

/** The recipient a message is a bounce of, and whether a token tied it (else its Message-ID); null: not ours. */
async function tie(s: Services, mailbox: Mailbox, m: ParsedMessage, byId: Map<number, Recipient>): Promise<{ recipient: Recipient; byToken: boolean } | null> {
  for (const token of [m.token, m.original_token]) {
    const id = token ? tokenRecipientId(token) : null;
    const r = id === null ? undefined : byId.get(id);
    if (r && (await checkRecipientToken(sessionSecrets(s.config), token!, { accountId: mailbox.accountId, campaignId: r.campaignId, recipientId: r.id }))) {
      return { recipient: r, byToken: true };
    }
  }
  const ref = messageIdRef(m.original_message_id);
  const r = ref ? byId.get(ref.recipientId) : undefined;
  if (r && r.campaignId === ref!.campaignId && m.recipients.some((x) => addressKey(x.email) === r.normalized)) return { recipient: r, byToken: false };
  return null;
}

/**
 * What one recipient of the report says: its own Action and Status decide when it has them
 * (a report may say more than its message's overall kind), else the message's kind; a recipient
 * the report says was delivered is no bounce (null).
 */
function kindOf(kind: BounceKind, reported: BounceRecipient | undefined, status: string | null): { kind: BounceKind; category: BounceCategory | null } | null {
  if (kind === "complaint") return { kind, category: null };
  if (reported && (reported.action || status)) {
    const classified = classifyBounce(reported.action, status);
    if (classified === null) return null;
    if (classified.kind !== "unclassified") return classified;
  }
  return { kind, category: statusCategory(status) };
}

/** The report's date when it is one and not ahead of us, else now. */
function occurredAt(date: string | null, now: number): number {
  const at = date ? Date.parse(date) : NaN;
  return Number.isFinite(at) && at <= now ? at : now;
}

/**
 * The bounce of a message tied to a recipient: one, for the recipient's address. A token names
 * the recipient whatever address the report gives (a forwarded address bounced: the recipient's
 * mail will keep bouncing), so its report line is the one for that address, else the first; a
 * Message-ID ties only through the line naming that address.
 */
function bounceOf(mailbox: Mailbox, report: MailboxReport, m: ParsedMessage & { kind: BounceKind }, tied: { recipient: Recipient; byToken: boolean }, now: number): BounceInput | null {
  const r = tied.recipient;
  const reported = m.recipients.find((x) => addressKey(x.email) === r.normalized) ?? (tied.byToken ? m.recipients[0] : undefined);
  const status = reported ? (normalizeStatus(reported.status) ?? statusInText(reported.diagnostic)) : null;
  const what = kindOf(m.kind, reported, status);
  if (!what) return null;
  return {
    email: r.normalized,
    kind: what.kind,
    category: what.category,
    action: reported?.action?.toLowerCase() ?? null,
    status,
    diagnostic: reported?.diagnostic ?? null,
    remote_mta: reported?.remote_mta ?? null,
    source: "imap",
    campaign_id: r.campaignId,
    recipient_id: r.id,
    mailbox_id: mailbox.id,
    dedupe_key: `imap:${mailbox.id}:${report.uidvalidity}:${m.uid}:${r.normalized}`,
    raw: m.raw,
    raw_truncated: m.raw_truncated,
    occurred_at: occurredAt(m.date, now),
  };
}

const STALE: MailboxReportAnswer = { ours: [], stale: true };

/**
 * Applies a mailbox's report from probe `probeId`: its bounces and its cursor in one write, under
 * the assignment it was read with. Answers the uids confirmed ours (auto-replies to campaign
 * messages included: ours, moved, never stored), or `stale` when the mailbox is no longer this
 * probe's under that epoch (or is gone).
 */
export async function receiveReport(s: Services, report: MailboxReport, probeId: string, now = Date.now()): Promise<MailboxReportAnswer> {
  const { rows } = await s.db.$client.execute({ sql: "SELECT id, account_id, probe_id, epoch FROM bounce_mailboxes WHERE id = ?", args: [report.mailbox_id] });
  const row = rows[0];
  if (!row || row.probe_id !== probeId || Number(row.epoch) !== report.epoch) return STALE;
  const mailbox: Mailbox = { id: String(row.id), accountId: String(row.account_id) };
  const assigned = "id = ? AND epoch = ? AND probe_id = ?";
  const assignment = [mailbox.id, report.epoch, probeId];

  // A failed read: why, for the mailbox's page; nothing else moves.
  if (report.error !== null) {
    const done = await s.db.$client.execute({ sql: `UPDATE bounce_mailboxes SET last_error = ?, last_polled_at = ? WHERE ${assigned}`, args: [report.error, now, ...assignment] });
    return done.rowsAffected > 0 ? { ours: [], stale: false } : STALE;
  }

  const byId = await candidateRecipients(s, mailbox.accountId, report.messages);
  const ours: number[] = [];
  const inputs: BounceInput[] = [];
  for (const m of report.messages) {
    const tied = await tie(s, mailbox, m, byId);
    if (!tied) continue;
    ours.push(m.uid);
    if (m.kind === "auto_reply") continue;
    const bounce = bounceOf(mailbox, report, { ...m, kind: m.kind }, tied, now);
    if (bounce) inputs.push(bounce);
  }

  const guard: StatementCondition = { sql: `EXISTS (SELECT 1 FROM bounce_mailboxes WHERE ${assigned})`, args: assignment };
  const write = await applyBounces(s, mailbox.accountId, inputs, now, guard);
  // The cursor only moves forward under one UIDVALIDITY; a new one replaces it (RFC 9051 §2.3.1.1).
  // The counters move with it, so a report sent again (its answer was lost) counts nothing twice.
  const moves = "(uidvalidity IS NOT ?1 OR last_uid < ?2)";
  const cursor: InStatement = {
    sql: `UPDATE bounce_mailboxes SET
            messages_seen = messages_seen + CASE WHEN ${moves} THEN ?3 ELSE 0 END,
            messages_ours = messages_ours + CASE WHEN ${moves} THEN ?4 ELSE 0 END,
            last_uid = CASE WHEN uidvalidity IS ?1 THEN max(last_uid, ?2) ELSE ?2 END, uidvalidity = ?1,
            last_polled_at = ?5, last_error = NULL
          WHERE id = ?6 AND epoch = ?7 AND probe_id = ?8`,
    args: [report.uidvalidity, report.last_uid, report.seen, ours.length, now, ...assignment],
  };
  const results = await s.db.$client.batch([...write.statements, cursor], "write");
  if (results.at(-1)!.rowsAffected === 0) return STALE;
  afterBounces(s, write.read(results));
  return { ours, stale: false };
}
