// A recipient's token (issue 23): the last part of its one-click unsubscribe URL (/u/{token}) and
// the VERP tag of its Return-Path (bounce+{token}@bounce domain). It names the recipient row, and
// its MAC binds that row to its account and campaign, so a token cannot be moved to another. Short
// and lower-case: a VERP local part has at most 64 octets (RFC 5321 §4.5.3.1.1) and some MTAs
// fold case. Minted by the edge only (SESSION_SECRET, which probes never hold).
import { purposeMac } from "./signedtoken.ts";

const PURPOSE = "mxray-recipient-token";
/** 80 bits of HMAC-SHA-256: a forger's guesses are online, one request each. */
const MAC_HEX = 20;
const TOKEN = /^([0-9a-z]{1,12})-([0-9a-f]{20})$/;

export interface RecipientRef {
  accountId: string;
  campaignId: string;
  recipientId: number;
}

async function mac(secret: string, ref: RecipientRef): Promise<string> {
  return (await purposeMac(secret, PURPOSE, `${ref.accountId}\n${ref.campaignId}\n${ref.recipientId}`)).slice(0, MAC_HEX);
}

export async function recipientToken(secret: string, ref: RecipientRef): Promise<string> {
  return `${ref.recipientId.toString(36)}-${await mac(secret, ref)}`;
}

/** The recipient id a token names, before its MAC is checked against the row (checkRecipientToken). */
export function tokenRecipientId(token: string): number | null {
  const m = TOKEN.exec(token.toLowerCase());
  if (!m) return null;
  const id = parseInt(m[1]!, 36);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** Whether the token was minted for this row with one of these secrets (the first signs; the rest are older). */
export async function checkRecipientToken(secrets: readonly string[], token: string, ref: RecipientRef): Promise<boolean> {
  const m = TOKEN.exec(token.toLowerCase());
  if (!m || parseInt(m[1]!, 36) !== ref.recipientId) return false;
  for (const secret of secrets) {
    const expected = await mac(secret, ref);
    let diff = 0;
    for (let i = 0; i < MAC_HEX; i++) diff |= expected.charCodeAt(i) ^ m[2]!.charCodeAt(i);
    if (diff === 0) return true;
  }
  return false;
}

/** The VERP Return-Path of a recipient's message. */
export const verpAddress = (token: string, bounceDomain: string) => `bounce+${token}@${bounceDomain}`;

/** The token a VERP address carries, or null (the bounce issue reads it back). */
export function tokenFromVerp(address: string): string | null {
  const m = /^bounce\+([0-9a-z]{1,12}-[0-9a-f]{20})@/i.exec(address.trim());
  return m ? m[1]!.toLowerCase() : null;
}
