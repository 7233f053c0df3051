// The edge's senders capability as the pages use it: list, add and delete senders, send their
// confirmation again, and check their domain (the bulk-sender checklist).
import { z } from "zod";
import { MAX_SENDER_RELAYS } from "../../edge/senders/senders.ts";

export { checkSenderDomain, createSender, deleteSender, listSenders, MAX_SENDER_RELAYS, resendConfirmation } from "../../edge/senders/senders.ts";
export type { SenderView } from "../../edge/senders/views.ts";

/** The API's limits (edge/api/sender_schemas.ts) in plain zod, as relays.server.ts says why. */
export const SenderCreateForm = z
  .object({
    from_email: z.string().min(3).max(254),
    from_name: z.string().min(1).max(100),
    reply_to: z.string().max(254).nullable(),
    relay_ids: z.array(z.string().min(1).max(64)).min(1).max(MAX_SENDER_RELAYS),
    bounce_domain: z.string().max(253).nullable(),
    dkim_selector: z.string().max(63).nullable(),
  })
  .strict();
