// Short-lived tokens for a job's WebSocket: browsers cannot send an Authorization header on a
// WebSocket, so the API (or the app's session) mints one for a job of the caller's account.
import { readToken, signToken } from "../../core/signedtoken.ts";

export const LIVE_TOKEN_TTL_S = 300;
const PURPOSE = "live-token";

export async function mintLiveToken(secret: string, jobId: string, accountId: string, nowS = Math.floor(Date.now() / 1000)) {
  const expiresAt = nowS + LIVE_TOKEN_TTL_S;
  return { token: await signToken(secret, PURPOSE, { j: jobId, a: accountId, e: expiresAt }), expiresAt };
}

/** The account the token was minted for, if it is genuine, unexpired and for this job. */
export async function checkLiveToken(secret: string, token: string, jobId: string, nowS = Math.floor(Date.now() / 1000)): Promise<string | null> {
  const claims = await readToken<{ j: string; a: string; e: number }>(secret, PURPOSE, token);
  return claims && claims.j === jobId && claims.e > nowS ? claims.a : null;
}
