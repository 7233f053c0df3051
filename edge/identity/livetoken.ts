// Short-lived tokens for a job's or a campaign's WebSocket: browsers cannot send an Authorization
// header on a WebSocket, so the API (or the app's session) mints one for a job or campaign of the
// caller's account. A token names its subject and what kind it is (a job's token never opens a
// campaign's socket, nor the other way round). It is bound to what minted it, and that is checked
// again when the socket connects: a revoked key, a signed-out session or a removed member gets no
// socket, even within the TTL. Minting acts for someone, `(services, who, input)`; checking a
// token establishes who holds it, `(services, token, subject)`.
import { and, eq, gt, isNull } from "drizzle-orm";
import { readToken, signToken } from "../../core/signedtoken.ts";
import { can } from "../../core/roles.ts";
import { apiKeys, members, sessions } from "../../db/schema.ts";
import { localMode, sessionSecrets } from "../config.ts";
import type { Services, Who } from "../context.ts";

export const LIVE_TOKEN_TTL_S = 300;
const PURPOSE = "live-token";

/**
 * What minted a token: an API key, the local dev key, a local session, or a person signed in
 * through Clerk (whose session cannot be checked without a network call; their membership is).
 */
export type LiveTokenHolder = { key: string } | { dev: true } | { session: string } | { user: string };

/** What a token lets its holder watch. */
export type LiveSubject = { jobId: string } | { campaignId: string };

interface LiveClaims {
  /** The subject's id. */
  j: string;
  /** "c": a campaign; absent: a job (tokens minted before campaigns had none). */
  k?: "c";
  a: string;
  e: number;
  /** The holder: "k:<key id>", "dev", "s:<session id>" or "u:<user id>". */
  h: string;
}

const holderClaim = (h: LiveTokenHolder) => ("key" in h ? `k:${h.key}` : "dev" in h ? "dev" : "session" in h ? `s:${h.session}` : `u:${h.user}`);

/** A token to watch a job or campaign of `who`'s account, bound to `holder`, what signed `who` in. */
export async function mintLiveToken(s: Pick<Services, "config">, who: Who, input: LiveSubject & { holder: LiveTokenHolder }, nowS = Math.floor(Date.now() / 1000)) {
  const expiresAt = nowS + LIVE_TOKEN_TTL_S;
  const subject = "jobId" in input ? { j: input.jobId } : { j: input.campaignId, k: "c" as const };
  const claims: LiveClaims = { ...subject, a: who.accountId, e: expiresAt, h: holderClaim(input.holder) };
  return { token: await signToken(s.config.SESSION_SECRET, PURPOSE, claims), expiresAt };
}

/**
 * The account the token was minted for, if it is genuine, unexpired, for this job (a job's id, or
 * a campaign as `{ campaignId }`), and what minted it still has access to that account now; null
 * otherwise.
 */
export async function checkLiveToken(s: Pick<Services, "db" | "config">, token: string, subject: string | { campaignId: string }, nowS = Math.floor(Date.now() / 1000)): Promise<string | null> {
  let claims: LiveClaims | null = null;
  for (const secret of sessionSecrets(s.config)) {
    claims = await readToken<LiveClaims>(secret, PURPOSE, token);
    if (claims) break;
  }
  if (!claims || !(claims.e > nowS) || typeof claims.h !== "string") return null;
  const matches = typeof subject === "string" ? claims.k === undefined && claims.j === subject : claims.k === "c" && claims.j === subject.campaignId;
  if (!matches) return null;
  return (await holderHasAccess(s, claims.h, claims.a, nowS * 1000)) ? claims.a : null;
}

async function holderHasAccess({ db, config }: Pick<Services, "db" | "config">, holder: string, accountId: string, nowMs: number): Promise<boolean> {
  if (holder === "dev") return localMode(config) && Boolean(config.MXRAY_DEV_API_KEY);
  const id = holder.slice(2);
  if (holder.startsWith("k:")) {
    // As the API's key check: unrevoked, and its maker (if recorded) still a member who may make keys.
    const [key] = await db
      .select({ createdBy: apiKeys.createdBy, makerRole: members.role })
      .from(apiKeys)
      .leftJoin(members, and(eq(members.accountId, apiKeys.accountId), eq(members.userId, apiKeys.createdBy)))
      .where(and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)));
    return Boolean(key) && (key!.createdBy === null || (key!.makerRole !== null && can(key!.makerRole, "keys:manage")));
  }
  if (holder.startsWith("s:")) {
    const [live] = await db
      .select({ id: sessions.id })
      .from(sessions)
      .innerJoin(members, and(eq(members.userId, sessions.userId), eq(members.accountId, accountId)))
      .where(and(eq(sessions.id, id), isNull(sessions.revokedAt), gt(sessions.expiresAt, nowMs)));
    return Boolean(live);
  }
  if (holder.startsWith("u:")) {
    const [member] = await db.select({ userId: members.userId }).from(members).where(and(eq(members.userId, id), eq(members.accountId, accountId)));
    return Boolean(member);
  }
  return false;
}
