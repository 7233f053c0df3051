// The edge's bounces capability as the pages use it (/bounces, /bounces/:id, the campaign page):
// bounce mailboxes (list, add, change, delete, test, read now; a password goes in and never comes
// back), the account's bounces and one with its verification, and the soft-bounce settings.
import { z } from "zod";
import { RELAY_SECURITIES, type BounceKind } from "../../core/enums.ts";
import { listBounces } from "../../edge/bounces/bounces.ts";
import { MAX_FOLDER_LENGTH, MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH } from "../../edge/bounces/mailboxes.ts";
import type { Services, Who } from "../../edge/context.ts";
import { ServiceError } from "../../edge/errors.ts";

export { createMailbox, DEFAULT_FOLDER, DEFAULT_IMAP_PORTS, DEFAULT_PROCESSED_FOLDER, deleteMailbox, listMailboxes, pollMailbox, testMailbox, updateMailbox } from "../../edge/bounces/mailboxes.ts";
export type { MailboxTestResult, MailboxView } from "../../edge/bounces/mailboxviews.ts";
export { getBounce, getBounceSettings, listBounces, SOFT_RESET_DAYS, SOFT_THRESHOLD, updateBounceSettings } from "../../edge/bounces/bounces.ts";
export type { BounceDetail, BounceSettings, BounceView } from "../../edge/bounces/views.ts";

// The API's limits (edge/api/mailbox_schemas.ts) in plain zod, as relays.server.ts says why; the
// service checks the rest (hosts, folder names, `none` over the internet) in its own words.
const folder = z.string().min(1).max(MAX_FOLDER_LENGTH);
const fields = {
  name: z.string().min(1).max(100),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  security: z.enum(RELAY_SECURITIES),
  username: z.string().min(1).max(MAX_USERNAME_LENGTH),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  folder,
  processed_folder: folder.nullable(),
};

export const MailboxCreateForm = z.object({ ...fields, name: fields.name.optional(), port: fields.port.optional() }).strict();
export const MailboxUpdateForm = z.object(fields).partial().strict();

/** Another account's bounce and a missing one look the same: 404, never a hint that the id exists. */
export async function bounceOr404<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "not_found") throw new Response("No such bounce in this account.", { status: 404 });
    throw e;
  }
}

/**
 * The bounce each bounced recipient of a campaign page links to: the newest of the kind the
 * recipient row names, for that campaign and address. One indexed read each (bounces_account_email),
 * only for the bounced ones of a page.
 */
export async function bouncesOfRecipients(
  s: Services,
  who: Who,
  campaignId: string,
  recipients: readonly { id: number; email: string; bounce_kind: BounceKind | null }[],
): Promise<Record<number, string>> {
  const found = await Promise.all(
    recipients
      .filter((r) => r.bounce_kind !== null)
      .map(async (r) => [r.id, (await listBounces(s, who, { limit: 1, campaign_id: campaignId, email: r.email, kind: r.bounce_kind! })).data[0]?.id] as const),
  );
  const ids: Record<number, string> = {};
  for (const [recipient, id] of found) if (id !== undefined) ids[recipient] = id;
  return ids;
}
