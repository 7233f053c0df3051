// The local sign-in's session: a cookie holding the person, signed with HMAC-SHA-256 (keyed apart
// from probe signatures and live tokens), HttpOnly and SameSite=Lax so other sites can neither
// read it nor send it on a cross-site POST. The account being acted in is a separate, unsigned
// cookie: it is only a preference, checked against the person's memberships on every request.
import { readToken, signToken } from "../../core/signedtoken.ts";
import type { Person } from "./accounts.ts";

export const SESSION_COOKIE = "mxray_session";
export const ACCOUNT_COOKIE = "mxray_account";
export const SESSION_TTL_S = 7 * 24 * 3600;

const PURPOSE = "session";

export function readCookie(header: string | null, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null; // a malformed cookie is no cookie
      }
    }
  }
  return null;
}

function cookie(name: string, value: string, maxAgeS: number, secure: boolean, httpOnly = true): string {
  return [`${name}=${encodeURIComponent(value)}`, "Path=/", `Max-Age=${maxAgeS}`, "SameSite=Lax", ...(httpOnly ? ["HttpOnly"] : []), ...(secure ? ["Secure"] : [])].join("; ");
}

export async function sessionCookie(secret: string, person: Person, secure: boolean, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  const token = await signToken(secret, PURPOSE, { u: person.id, m: person.email, e: nowS + SESSION_TTL_S });
  return cookie(SESSION_COOKIE, token, SESSION_TTL_S, secure);
}

export const clearSessionCookie = (secure: boolean) => cookie(SESSION_COOKIE, "", 0, secure);
export const accountCookie = (accountId: string, secure: boolean) => cookie(ACCOUNT_COOKIE, accountId, SESSION_TTL_S, secure);

/** The signed-in person, if the cookie is genuine and unexpired. */
export async function readSession(secret: string, cookieHeader: string | null, nowS = Math.floor(Date.now() / 1000)): Promise<Person | null> {
  const claims = await readToken<{ u: string; m: string; e: number }>(secret, PURPOSE, readCookie(cookieHeader, SESSION_COOKIE) ?? "");
  return claims && claims.e > nowS ? { id: claims.u, email: claims.m } : null;
}
