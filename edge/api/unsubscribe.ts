// /u/:token, the unsubscribe link of every campaign message (issue 23). No key, cookie, session or
// CSRF check: the token is the authority. RFC 8058 §3.1: a mail provider's one-click button POSTs
// `List-Unsubscribe=One-Click` (application/x-www-form-urlencoded, some multipart/form-data) with
// no cookies and follows no page, so the POST unsubscribes whatever its body says, and answers
// 200 again for a token already used. GET only shows a page with one button: link scanners and
// previews fetch URLs in mail, and a GET must not unsubscribe anyone (RFC 8058 §1).
import type { Context, Hono } from "hono";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { unsubscribe, unsubscribeTarget } from "../campaigns/unsubscribe.ts";
import { findServiceError } from "../errors.ts";
import type { AppEnv } from "./app.ts";

/** A one-click body is 26 bytes, a multipart one a few hundred: more is not a button press. */
export const MAX_UNSUBSCRIBE_BODY_BYTES = 1024;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The address as the page shows it: enough for its owner to know it, not all of it to whoever holds the link. */
export function maskAddress(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 0) return "***";
  const local = email.slice(0, at);
  return `${local.slice(0, 1)}***${local.length > 2 ? local.slice(-1) : ""}@${email.slice(at + 1)}`;
}

/** The pages run no script and load nothing; their form posts only back here. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-store",
  // The token is in the URL: no Referer carries it anywhere.
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex",
};

function page(c: Context<AppEnv>, status: 200 | 404 | 413, title: string, body: string) {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}h1{font-size:1.4rem}button{font:inherit;padding:.5rem 1.2rem;cursor:pointer}button:disabled{cursor:not-allowed}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return c.body(html, status, PAGE_HEADERS);
}

const notFound = (c: Context<AppEnv>) => page(c, 404, "Link not valid", "<p>This unsubscribe link is not valid.</p>");

/** One button, posting the one-click body back to this URL (a disabled one on the preview). */
const confirmPage = (c: Context<AppEnv>, email: string, disabled = false) =>
  page(
    c,
    200,
    "Unsubscribe",
    `<p>Stop campaign mail from this sender to <strong>${escapeHtml(maskAddress(email))}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit"${disabled ? " disabled" : ""}>Unsubscribe</button></form>`,
  );

const donePage = (c: Context<AppEnv>, email: string) =>
  page(c, 200, "You are unsubscribed", `<p><strong>${escapeHtml(maskAddress(email))}</strong> will get no more campaign mail from this sender.</p>`);

/** A token that does not check out is a 404 page; any other failure goes to the API's error handler. */
async function orNotFound(c: Context<AppEnv>, work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (err) {
    if (findServiceError(err)?.code === "not_found") return notFound(c);
    throw err;
  }
}

export function registerUnsubscribe(app: Hono<AppEnv>): void {
  // What template previews link to: the page as a recipient sees it, with nothing to press.
  app.get("/u/preview", (c) => confirmPage(c, "ada.lovelace@example.com", true));

  app.get("/u/:token", (c) =>
    orNotFound(c, async () => {
      const target = await unsubscribeTarget(c.var.services, c.req.param("token"));
      return target.unsubscribed ? donePage(c, target.email) : confirmPage(c, target.email);
    }),
  );

  app.post("/u/:token", async (c) => {
    // The body is only bounded, not read for meaning: an empty POST (a person's button without
    // the field) unsubscribes as surely as the providers' `List-Unsubscribe=One-Click`.
    const body = await readRequestLimited(c.req.raw, MAX_UNSUBSCRIBE_BODY_BYTES);
    if (!body.ok) return page(c, 413, "Request too large", "<p>Nothing was changed.</p>");
    return orNotFound(c, async () => donePage(c, (await unsubscribe(c.var.services, c.req.param("token"))).email));
  });
}
