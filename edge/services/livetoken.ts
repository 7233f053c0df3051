// Short-lived tokens for a job's WebSocket: browsers cannot send an Authorization header on a
// WebSocket, so the API (or the app's session) mints one for a job of the caller's account.
// Format: base64url(JSON { j, a, e }) "." hex HMAC-SHA256, keyed apart from probe signatures.
const encoder = new TextEncoder();
export const LIVE_TOKEN_TTL_S = 300;

async function mac(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(`live-token:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, "0")).join("");
}

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s: string) => atob(s.replace(/-/g, "+").replace(/_/g, "/"));

export async function mintLiveToken(secret: string, jobId: string, accountId: string, nowS = Math.floor(Date.now() / 1000)) {
  const expiresAt = nowS + LIVE_TOKEN_TTL_S;
  const payload = b64url(JSON.stringify({ j: jobId, a: accountId, e: expiresAt }));
  return { token: `${payload}.${await mac(secret, payload)}`, expiresAt };
}

/** The account the token was minted for, if it is genuine, unexpired and for this job. */
export async function checkLiveToken(secret: string, token: string, jobId: string, nowS = Math.floor(Date.now() / 1000)): Promise<string | null> {
  const [payload, sig] = token.split(".");
  if (!payload || !sig || sig.length !== 64) return null;
  const expected = await mac(secret, payload);
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ sig.charCodeAt(i);
  if (diff !== 0) return null;
  try {
    const claims = JSON.parse(unb64url(payload)) as { j: string; a: string; e: number };
    return claims.j === jobId && claims.e > nowS ? claims.a : null;
  } catch {
    return null;
  }
}
