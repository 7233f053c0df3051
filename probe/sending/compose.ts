// One recipient's message of a send batch (issue 23, docs/decisions/009-campaigns.md): the
// batch's template rendered with the recipient's row (core/template.ts, the code the edge
// previews with), the headers bulk senders must carry, and the envelope. The relay signs (DKIM)
// and the final MTA adds Return-Path from our MAIL FROM (RFC 5321 §4.4), so neither is set here.
import type { SendMailOptions } from "nodemailer";
import type { SendBatch, SendRecipient } from "../../core/contracts.ts";
import { prepareTemplate, renderPrepared, UNSUBSCRIBE_VARIABLE, type PreparedTemplate } from "../../core/template.ts";
import { verpAddress } from "../../core/unsubscribe.ts";

export type ComposeBatch = Pick<SendBatch, "campaign_id" | "sender" | "bounce_domain" | "unsubscribe_base" | "template">;

/** What every message of a batch shares, worked out once: the parsed template among it. */
export interface Composer {
  /** The recipient's message, ready for nodemailer's sendMail. Throws TemplateError when it does not render. */
  compose(recipient: SendRecipient, now: number): SendMailOptions;
}

/** The recipient's one-click unsubscribe URL, as the URL parser writes it: no space, CR, LF or `>` can end up in a header. */
export function unsubscribeUrl(base: string, token: string): string {
  return new URL(`${base}${token}`).href;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf("@") + 1).toLowerCase();

/** Throws TemplateError when the batch's template does not parse. */
export function createComposer(batch: ComposeBatch): Composer {
  const template: PreparedTemplate = prepareTemplate(batch.template);
  const fromDomain = domainOf(batch.sender.from_email);
  return {
    compose(recipient, now) {
      const url = unsubscribeUrl(batch.unsubscribe_base, recipient.token);
      const rendered = renderPrepared(template, { ...recipient.vars, email: recipient.email, [UNSUBSCRIBE_VARIABLE]: url }, url);
      return {
        from: { name: batch.sender.from_name, address: batch.sender.from_email },
        to: recipient.email,
        ...(batch.sender.reply_to ? { replyTo: batch.sender.reply_to } : {}),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        date: new Date(now),
        // One id per campaign recipient: were a copy ever to go twice, receivers would see one message.
        messageId: `<${recipient.id}.${batch.campaign_id}@${fromDomain}>`,
        headers: {
          // RFC 8058 §3.1: the HTTPS URI in angle brackets, and the one-click POST marker. Given
          // prepared (as is, one line): a fold inside the URL would break it for whoever unfolds
          // it naively, and the relay's DKIM signature covers it as written.
          "List-Unsubscribe": { prepared: true, value: `<${url}>` },
          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        // VERP (docs/decisions/009): the bounce names its recipient; it becomes the Return-Path.
        envelope: { from: verpAddress(recipient.token, batch.bounce_domain), to: [recipient.email] },
        // A template is the customer's text, never an instruction to read a file or fetch a URL.
        disableFileAccess: true,
        disableUrlAccess: true,
      };
    },
  };
}
