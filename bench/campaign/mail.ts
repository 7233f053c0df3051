// What bench:campaign sends, the same for the probe and the naive sender: one template (about the
// size of a short newsletter), one sender, and the i-th recipient with its row of the list. Both
// render each message with the probe's own composer (probe/sending/compose.ts), so the naive
// sender does the same work per message and differs only in how it reaches the relay.
import type { SendBatch, SendRecipient } from "../../core/contracts.ts";

export const BENCH_SENDER = { from_email: "news@bench.mxray.test", from_name: "mxray bench", reply_to: null };
export const BENCH_BOUNCE_DOMAIN = "bounces.bench.mxray.test";
export const BENCH_UNSUBSCRIBE_BASE = "https://mxray.local/u/";
export const BENCH_CAMPAIGN_ID = "cmp_bench";

const paragraph =
  "Thanks for reading our monthly note. This month we shipped faster lists, clearer evidence for every verdict, and a way to send to the addresses that passed. ";
export const BENCH_TEMPLATE = {
  subject: "{{ first_name | default: 'Hello' }}, what changed this month",
  html: `<h1>Hi {{ first_name | default: "there" }}</h1>${`<p>${paragraph.repeat(3)}</p>`.repeat(3)}<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>`,
  text: null,
};

/** The i-th recipient (i from 0): id i + 1, a token of the edge's shape (core/unsubscribe.ts), its row. */
export function benchRecipient(i: number): SendRecipient {
  const id = i + 1;
  const mac = (Math.imul(id, 2654435761) >>> 0).toString(16).padStart(20, "0");
  return { id, email: `rcpt${i}@inbox.bench.test`, token: `${id.toString(36)}-${mac}`, vars: { email: `rcpt${i}@inbox.bench.test`, first_name: `Reader${i}` } };
}

/** What the composer needs of a batch (its template, sender and unsubscribe base). */
export const BENCH_COMPOSE: Pick<SendBatch, "campaign_id" | "sender" | "bounce_domain" | "unsubscribe_base" | "template"> = {
  campaign_id: BENCH_CAMPAIGN_ID,
  sender: BENCH_SENDER,
  bounce_domain: BENCH_BOUNCE_DOMAIN,
  unsubscribe_base: BENCH_UNSUBSCRIBE_BASE,
  template: BENCH_TEMPLATE,
};
