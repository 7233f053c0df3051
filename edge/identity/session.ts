// The local sign-in's session: a cookie signed with SESSION_SECRET (HMAC-SHA-256, keyed apart
// from live tokens) naming a row of `sessions`, HttpOnly and SameSite=Lax so other sites can
// neither read it nor send it on a cross-site POST. The row is read on every request, so signing
// out ends the session everywhere the cookie was copied. The account being acted in is a separate
// cookie: only a preference, checked against the person's memberships on every request, and
// signed for the person so a cookie planted by a sibling subdomain cannot switch it.
// Reading a cookie establishes who someone is, so those functions take `(services, cookieHeader)`;
// starting a session takes the person signing in.
import { and, eq, gt, isNull } from "drizzle-orm";
import { readToken, signToken } from "../../core/signedtoken.ts";
import { newId } from "../../core/ids.ts";
import { sessions } from "../../db/schema.ts";
import { sessionSecrets, type Config } from "../config.ts";
import type { Services, Who } from "../context.ts";
import type { Person } from "./accounts.ts";

export const SESSION_COOKIE = "mxray_session";
export const ACCOUNT_COOKIE = "mxray_account";
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** Expired rows the sweeper deletes per statement, so a purge never holds the write lock long. */
export const SESSION_PURGE_ROWS = 500;

const PURPOSE = "session";
const ACCOUNT_PURPOSE = "account";

interface SessionClaims {
  /** The sessions row. */
  s: string;
  u: string;
  m: string;
  /** Expiry, Unix ms. */
  e: number;
}

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

/** The claims of a cookie signed with the current or a previous secret for this purpose. */
async function signedCookie<T>(config: Config, purpose: string, cookieHeader: string | null, name: string): Promise<T | null> {
  const token = readCookie(cookieHeader, name);
  if (!token) return null;
  for (const secret of sessionSecrets(config)) {
    const claims = await readToken<T>(secret, purpose, token);
    if (claims) return claims;
  }
  return null;
}

async function genuineClaims(config: Config, cookieHeader: string | null, now: number): Promise<SessionClaims | null> {
  const claims = await signedCookie<SessionClaims>(config, PURPOSE, cookieHeader, SESSION_COOKIE);
  return claims && typeof claims.s === "string" && claims.e > now ? claims : null;
}

/** Starts a session for the person: its row, and the Set-Cookie that carries it. */
export async function startSession(s: Pick<Services, "db" | "config">, person: Person, { secure }: { secure: boolean }, now = Date.now()): Promise<string> {
  const id = newId("ses", 24);
  const expiresAt = now + SESSION_TTL_MS;
  await s.db.insert(sessions).values({ id, userId: person.id, createdAt: now, expiresAt });
  const token = await signToken(s.config.SESSION_SECRET, PURPOSE, { s: id, u: person.id, m: person.email, e: expiresAt } satisfies SessionClaims);
  return cookie(SESSION_COOKIE, token, SESSION_TTL_MS / 1000, secure);
}

/** The signed-in person and their session id, if the cookie is genuine and its row is live. */
export async function readSession(s: Pick<Services, "db" | "config">, cookieHeader: string | null, now = Date.now()): Promise<{ person: Person; sessionId: string } | null> {
  const claims = await genuineClaims(s.config, cookieHeader, now);
  if (!claims) return null;
  const [row] = await s.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, claims.s), eq(sessions.userId, claims.u), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  return row ? { person: { id: claims.u, email: claims.m }, sessionId: row.id } : null;
}

/** Revokes the cookie's session (a forged or stale cookie revokes nothing). */
export async function endSession(s: Pick<Services, "db" | "config">, cookieHeader: string | null, now = Date.now()): Promise<void> {
  const claims = await genuineClaims(s.config, cookieHeader, now);
  if (!claims) return;
  await s.db.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.id, claims.s), isNull(sessions.revokedAt)));
}

/** The sweeper's part: deletes expired sessions, a bounded step at a time. Returns how many. */
export async function purgeExpiredSessions(s: Pick<Services, "db">, now = Date.now(), maxSteps = 10): Promise<number> {
  let purged = 0;
  for (let step = 0; step < maxSteps; step++) {
    const done = await s.db.$client.execute({
      sql: "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?)",
      args: [now, SESSION_PURGE_ROWS],
    });
    purged += done.rowsAffected;
    if (done.rowsAffected < SESSION_PURGE_ROWS) break;
  }
  return purged;
}

export const clearSessionCookie = (secure: boolean) => cookie(SESSION_COOKIE, "", 0, secure);
/** `who` (a person) acts in `who.accountId` from now on (membership is still checked on every request). */
export async function accountCookie(s: Pick<Services, "config">, who: Who, { secure }: { secure: boolean }): Promise<string> {
  return cookie(ACCOUNT_COOKIE, await signToken(s.config.SESSION_SECRET, ACCOUNT_PURPOSE, { u: who.actor, a: who.accountId }), SESSION_TTL_MS / 1000, secure);
}

/** Back to the personal account. */
export const clearAccountCookie = (secure: boolean) => cookie(ACCOUNT_COOKIE, "", 0, secure);

/** The account the person chose to act in, if the cookie was signed for them. */
export async function preferredAccount(s: Pick<Services, "config">, userId: string, cookieHeader: string | null): Promise<string | null> {
  const claims = await signedCookie<{ u: string; a: string }>(s.config, ACCOUNT_PURPOSE, cookieHeader, ACCOUNT_COOKIE);
  return claims && claims.u === userId && typeof claims.a === "string" ? claims.a : null;
}
