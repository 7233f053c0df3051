// A sender's confirmation (issue 23): a message to its From address, through its own relays, with
// a signed link; following the link (and pressing Confirm: mail scanners fetch links, they do not
// press buttons) proves that whoever reads that mailbox agreed to be sent from. The token names the
// sender and its account and expires; SESSION_SECRET signs it, which probes never hold.
import { readToken, signToken } from "../../core/signedtoken.ts";
import { sessionSecrets, type Config } from "../config.ts";

export const CONFIRM_TOKEN_PURPOSE = "sender-confirm";
/** How long a confirmation link works; a new one can be sent at any time. */
export const CONFIRM_TTL_MS = 7 * 24 * 60 * 60_000;

interface ConfirmClaims {
  sid: string;
  acc: string;
  /** Unix ms after which the link no longer works. */
  exp: number;
}

export const confirmPath = (token: string) => `/senders/confirm/${token}`;

export async function confirmToken(config: Pick<Config, "SESSION_SECRET">, sender: { id: string; accountId: string }, now: number): Promise<string> {
  const claims: ConfirmClaims = { sid: sender.id, acc: sender.accountId, exp: now + CONFIRM_TTL_MS };
  return signToken(config.SESSION_SECRET, CONFIRM_TOKEN_PURPOSE, claims);
}

export type ConfirmTokenCheck = { ok: true; senderId: string; accountId: string } | { ok: false; reason: "invalid" | "expired" };

/** The sender a token names, if one of our session secrets (current or previous) signed it and it has not expired. */
export async function readConfirmToken(config: Config, token: string, now: number): Promise<ConfirmTokenCheck> {
  for (const secret of sessionSecrets(config)) {
    const claims = await readToken<Partial<ConfirmClaims>>(secret, CONFIRM_TOKEN_PURPOSE, token);
    if (!claims) continue;
    if (typeof claims.sid !== "string" || typeof claims.acc !== "string" || typeof claims.exp !== "number") return { ok: false, reason: "invalid" };
    if (!(claims.exp > now)) return { ok: false, reason: "expired" };
    return { ok: true, senderId: claims.sid, accountId: claims.acc };
  }
  return { ok: false, reason: "invalid" };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The confirmation message, in text and HTML, holding the link. */
export function confirmationMessage(sender: { fromEmail: string; fromName: string }, link: string): { subject: string; text: string; html: string } {
  const subject = `Confirm ${sender.fromEmail} as a sender on mxray`;
  const text = [
    `Someone asked mxray to send campaigns as "${sender.fromName}" <${sender.fromEmail}>, through the relays of their account.`,
    "",
    "If that was you, open this link and press Confirm (it works for 7 days):",
    link,
    "",
    "If it was not, ignore this message: nothing is sent from this address until it is confirmed.",
    "",
  ].join("\n");
  const html = `<!doctype html><html><body>
<p>Someone asked mxray to send campaigns as &quot;${esc(sender.fromName)}&quot; &lt;${esc(sender.fromEmail)}&gt;, through the relays of their account.</p>
<p>If that was you, <a href="${esc(link)}">open this link and press Confirm</a> (it works for 7 days).</p>
<p>If it was not, ignore this message: nothing is sent from this address until it is confirmed.</p>
</body></html>`;
  return { subject, text, html };
}
