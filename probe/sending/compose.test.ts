// A recipient's message as nodemailer writes it (its stream transport: the bytes a relay would
// get), read back with mailparser.
import nodemailer from "nodemailer";
import { simpleParser, type ParsedMail } from "mailparser";
import { describe, expect, it } from "vitest";
import type { SendRecipient } from "../../core/contracts.ts";
import { TemplateError } from "../../core/template.ts";
import { createComposer, unsubscribeUrl, type ComposeBatch } from "./compose.ts";

const batch: ComposeBatch = {
  campaign_id: "cmp_7",
  sender: { from_email: "news@Sender.test", from_name: "Acme Néws, Inc.", reply_to: "help@sender.test" },
  bounce_domain: "bounce.sender.test",
  unsubscribe_base: "https://mxray.example.test/u/",
  template: { subject: "Hi {{ first_name | default: 'there' }}", html: "<p>Hello {{ first_name | default: 'there' }} ({{ email }})</p>", text: null },
};
const ada: SendRecipient = { id: 42, email: "ada@example.test", token: "16-0123456789abcdef0123", vars: { first_name: "Ada" } };
const NOW = Date.UTC(2027, 0, 1, 9, 30);

async function written(b: ComposeBatch, r: SendRecipient): Promise<{ raw: string; parsed: ParsedMail; envelope: { from: string; to: string[] } }> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const info = await transport.sendMail(createComposer(b).compose(r, NOW));
  const raw = (info.message as Buffer).toString();
  return { raw, parsed: await simpleParser(raw), envelope: info.envelope as { from: string; to: string[] } };
}

describe("composeMessage", () => {
  it("carries From, To, Reply-To, Subject, Date, Message-ID and both parts, and parses back", async () => {
    const { parsed } = await written(batch, ada);
    expect(parsed.from?.value).toEqual([{ name: "Acme Néws, Inc.", address: "news@sender.test" }]);
    expect(parsed.to).toMatchObject({ value: [{ address: "ada@example.test" }] });
    expect(parsed.replyTo).toMatchObject({ value: [{ address: "help@sender.test" }] });
    expect(parsed.subject).toBe("Hi Ada");
    expect(parsed.date?.getTime()).toBe(NOW);
    expect(parsed.messageId).toBe("<42.cmp_7@sender.test>");
    expect(parsed.headers.get("content-type")).toMatchObject({ value: "multipart/alternative" });
    expect(parsed.html).toContain("<p>Hello Ada (ada@example.test)</p>");
    expect(parsed.text).toContain("Hello Ada (ada@example.test)");
  });

  it("has RFC 8058 one-click headers, List-Unsubscribe unfolded and exactly <url>, and the link visible in both parts", async () => {
    const url = unsubscribeUrl(batch.unsubscribe_base, ada.token);
    expect(url).toBe("https://mxray.example.test/u/16-0123456789abcdef0123");
    const { parsed } = await written(batch, ada);
    const lines = Object.fromEntries(parsed.headerLines.map((h) => [h.key, h.line]));
    expect(lines["list-unsubscribe"]).toBe(`List-Unsubscribe: <${url}>`);
    expect(lines["list-unsubscribe-post"]).toBe("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    expect(parsed.headers.get("list")).toEqual({ unsubscribe: { url }, "unsubscribe-post": { name: "List-Unsubscribe=One-Click" } });
    expect(parsed.html).toContain(`href="${url}"`);
    expect(parsed.text).toContain(url);
  });

  it("never folds a long unsubscribe URL, and a base cannot smuggle a header through it", async () => {
    const long = { ...batch, unsubscribe_base: `https://mxray.example.test/${"a".repeat(150)}/u/` };
    const { raw, parsed } = await written(long, ada);
    const url = unsubscribeUrl(long.unsubscribe_base, ada.token);
    const head = raw.slice(0, raw.indexOf("\r\n\r\n")).split("\r\n");
    expect(head).toContain(`List-Unsubscribe: <${url}>`);
    expect(parsed.headers.get("list")).toMatchObject({ unsubscribe: { url } });
    // What a URL cannot hold is encoded or dropped by the URL parser before it reaches a header.
    expect(unsubscribeUrl("https://x.test/u/", "a>\r\nBcc: evil@x.test")).toBe("https://x.test/u/a%3EBcc:%20evil@x.test");
  });

  it("sends MAIL FROM as the recipient's VERP address and RCPT TO the recipient only", async () => {
    const { envelope, parsed } = await written(batch, ada);
    expect(envelope).toEqual({ from: "bounce+16-0123456789abcdef0123@bounce.sender.test", to: ["ada@example.test"] });
    expect(parsed.headers.has("return-path")).toBe(false); // the final MTA writes it from MAIL FROM
  });

  it("writes the given text part when the template has one, and leaves Reply-To out when the sender has none", async () => {
    const b = { ...batch, sender: { ...batch.sender, reply_to: null }, template: { ...batch.template, text: "Plain {{ first_name }}: {{ unsubscribe_url }}" } };
    const { parsed } = await written(b, { ...ada, vars: {} });
    expect(parsed.text).toBe("Plain : https://mxray.example.test/u/16-0123456789abcdef0123");
    expect(parsed.subject).toBe("Hi there");
    expect(parsed.replyTo).toBeUndefined();
  });

  it("throws TemplateError for a template that does not parse", () => {
    expect(() => createComposer({ ...batch, template: { ...batch.template, html: "{% if %}" } })).toThrow(TemplateError);
  });
});
