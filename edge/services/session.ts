// The local sign-in's session: a cookie holding the person, signed with HMAC-SHA-256 (keyed apart
// from probe signatures and live tokens), HttpOnly and SameSite=Lax so other sites can neither
// read it nor send it on a cross-site POST. The account being acted in is a separate, unsigned
// cookie: it is only a preference, checked against the person's memberships on every request.
import type { Person } from "./accounts.ts";

export const SESSION_COOKIE = "mxray_session";
export const ACCOUNT_COOKIE = "mxray_account";
export const SESSION_TTL_S = 7 * 24 * 3600;

const encoder = new TextEncoder();
const b64url = (s: string) => btoa(String.fromCharCode(...encoder.encode(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

async function mac(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(`session:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function readCookie(header: string | null, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

function cookie(name: string, value: string, maxAgeS: number, secure: boolean, httpOnly = true): string {
  return [`${name}=${encodeURIComponent(value)}`, "Path=/", `Max-Age=${maxAgeS}`, "SameSite=Lax", ...(httpOnly ? ["HttpOnly"] : []), ...(secure ? ["Secure"] : [])].join("; ");
}

export async function sessionCookie(secret: string, person: Person, secure: boolean, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  const payload = b64url(JSON.stringify({ u: person.id, m: person.email, e: nowS + SESSION_TTL_S }));
  return cookie(SESSION_COOKIE, `${payload}.${await mac(secret, payload)}`, SESSION_TTL_S, secure);
}

export const clearSessionCookie = (secure: boolean) => cookie(SESSION_COOKIE, "", 0, secure);
export const accountCookie = (accountId: string, secure: boolean) => cookie(ACCOUNT_COOKIE, accountId, SESSION_TTL_S, secure);

/** The signed-in person, if the cookie is genuine and unexpired. */
export async function readSession(secret: string, cookieHeader: string | null, nowS = Math.floor(Date.now() / 1000)): Promise<Person | null> {
  const value = readCookie(cookieHeader, SESSION_COOKIE);
  const [payload, sig] = (value ?? "").split(".");
  if (!payload || !sig || sig.length !== 64) return null;
  const expected = await mac(secret, payload);
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ sig.charCodeAt(i);
  if (diff !== 0) return null;
  try {
    const claims = JSON.parse(unb64url(payload)) as { u: string; m: string; e: number };
    return claims.e > nowS ? { id: claims.u, email: claims.m } : null;
  } catch {
    return null;
  }
}
