// /senders/confirm/:token: the link in a sender's confirmation message. GET shows a page with a
// Confirm button and changes nothing, because mail scanners and link previews fetch every link in
// a message; only the button's POST confirms. The token is the authority (no sign-in: whoever reads
// the From mailbox may confirm), so the pages are neither cached nor sent on as a Referer.
import type { Context, Hono } from "hono";
import { confirmSender, readConfirmLink, type ConfirmLink } from "../senders/senders.ts";
import type { AppEnv } from "./app.ts";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A page of its own, outside the app (no sign-in); its empty icon spares the browser a /favicon.ico that is not there. */
function page(c: Context<AppEnv>, status: 200 | 400 | 404 | 410, title: string, body: string) {
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  c.header("x-robots-tag", "noindex");
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · mxray</title><link rel="icon" href="data:,">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#111}button{font:inherit;padding:.5rem 1.25rem;border-radius:.375rem;border:0;background:#1d4ed8;color:#fff;cursor:pointer}</style>
</head><body><h1>${esc(title)}</h1>${body}</body></html>`,
    status,
  );
}

/** The page for a link that names no sender to confirm. */
function refusal(c: Context<AppEnv>, reason: Extract<ConfirmLink, { ok: false }>["reason"]) {
  if (reason === "expired") return page(c, 410, "This link has expired", "<p>Confirmation links work for 7 days. Send a new one from the Senders page of your mxray account.</p>");
  if (reason === "gone") return page(c, 404, "This sender no longer exists", "<p>It was deleted from its mxray account; there is nothing to confirm.</p>");
  return page(c, 400, "This link is not valid", "<p>Check that the whole link from the message was opened, or send a new one from the Senders page of your mxray account.</p>");
}

const confirmedPage = (c: Context<AppEnv>, email: string) =>
  page(c, 200, "Sender confirmed", `<p><strong>${esc(email)}</strong> is confirmed: campaigns of its mxray account may now be sent from it.</p>`);

export function registerSenderConfirm(app: Hono<AppEnv>): void {
  app.get("/senders/confirm/:token", async (c) => {
    const link = await readConfirmLink(c.var.services, c.req.param("token"));
    if (!link.ok) return refusal(c, link.reason);
    if (link.confirmedAt !== null) return confirmedPage(c, link.sender.fromEmail);
    const who = `&quot;${esc(link.sender.fromName)}&quot; &lt;${esc(link.sender.fromEmail)}&gt;`;
    return page(
      c,
      200,
      "Confirm this sender",
      `<p>An mxray account asked to send campaigns as ${who}.</p><p>If that was you (or your team), confirm it. If not, close this page: nothing is sent from this address until it is confirmed.</p>
<form method="post"><button type="submit">Confirm</button></form>`,
    );
  });

  app.post("/senders/confirm/:token", async (c) => {
    const link = await confirmSender(c.var.services, c.req.param("token"));
    if (!link.ok) return refusal(c, link.reason);
    return confirmedPage(c, link.sender.fromEmail);
  });
}
