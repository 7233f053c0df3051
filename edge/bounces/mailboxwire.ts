// A bounce mailbox as a probe reads it (core/contracts.ts MailboxWire): its password opened from
// the account's data key (edge/secrets, purpose "mailbox.password", the mailbox's row) and sealed
// again under the probe transport key, so neither a probe's logs nor anything between ever holds
// it in clear (as relays' are, edge/relays/relays.ts wireRelays). A module of its own because the
// mailbox service (a test, a poll) and the heartbeat's assignment (edge/bounces/assign.ts) both wire.
import type { MailboxWire } from "../../core/contracts.ts";
import { probeTransportKey, seal } from "../../core/secrets.ts";
import type { Services } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { openDataKeys, openSecret, SecretError, vaultOf } from "../secrets/secrets.ts";
import type { MailboxRow } from "./mailboxviews.ts";

export const MAILBOX_PASSWORD_PURPOSE = "mailbox.password";
export const mailboxPasswordRef = (mailboxId: string) => ({ purpose: MAILBOX_PASSWORD_PURPOSE, recordId: mailboxId });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const transportKeys = new WeakMap<object, ReturnType<typeof probeTransportKey>>();
/** The probe transport key, derived once per Services (one request): a heartbeat wires many mailboxes. */
function transportKeyOf(s: Services): ReturnType<typeof probeTransportKey> {
  let key = transportKeys.get(s);
  if (!key) transportKeys.set(s, (key = probeTransportKey(s.config.PROBE_SECRET)));
  return key;
}

/**
 * The mailbox as a probe needs it, with the assignment (epoch) and cursor of this row. A password
 * that no longer opens (the account's data key was deleted) is the customer's to set again:
 * `conflict`, not a crash.
 */
export async function wireMailbox(s: Services, row: MailboxRow): Promise<MailboxWire> {
  let password: string;
  try {
    password = await openSecret(await vaultOf(s), row.accountId, mailboxPasswordRef(row.id), row.password);
  } catch (e) {
    if (!(e instanceof SecretError)) throw e;
    throw new ServiceError("conflict", `The password of bounce mailbox ${row.id} can no longer be read (${e.message}); set it again`, undefined, { cause: e });
  }
  return {
    id: row.id,
    host: row.host,
    port: row.port,
    security: row.security,
    username: row.username,
    password: await seal(await transportKeyOf(s), mailboxPasswordRef(row.id), password),
    folder: row.folder,
    processed_folder: row.processedFolder,
    epoch: row.epoch,
    uidvalidity: row.uidvalidity,
    last_uid: row.lastUid,
    poll_requested_at: iso(row.pollRequestedAt),
  };
}

/**
 * Many mailboxes (a heartbeat's answer), their accounts' data keys read in one query. A mailbox
 * whose password no longer opens is left out (its probe stops reading it) and named in
 * `unreadable`: one customer's lost key must not cost a probe its whole list.
 */
export async function wireMailboxes(s: Services, rows: readonly MailboxRow[]): Promise<{ wired: MailboxWire[]; unreadable: MailboxRow[] }> {
  if (rows.length === 0) return { wired: [], unreadable: [] };
  await openDataKeys(await vaultOf(s), rows.map((r) => r.accountId));
  const settled = await Promise.all(
    rows.map(async (row) => {
      try {
        return { row, wire: await wireMailbox(s, row) };
      } catch (e) {
        if (e instanceof ServiceError && e.code === "conflict") return { row, wire: null };
        throw e;
      }
    }),
  );
  return {
    wired: settled.flatMap((w) => (w.wire ? [w.wire] : [])),
    unreadable: settled.flatMap((w) => (w.wire ? [] : [w.row])),
  };
}
